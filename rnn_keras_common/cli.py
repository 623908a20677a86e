"""How every command line ends on a user's mistake: one `error:` line, exit 2, no traceback.

Shared by `train.py`, `python -m export` and `python -m export.infer`. Each passes the
exception types whose messages are written for users; they are looked up only once an
exception arrives, so a CLI answers `--help` and argument errors before heavy imports.
"""

import argparse
import errno
import sys

from rnn_keras_common._quiet import BackendError, use_tensorflow_backend
from rnn_keras_common.config import RANGES, ConfigError
from rnn_keras_common.files import newlines
from rnn_keras_common.vocab import VocabularyError

DISK_ERRORS = (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EPERM)


def run_cli(main, user_errors, interrupted="the last good checkpoint is intact"):
    """Run `main()`; `user_errors()` returns the types printed as `error: ...` (exit 2).

    `interrupted`: what a stop leaves intact, or a function that says it when asked.
    """
    use_tensorflow_backend()
    try:
        return _unmasked(main)
    except SystemExit:  # argparse's --help and usage errors: before the lookup below
        raise
    except (ConfigError, VocabularyError, BackendError) as err:  # no TensorFlow needed
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nerror: interrupted; {_said(interrupted)}.", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            "error: out of memory: the model or batch is too large for this machine; "
            "use smaller --units, --layers, --batch-size or --seq-len.",
            file=sys.stderr,
        )
        return 2
    except OSError as err:
        if err.errno not in DISK_ERRORS:
            if isinstance(err, user_errors()):  # e.g. export's FileNotFoundError
                print(f"error: {err}", file=sys.stderr)
                return 2
            raise
        print(
            f"error: cannot write {err.filename or ''}: {err.strerror}. Free space or "
            f"choose a writable folder; {_said(interrupted)}.",
            file=sys.stderr,
        )
        return 2
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _unmasked(main):
    """`main()`, an error raised while a stop unwound (a library's cleanup failing over a
    Ctrl-C that broke into it) turned back into the stop it hides."""
    try:
        return main()
    except Exception as err:
        context = err.__context__
        while context is not None and not isinstance(context, KeyboardInterrupt):
            context = context.__context__
        if context is None:
            raise
        raise KeyboardInterrupt from err


def _said(interrupted):
    return interrupted() if callable(interrupted) else interrupted


def parser(prog, doc):
    """Every CLI's parser: its module docstring as the help, kept as written."""
    return argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def positive_int(value):
    """An argparse `type`: an integer of at least 1 (a count of steps, repeats, words...)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def seed_type(value):
    """An argparse `type`: a seed in the range train.py's `--seed` takes (`config.RANGES`)."""
    number, (low, high) = int(value), RANGES["seed"][:2]
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {number}")
    return number


def unread_flags(args, names, read):
    """Of the flags `names` (argparse dests left None when not given), those given that
    the run does not `read`: a command refuses them rather than ignore them."""
    return [k for k in names if getattr(args, k) is not None and k not in read]


def fill_defaults(args, defaults):
    """The value of each flag left out (None), once `unread_flags` has been asked."""
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def check_out_folder(out, flag="--out", keep=False):
    """`out` (the value of `flag`) as a Path, once a folder can be made there: a place where
    none can be (under a file, read-only) is one `ConfigError` line before any slow work.
    Folders made to find out are removed again (unless `keep`): a run that stops later
    leaves nothing."""
    import pathlib

    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{flag} {out} is a file; pass a folder.")
    missing = [p for p in [out, *out.parents] if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"{flag} {out}: cannot make the folder ({err.strerror}); choose a writable place."
        ) from err
    for folder in [] if keep else missing:  # deepest first
        folder.rmdir()
    return out


def text_or_file(value):
    """A `--text` value: the contents of the UTF-8 file it names (`-`: standard input, so
    `... | python -m export.infer RUN --text -`), or the text itself (the one rule of every
    command's `--text`; TensorFlow-free, for `export.infer`). A value that reads as a path,
    one word with a `/` or a file ending, but names no file is refused: a mistyped file name
    would otherwise be tagged, classified or translated as if it were the text."""
    import pathlib

    if value == "-":
        return _utf8(sys.stdin.buffer.read(), "-")
    path = pathlib.Path(value)
    try:
        readable = len(value) < 4096 and path.exists() and not path.is_dir()
    except OSError:  # e.g. a sentence longer than a file name may be
        readable = False
    if readable:  # a file, or /dev/stdin, a pipe, <(command)
        return _utf8(path.read_bytes(), value)
    if _reads_as_path(value):
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise ConfigError(
            f"--text {value}: {what}. Pass a UTF-8 file, - to read standard input, or the "
            "text itself."
        )
    return value


DATA_ENDINGS = ("txt", "text", "tsv", "csv", "md", "json", "jsonl", "conll", "conllu", "html")


def _reads_as_path(value):
    """One word ending like a data file, or a name inside a folder that exists: "and/or" or
    "U.S.A." stay text, "reveiws.txt" and "runs/lm-1/typo" read as paths."""
    import pathlib

    if not value.strip() or any(c.isspace() for c in value):
        return False
    if "." in value and value.rsplit(".", 1)[1].lower() in DATA_ENDINGS:
        return True
    return "/" in value and pathlib.Path(value).parent.is_dir()


def _utf8(raw, name):
    try:  # -sig: a byte-order mark (Notepad's UTF-8) is dropped, not read as a character
        return newlines(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        message = f"--text {name}, line {line}: not UTF-8 ({err.reason}); save it as UTF-8."
        raise ConfigError(message) from err
