"""`tag`: per-step labels from a (deep bidirectional) RNN.

Default: word segmentation; a line without its spaces, each character tagged 1
if a word ends there. `--data FILE`: the user's CoNLL file (one token and its
tag per line, e.g. part of speech or named entities), read token by token with
a token vocabulary (`--min-count`; rarer and unseen tokens share `<unk>`).
"""

import collections

import numpy as np

from rnn_keras import data
from rnn_keras.data import DataError
from rnn_keras.tasks.base import (
    ShuffledBatches,
    encoder_args,
    in_batches,
    token_model,
    vocabulary_line,
    word_vocabulary,
)
from rnn_keras_common import labelled
from rnn_keras_common.scores import class_scores
from rnn_keras_common.segmentation import tagging_data  # noqa: F401 (re-exported)
from rnn_keras_common.vocab import Vocab


def tagger(vocab_size, num_tags=2, **encoder):
    """Tags per character: `tokens` `(batch, time)` to `(batch, time, tags)`; `encoder` as above."""
    return token_model(vocab_size, num_tags, True, "tagger", **encoder)


class Task:
    """Word segmentation of `text` (the default), or the user's CoNLL tagging (`--data`)."""

    name, stateful = "tag", False

    def __init__(self, cfg, text=None):
        self.cfg = cfg
        if cfg.data:
            self._conll(cfg)
        else:
            self._segmentation(cfg, text)
        self.train = ShuffledBatches(self._train, cfg.batch_size, cfg.seed, tag_targets=True)

    def _segmentation(self, cfg, text):
        self.labels, self.source = ["inside", "word_end"], text  # source: hashed into the run
        lines, tags = tagging_data(text, max_len=cfg.seq_len)
        where = cfg.text or "the text"
        if len(lines) < 2:
            raise DataError(
                f"{where}: {len(lines)} line(s) of two or more words; the tagger learns where "
                "a line's spaces fall, so it needs lines of words separated by spaces (prose, "
                "verse). Pass such a --text, or --data FILE in CoNLL for your own tags."
            )
        val_lines, val_tags = self._held_out(cfg) if cfg.val_data else ([], [])
        self.vocab = Vocab.from_text("".join(lines + val_lines))
        examples = [(self.vocab.encode(ln), t) for ln, t in zip(lines + val_lines, tags + val_tags)]
        if cfg.val_data:  # your own held-out text: all of --text trains
            self._train, self.val = examples[: len(lines)], examples[len(lines) :]
            return
        self._train, self.val = data.split(examples, cfg.val_fraction)
        if not self._train or not self.val:
            raise DataError(
                f"{where}: {len(examples)} lines of words give {len(self._train)} training and "
                f"{len(self.val)} validation lines with --val-fraction {cfg.val_fraction}; add "
                "lines or change --val-fraction."
            )

    def _held_out(self, cfg):
        """`--val-data`'s lines and word ends, read as `--text`'s are."""
        self.val_source = data.read_utf8(cfg.val_data, "--val-data", "a UTF-8 text file")
        lines, tags = tagging_data(self.val_source, max_len=cfg.seq_len)
        if not lines:
            raise DataError(
                f"--val-data {cfg.val_data}: no line of two or more words to validate on."
            )
        return lines, tags

    def _conll(self, cfg):
        self.source = labelled.read_utf8(cfg.data)  # hashed and sampled into the run
        sentences = labelled.read_conll(cfg.data, self.source)
        if cfg.val_data:  # the user's own validation file (e.g. UD's -dev.conllu)
            self.val_source, val = labelled.read_validation(cfg.val_data, labelled.read_conll)
            train = sentences
        else:
            train, val = conll_split(cfg, sentences)
        self.labels = sorted({t for _, tags in train + val for t in tags})
        counts = collections.Counter(tok for tokens, _ in train for tok in tokens)
        self.vocab = word_vocabulary(counts, cfg.min_count, None, "token")
        ids = {t: i for i, t in enumerate(self.labels)}

        def example(tokens, tags):
            return self.vocab.encode(tokens), np.array([ids[t] for t in tags], np.int32)

        self._train = [example(*s) for s in train]
        self.val = [example(*s) for s in val]
        self.summary = (
            f"{len(train)} training / {len(val)} validation sentences; tags: "
            + ", ".join(self.labels)
            + "\n"
            + vocabulary_line(self.vocab, counts, [t for tokens, _ in val for t in tokens])
        )

    def model(self):
        return tagger(len(self.vocab), len(self.labels), **encoder_args(self.cfg))

    def val_batches(self):
        return in_batches(self.val, self.cfg.batch_size, True, self.cfg.eval_batches)

    def metrics(self, t):
        scores = class_scores(t["confusion"])
        out = {"val_loss": float(t["loss"] / t["count"]), "val_accuracy": scores["accuracy"]}
        if self.cfg.data:
            return {**out, "val_macro_f1": scores["macro_f1"]}
        _, _, word_end_f1, _ = scores["per_class"][1]  # segmentation: F1 of the word ends
        return {**out, "val_f1": float(word_end_f1)}


def conll_split(cfg, sentences):
    """A seeded random split of the sentences (they are not ordered by anything we know)."""
    from sklearn.model_selection import train_test_split

    if len(sentences) < 2:
        raise DataError(f"--data {cfg.data}: {len(sentences)} sentence; give at least two.")
    train, val = train_test_split(
        sentences, test_size=max(cfg.val_fraction, 1 / len(sentences)), random_state=cfg.seed
    )
    return train, val
