"""Users' files as the readers of training and of TensorFlow-free inference take them:
`read_utf8` (line ends as `newlines` makes them), and `DataError`, whose message names the
flag, the file and the fix."""

import contextlib
import pathlib


class DataError(ValueError):
    """The data cannot be used as given; the message says how to fix it."""


def read_utf8(path, flag, what, encoding="utf-8-sig"):
    """The file at `path` decoded; `DataError` naming `flag`, and the line of a bad byte."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise DataError(f"{flag} {path}: a folder, not a file. Pass the path of {what}.")
    if not path.is_file():
        raise DataError(f"{flag} {path}: no such file. Pass the path of {what}.")
    raw = path.read_bytes()
    try:
        return newlines(raw.decode(encoding))
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{flag} {path}, line {line}: not UTF-8 ({err.reason}). Convert it, "
            "e.g. `iconv -t UTF-8`."
        ) from err


def newlines(text):
    """Line ends as Python's text mode reads them: Windows' CRLF and a lone CR become LF, so
    a file saved on Windows gives the same characters (an LM's vocabulary, its validation
    text, a hash) as the same file saved elsewhere."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def flag_named(flag):
    """The readers' errors name `--data`, the flag they usually read; inside this block
    they name `flag` (`--val-data`, `--evaluate`) instead."""
    try:
        yield
    except DataError as err:
        raise DataError(str(err).replace("--data ", f"{flag} ", 1)) from None
