"""`tag`: word segmentation; a line without its spaces, each character tagged 1 if a
word ends there."""

import numpy as np

from rnn_keras import data
from rnn_keras.tasks.base import ShuffledBatches, encoder_args, in_batches, token_model
from rnn_keras_common.vocab import Vocab


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


def tagger(vocab_size, num_tags=2, **encoder):
    """Tags per character: `tokens` `(batch, time)` to `(batch, time, tags)`; `encoder` as above."""
    return token_model(vocab_size, num_tags, True, "tagger", **encoder)


class Task:
    name, stateful = "tag", False

    def __init__(self, cfg, text):
        self.cfg, self.labels = cfg, ["inside", "word_end"]
        self.source = text  # what the run learned from: hashed and sampled into the run
        lines, tags = tagging_data(text, max_len=cfg.seq_len)
        self.vocab = Vocab.from_text("".join(lines))
        examples = [(self.vocab.encode(ln), t) for ln, t in zip(lines, tags)]
        train, self.val = data.split(examples, cfg.val_fraction)
        self.train = ShuffledBatches(train, cfg.batch_size, cfg.seed, tag_targets=True)

    def model(self):
        return tagger(len(self.vocab), 2, **encoder_args(self.cfg))

    def val_batches(self):
        return in_batches(self.val, self.cfg.batch_size, True, self.cfg.eval_batches)

    def metrics(self, t):
        precision = t["tp"] / max(t["tp"] + t["fp"], 1)
        recall = t["tp"] / max(t["tp"] + t["fn"], 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {
            "val_loss": t["loss"] / t["count"],
            "val_accuracy": t["correct"] / t["count"],
            "val_f1": f1,
        }
