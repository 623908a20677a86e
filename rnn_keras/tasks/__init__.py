"""The three tasks: their data, model and validation metrics, behind one interface.

A task gives the training loop `model()`, `train` (a batch source whose
`position` is its whole state, for checkpoints), `val_batches()` and
`metrics(totals)`. Batches are `(tokens, targets, weights)`; `weights` is 0 at
padding so the loss counts real steps only.
"""

import math

import numpy as np

from rnn_keras import data
from rnn_keras.tasks import models
from rnn_keras_common.config import ConfigError
from rnn_keras_common.vocab import PAD, Vocab, pad


class ShuffledBatches:
    """Padded batches of `(ids, targets)` pairs in a per-epoch shuffled order."""

    def __init__(self, examples, batch_size, seed, tag_targets):
        if len(examples) < batch_size:
            raise data.DataError(
                f"Only {len(examples)} training examples for a batch of {batch_size}; "
                "use a longer text or a smaller --batch-size."
            )
        self.examples, self.batch_size, self.seed = examples, batch_size, seed
        self.tag_targets = tag_targets
        self.per_epoch = len(examples) // batch_size
        self.position = 0

    def next_batch(self):
        epoch, k = divmod(self.position, self.per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.examples))
        self.position += 1
        chosen = [self.examples[i] for i in order[k * self.batch_size : (k + 1) * self.batch_size]]
        return (*batch_arrays(chosen, self.tag_targets), False)


BUCKET = 32  # pad time to a multiple of this: few distinct shapes, so XLA compiles few times


def batch_arrays(examples, tag_targets):
    longest = max(len(ids) for ids, _ in examples)
    tokens = pad([ids for ids, _ in examples], -(-longest // BUCKET) * BUCKET)
    if tag_targets:
        targets = pad([t for _, t in examples], tokens.shape[1])
        return tokens, targets, (tokens != PAD).astype(np.float32)
    return tokens, np.array([y for _, y in examples], np.int32), np.ones(len(examples), np.float32)


def in_batches(examples, batch_size, tag_targets, limit=0):
    count = 0
    for i in range(0, len(examples), batch_size):
        if limit and count >= limit:
            return
        count += 1
        yield batch_arrays(examples[i : i + batch_size], tag_targets)


def encoder_args(cfg):
    """The config's encoder settings as `models.tagger` / `models.classifier` take them."""
    return dict(
        units=cfg.units,
        num_layers=cfg.layers,
        bidirectional=cfg.bidirectional,
        activation=cfg.activation,
        dropout=cfg.dropout,
    )


class LanguageModelTask:
    name, stateful = "lm", True

    def __init__(self, cfg, text):
        self.cfg, self.vocab, self.labels = cfg, Vocab.from_text(text), None
        train, val = data.split(np.array(self.vocab.encode(text), np.int32), cfg.val_fraction)
        self.train = data.LMStreams(train, cfg.batch_size, cfg.seq_len)
        self.val = data.LMStreams(
            val, cfg.batch_size, min(cfg.seq_len, (len(val) - 1) // cfg.batch_size)
        )

    def model(self):
        return models.char_lm(len(self.vocab), self.cfg.units, self.cfg.layers, self.cfg.activation)

    def val_batches(self):
        for i, (x, y) in enumerate(self.val.all_batches()):
            if self.cfg.eval_batches and i >= self.cfg.eval_batches:
                return
            yield x, y, np.ones(x.shape, np.float32)

    def metrics(self, t):
        loss = t["loss"] / t["count"]
        return {"val_loss": loss, "val_bpc": loss / math.log(2)}


class TaggingTask:
    name, stateful = "tag", False

    def __init__(self, cfg, text):
        self.cfg, self.labels = cfg, ["inside", "word_end"]
        lines, tags = data.tagging_data(text, max_len=cfg.seq_len)
        self.vocab = Vocab.from_text("".join(lines))
        examples = [(self.vocab.encode(ln), t) for ln, t in zip(lines, tags)]
        train, self.val = data.split(examples, cfg.val_fraction)
        self.train = ShuffledBatches(train, cfg.batch_size, cfg.seed, tag_targets=True)

    def model(self):
        return models.tagger(len(self.vocab), 2, **encoder_args(self.cfg))

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


MAX_PASSAGE = 384  # characters of a passage the classifier reads (about 8 lines of verse)


class ClassificationTask:
    name, stateful = "classify", False

    def __init__(self, cfg, text=None):
        if cfg.text is not None:
            raise ConfigError(
                "--task classify uses the bundled plays and their categories; drop --text."
            )
        self.cfg = cfg
        train, val, self.labels = data.classification_data(lines_per_passage=cfg.seq_len)
        self.vocab = Vocab.from_text("".join(p for p, _ in train + val))
        encode = self.vocab.encode
        self.val = [(encode(p)[:MAX_PASSAGE], y) for p, y in val]
        self.train = ShuffledBatches(
            [(encode(p)[:MAX_PASSAGE], y) for p, y in train],
            cfg.batch_size,
            cfg.seed,
            tag_targets=False,
        )
        counts = np.bincount([y for _, y in self.val], minlength=len(self.labels))
        self.majority_baseline = float(counts.max() / counts.sum())

    def model(self):
        return models.classifier(len(self.vocab), len(self.labels), **encoder_args(self.cfg))

    def val_batches(self):
        return in_batches(self.val, self.cfg.batch_size, False, self.cfg.eval_batches)

    def metrics(self, t):
        return {
            "val_loss": t["loss"] / t["count"],
            "val_accuracy": t["correct"] / t["count"],
            "majority_baseline": self.majority_baseline,
        }


def make_task(cfg, text=None):
    """The task named by `cfg.task`, its data read from `cfg.text` (or the bundled plays)."""
    if cfg.task == "classify":
        return ClassificationTask(cfg)
    text = data.read_text(cfg.text) if text is None else text
    return (LanguageModelTask if cfg.task == "lm" else TaggingTask)(cfg, text)
