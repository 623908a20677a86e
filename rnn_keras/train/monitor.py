"""What a run shows and records: progress bar, metrics CSV, TensorBoard, loss-curve PNG."""

import csv
import pathlib
import sys
import time

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_keras import figures

PLAIN_EVERY_S = 10.0  # without a terminal: one plain progress line at most this often


def fields(row):
    """`step 12000 | val_loss 0.1881`: numbers to 4 significant digits, counts whole."""
    return " | ".join(
        f"{k} {v:.4g}" if isinstance(v, (float, np.floating)) else f"{k} {v}"
        for k, v in row.items()
    )


class Monitor:
    """One place for every record of a run, all under `run_dir`.

    On a terminal, progress is a live tqdm bar. Elsewhere (CI logs, `| tee log`) a bar's
    carriage returns make one endless line, so plain lines are printed every
    `PLAIN_EVERY_S` seconds instead, and every line is flushed as it is written.
    """

    def __init__(self, run_dir, total_steps, start_step, show_progress, history=None):
        self.run_dir = pathlib.Path(run_dir)
        self.history = list(history or [])  # rows of metrics, also kept in checkpoints
        self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
        self.total = total_steps
        self.plain = show_progress and not sys.stdout.isatty()
        self.last_line = time.monotonic()
        self.bar = tqdm(
            total=total_steps,
            initial=start_step,
            disable=not show_progress or self.plain,
            unit="step",
            dynamic_ncols=True,
        )

    def step(self, step, loss, chars_per_s, lr):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.3f}", chars_s=f"{chars_per_s:,.0f}", refresh=False)
        if self.plain and time.monotonic() - self.last_line >= PLAIN_EVERY_S:
            self.last_line = time.monotonic()
            self.message(
                f"step {step}/{self.total} | loss {loss:.4f} | {chars_per_s:,.0f} tokens/s"
            )
        with self.writer.as_default(step=step):
            tf.summary.scalar("train/loss", loss)
            tf.summary.scalar("train/lr", lr)

    def record(self, row):
        """A metrics row (step, train_loss, val_*...): CSV, TensorBoard, PNG."""
        self.history.append(row)
        with self.writer.as_default(step=row["step"]):
            for k, v in row.items():
                if k.startswith("val_"):
                    tf.summary.scalar(f"val/{k[4:]}", v)
        self.writer.flush()
        self._write_csv()
        self._plot()

    def message(self, text):
        self.bar.write(text)
        sys.stdout.flush()

    def close(self):
        self.bar.close()
        self.writer.close()

    def _write_csv(self):
        keys = sorted({k for row in self.history for k in row}, key=lambda k: (k != "step", k))
        with open(self.run_dir / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)

    def _plot(self):
        plt = figures.pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        for key in ("train_loss", "val_loss"):
            points = [(r["step"], r[key]) for r in self.history if key in r]
            if points:
                ax.plot(*zip(*points), marker=".", label=key)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats per token)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.run_dir / "loss.png")
        plt.close(fig)
