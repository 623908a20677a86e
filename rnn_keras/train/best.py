"""Which evaluation `best.keras` keeps.

The lowest validation loss, except for classifiers and taggers: their validation loss
turns up once the model grows over-confident on what it gets wrong, while the share it
gets right still climbs (the plays classifier: loss lowest at step 1,000, accuracy 0.429;
at step 2,000 the loss is 0.2 higher and the accuracy 0.452). There, as Keras'
`ModelCheckpoint(monitor="val_accuracy", mode="max")` would, the highest accuracy.
"""

LOSS = "val_loss"


def criterion(task):
    """The metric a new run of `task` selects by."""
    return "val_accuracy" if task.name in ("classify", "tag") else LOSS


def _is_loss(metric):
    return metric.endswith("loss")


def score(row, metric):
    """Lower is better: the loss itself, or an accuracy negated."""
    return row[metric] if _is_loss(metric) else -row[metric]


def best_row(history, metric):
    """The first evaluation with the best `metric`, or None before any."""
    rows = [row for row in history if metric in row]
    return min(rows, key=lambda row: score(row, metric)) if rows else None


def describe(history, metric):
    """A line saying which evaluation `best.keras` holds ("" before any)."""
    row = best_row(history, metric)
    if row is None:
        return ""
    return (
        f"best.keras (what `python -m export` writes): step {row['step']}, the "
        f"{'lowest' if _is_loss(metric) else 'highest'} {metric} ({row[metric]:.4g})"
    )
