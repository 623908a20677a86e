"""The end of `train.py`: where the artefacts are, the final numbers, a sample."""

import hashlib
import pathlib

import numpy as np

from rnn_keras import figures
from rnn_keras.train import best
from rnn_keras.train.monitor import fields
from rnn_keras_common.scores import class_scores, classes_table


def weights_fingerprint(model):
    """A short hash of every weight: replicas and workers that agree print the same one."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()[:16]


def finish(trainer, result, run_dir):
    run_dir = pathlib.Path(run_dir)
    print(f"Weights fingerprint: {weights_fingerprint(trainer.model)}")
    print("\nFinal:", fields(result))
    print(f"Artefacts in {run_dir}/: {artefacts(run_dir)}")
    line = best.describe(trainer.history_rows(), trainer.best_by)
    if line:
        print(line)
    totals = getattr(trainer, "last_totals", None)
    if trainer.task.labels and totals is not None and "confusion" in totals:
        per_class(trainer.task, totals["confusion"], run_dir)
    if hasattr(trainer.task, "final_report"):  # e.g. translate: the test split, beam search
        trainer.task.final_report(trainer.model, run_dir)
    if trainer.task.name == "lm":
        sample = trainer.sample(trainer.cfg.sample_length)
        print(f"\nSample (TensorFlow, temperature {trainer.cfg.temperature:.2g}):\n{sample}")


def artefacts(run_dir):
    """What the run folder holds now, folders marked `/` (not a fixed list: runs differ)."""
    entries = sorted(
        (p for p in run_dir.iterdir() if not p.name.startswith(".")),  # not the run's .lock
        key=lambda p: (p.is_dir(), p.name),
    )
    return ", ".join(p.name + ("/" if p.is_dir() else "") for p in entries)


def per_class(task, confusion, run_dir):
    """`classes.csv` (precision, recall, F1, support per label) and `confusion.png`."""
    scores = class_scores(confusion)
    table = classes_table(task.labels, scores)
    (run_dir / "classes.csv").write_text(table, encoding="utf-8")
    print(f"Per label (validation): {run_dir / 'classes.csv'}; macro-F1 {scores['macro_f1']:.4g}")
    if len(task.labels) <= 12:
        print(table, end="")
    plot_confusion(np.asarray(confusion), task.labels, run_dir / "confusion.png")


MAX_NAMED = 80  # labels named on the confusion matrix's axes; more keep its size at that


def plot_confusion(confusion, labels, path):
    """Rows: true label, normalised to 1; columns: predicted."""
    plt = figures.pyplot()
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    named = len(labels) <= MAX_NAMED  # past that, names would overlap: the matrix alone
    size = min(max(4.0, 0.28 * len(labels) + 2), 0.28 * MAX_NAMED + 2)
    with figures.fonts_for(labels if named else [], path):
        fig, ax = plt.subplots(figsize=(size + 1, size))
        image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        if named:
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        fig.colorbar(image, ax=ax, fraction=0.04, label="share of the true label")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    plt.close(fig)
