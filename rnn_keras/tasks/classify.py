"""`classify`: the play category of a passage of a few lines, split by play."""

import numpy as np

from rnn_keras.data import plays
from rnn_keras.tasks.base import ShuffledBatches, encoder_args, in_batches, token_model
from rnn_keras_common.vocab import Vocab


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
    for category, _, text in plays.load_plays():
        label = plays.CATEGORIES.index(category)
        k = seen[category] = seen.get(category, -1) + 1
        target = val if k % val_every == val_every // 2 else train
        target.extend((p, label) for p in passages(text, lines_per_passage))
    return train, val, list(plays.CATEGORIES)


def classifier(vocab_size, num_classes, **encoder):
    """One label per sequence from the mean state over real steps: `(batch, classes)` logits."""
    return token_model(vocab_size, num_classes, False, "classifier", **encoder)


MAX_PASSAGE = 384  # characters of a passage the classifier reads (about 8 lines of verse)


class Task:
    name, stateful = "classify", False

    def __init__(self, cfg, text=None):
        self.cfg = cfg
        train, val, self.labels = classification_data(lines_per_passage=cfg.seq_len)
        self.source = "\n\n".join(p for p, _ in train + val)  # hashed and sampled into the run
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
        return classifier(len(self.vocab), len(self.labels), **encoder_args(self.cfg))

    def val_batches(self):
        return in_batches(self.val, self.cfg.batch_size, False, self.cfg.eval_batches)

    def metrics(self, t):
        return {
            "val_loss": t["loss"] / t["count"],
            "val_accuracy": t["correct"] / t["count"],
            "majority_baseline": self.majority_baseline,
        }
