"""Data for the three tasks, all cut from real text (NumPy only).

- `lm`: truncated-BPTT streams for next-character prediction (`LMStreams`).
- `tag`: word segmentation; a line without its spaces, each character tagged
  1 if a word ends there (`tagging_data`).
- `classify`: the play category of a passage of a few lines, split by play
  (`classification_data`).
"""

import pathlib

import numpy as np

from rnn_keras.data import plays as corpus
from rnn_keras_common.vocab import PAD


class DataError(ValueError):
    """The data cannot be used as given; the message says how to fix it."""


def read_text(path=None):
    """The UTF-8 text at `path`, or the bundled plays when `path` is None."""
    if path is None:
        return corpus.default_text()
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"--text {path}: no such file. Pass the path of a UTF-8 text file.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"--text {path}: not UTF-8 ({err.reason} at byte {err.start}). "
            "Convert it, e.g. `iconv -t UTF-8`."
        ) from err
    if not text.strip():
        raise DataError(f"--text {path}: the file is empty. Pass a file with some text.")
    return text


def split(sequence, val_fraction):
    """Held-out tail: `(train, validation)`."""
    cut = int(len(sequence) * (1.0 - val_fraction))
    return sequence[:cut], sequence[cut:]


class LMStreams:
    """The text cut into `batch_size` parallel streams, read `seq_len` characters at a time.

    Batch k is characters `[k T, (k+1) T)` of every stream (inputs) and the
    same shifted by one (targets), so the final state of batch k is the right
    initial state of batch k+1 (char-rnn's truncated BPTT). `position` is the
    only state; it goes into checkpoints.
    """

    def __init__(self, ids, batch_size, seq_len):
        ids = np.asarray(ids, np.int32)
        per_stream = (len(ids) - 1) // batch_size
        if per_stream < seq_len or seq_len < 1:
            raise DataError(
                f"The text ({len(ids)} characters) is too short for one batch of "
                f"{batch_size} streams x {seq_len} characters. Use a longer text or a "
                "smaller --batch-size / --seq-len."
            )
        self.batch_size, self.seq_len = batch_size, seq_len
        self.inputs = ids[: per_stream * batch_size].reshape(batch_size, per_stream)
        self.targets = ids[1 : per_stream * batch_size + 1].reshape(batch_size, per_stream)
        self.batches_per_pass = per_stream // seq_len
        self.position = 0

    def next_batch(self):
        """`(inputs, targets, weights, starts_pass)`; `starts_pass`: reset the carried state."""
        k = self.position % self.batches_per_pass
        cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
        self.position += 1
        x = self.inputs[:, cols]
        return x, self.targets[:, cols], np.ones(x.shape, np.float32), k == 0

    def all_batches(self):
        """Every batch once, in order (for evaluation)."""
        for k in range(self.batches_per_pass):
            cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
            yield self.inputs[:, cols], self.targets[:, cols]



def tagging_data(text, max_len=64, min_words=2):
    """Lines without spaces and their word-end tags: `(lines_without_spaces, tags)`."""
    lines, tags = [], []
    for line in text.splitlines():
        words = line.split()
        if len(words) < min_words or line.endswith(":"):
            continue  # speaker names and one-word lines teach nothing
        chars = "".join(words)[:max_len]
        ends = np.zeros(len(chars), np.int32)
        pos = np.cumsum([len(w) for w in words]) - 1
        ends[pos[pos < len(chars)]] = 1
        lines.append(chars)
        tags.append(ends)
    return lines, tags


def passages(text, lines_per_passage):
    """Consecutive lines of verse or prose of `text`, `lines_per_passage` at a time.

    Speaker lines (`NAME:`) are left out: a name identifies its play, so a
    classifier would learn names instead of style and fail on unseen plays.
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.endswith(":")]
    return [
        "\n".join(lines[i : i + lines_per_passage])
        for i in range(0, len(lines) - lines_per_passage + 1, lines_per_passage)
    ]


def classification_data(lines_per_passage=4, val_every=5):
    """`(train, val, labels)`; train/val are `[(passage, label_id)]`, split by play.

    Every `val_every`-th play of each category (in a fixed order) is held out,
    so no play is in both sets.
    """
    train, val = [], []
    seen = {}
    for category, _, text in corpus.load_plays():
        label = corpus.CATEGORIES.index(category)
        k = seen[category] = seen.get(category, -1) + 1
        target = val if k % val_every == val_every // 2 else train
        target.extend((p, label) for p in passages(text, lines_per_passage))
    return train, val, list(corpus.CATEGORIES)
