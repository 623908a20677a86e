"""BPTT training: `train_and_evaluate(cfg, run_dir)` and `resume(run_dir)`.

The outer loop is plain Python: take a batch, run the compiled gradient step
(`rnn_keras.steps`), refuse non-finite values, update, log, and every so
often evaluate, sample and checkpoint. For the language model the final state
of one batch is fed as the initial state of the next (truncated BPTT; the
gradient stops at the boundary because the state enters as an input).
"""

import contextlib
import dataclasses
import math
import pathlib
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from rnn_keras.tasks import make_task
from rnn_keras.tasks.base import validation_note
from rnn_keras.tasks.generate import Generator
from rnn_keras.train import autojit, best, checkpoint, distributed, resources, runs, schedule
from rnn_keras.train.monitor import Monitor, fields
from rnn_keras.train.schedule import learning_rate
from rnn_keras.train.steps import StepFunctions, all_finite, make_optimizer
from rnn_keras_common import stops


class NonFiniteError(RuntimeError):
    """The loss or gradient went NaN/inf; nothing from that step was written."""


class Trainer:
    """One run: its task, model, optimiser, carried state and records."""

    def __init__(self, cfg, run_dir, task, model, saved=None, strategy=None):
        self.cfg, self.run_dir, self.task, self.model = cfg, pathlib.Path(run_dir), task, model
        self.strategy = strategy = strategy or tf.distribute.get_strategy()
        self.replicas = strategy.num_replicas_in_sync
        with strategy.scope():  # the optimiser's variables mirror the model's
            self.optimizer = make_optimizer(cfg)
            self.optimizer.build(model.trainable_variables)
        if strategy.num_replicas_in_sync > 1 or cfg.strategy != "default":
            self.fns = distributed.DistributedStepFunctions(
                model, self.optimizer, cfg.clip_norm, strategy, label_smoothing=cfg.label_smoothing
            )
        else:
            confusion = getattr(task, "confusion", True)
            self.fns = StepFunctions(
                model, self.optimizer, cfg.clip_norm, cfg.jit_compile is not False, confusion,
                label_smoothing=cfg.label_smoothing,
            )  # fmt: skip
        self.step, self.best, self.carry, history = 0, math.inf, None, []
        self.best_by = best.criterion(task)
        self.resumed = saved is not None  # a new run's first steps may be timed before `run`
        self.segment_start = 0  # where the learning-rate schedule's cosine starts
        self.losses = []  # every step's training loss, kept in checkpoints
        if saved is not None:
            optimizer_values, carry, state = saved
            checkpoint.restore_optimizer(self.optimizer, optimizer_values)
            self.step, self.best, history = state["step"], state["best"], state["history"]
            self.best_by = state.get("best_by", best.LOSS)  # runs from before chose by loss
            self.losses = state["losses"]
            self.segment_start = state.get("segment_start", 0)
            self.task.train.position = state["position"]
            self.carry = [np.asarray(c) for c in carry] if carry else None
        self.skipped = 0
        self.monitor = None
        self.history = history

    def _zero_carry(self):
        return [
            np.zeros((self.cfg.batch_size, int(t.shape[-1])), np.float32)
            for t in self.model.inputs[1:]
        ]

    def train_one(self):
        """One optimiser step; returns the loss and the number of tokens."""
        tokens, targets, weights, new_pass = self.task.train.next_batch()
        states = None
        if self.task.stateful:
            if new_pass or self.carry is None:
                self.carry = self._zero_carry()  # a new pass over the text
            states = self.carry
        # `step` applies the update only if the loss and the gradient are finite
        lr = np.float32(self.lr())
        loss, norm, new_states = self.fns.step(tokens, targets, weights, states, lr)
        loss = float(loss)
        self.losses.append(loss)
        if not all_finite(loss, norm):
            if not self.cfg.skip_nonfinite:
                raise NonFiniteError(
                    f"Step {self.step + 1}: the loss or gradient is not finite (loss={loss}, "
                    f"gradient norm={float(norm)}). Nothing from this step was saved; the last "
                    f"good checkpoint is in {self.run_dir / 'checkpoints'}. Lower --lr or "
                    "--clip-norm, or pass --skip-nonfinite to skip such steps."
                )
            self.skipped += 1
            self.step += 1
            return loss, 0
        if self.task.stateful:
            self.carry = [s.numpy() for s in new_states]
        self.step += 1
        return loss, int(np.count_nonzero(weights))

    def history_rows(self):
        """Every evaluation of the run so far, resumed segments included."""
        return self.monitor.history if self.monitor else self.history

    def lr(self):
        return learning_rate(self.cfg, self.step, self.segment_start)

    def evaluate(self):
        totals, states = {}, None
        if self.task.stateful:
            states = [
                np.zeros((self.task.val.batch_size, int(t.shape[-1])), np.float32)
                for t in self.model.inputs[1:]
            ]
        for tokens, targets, weights in self.task.val_batches():
            counts, new_states = self.fns.evaluate(tokens, targets, weights, states)
            states = new_states if self.task.stateful else None
            for k, v in counts.items():
                totals[k] = totals.get(k, 0.0) + np.asarray(v, np.float64)
        self.last_totals = totals  # the report's per-class table and confusion matrix
        metrics = self.task.metrics(totals)
        if hasattr(self.task, "decoded_metrics"):  # encoder-decoders: decode, not teacher-force
            metrics.update(self.task.decoded_metrics(self.model))
        return metrics

    def sample(self, length=None, seed=None):
        generator = Generator(self.model, self.task.vocab)
        return generator.generate(
            self.task.prime,
            length or self.cfg.sample_length,
            self.cfg.temperature,
            seed=self.cfg.seed if seed is None else seed,
        )

    def save_checkpoint(self):
        state = {
            "position": self.task.train.position,
            "best": self.best,
            "best_by": self.best_by,
            "losses": self.losses,
            "segment_start": self.segment_start,
            "history": self.history_rows(),
        }
        checkpoint.save(
            self.run_dir, self.step, self.model, self.optimizer, self.carry or [], state
        )

    def run(self):
        """Train to `cfg.steps`, evaluating, sampling and checkpointing on the way."""
        cfg = self.cfg
        self.monitor = Monitor(self.run_dir, cfg.steps, self.step, cfg.progress, self.history)
        window, started = [], time.perf_counter()
        if not self.resumed:  # e.g. examples per label (the imbalance); what validation reads
            for line in (getattr(self.task, "summary", None), validation_note(self.task, cfg)):
                if line:
                    self.monitor.message(line)
        try:
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                loss, tokens = self.train_one()
                window = (window + [(loss, tokens, time.perf_counter() - t0)])[-50:]
                speed = sum(w[1] for w in window) / sum(w[2] for w in window)
                self.monitor.step(self.step, loss, speed, self.lr())
                self._periodic(window)
                stops.check()  # a Ctrl-C or SIGTERM that C code swallowed mid-step
        finally:
            self.monitor.close()
        return {
            "steps": self.step,
            "train_seconds": time.perf_counter() - started,
            "skipped_steps": self.skipped,
            "replicas": self.replicas,
            **self.monitor.history[-1],
        }

    def _periodic(self, window):
        cfg, last = self.cfg, self.step >= self.cfg.steps
        due = self.step % cfg.checkpoint_every == 0 or last
        if due:
            self.save_checkpoint()  # first: an evaluation or sample that fails loses nothing
        if self.step % cfg.eval_every == 0 or last:
            row = {
                "step": self.step,
                "train_loss": float(np.mean([w[0] for w in window])),
                **self.evaluate(),
            }
            self.monitor.record(row)
            self.monitor.message(fields(row))
            score = best.score(row, self.best_by)
            if score < self.best:
                self.best = score
                checkpoint.atomic_save_model(self.model, self.run_dir / "best.keras")
                if due:
                    self.save_checkpoint()  # so a resumed run knows this best
        if self.task.name == "lm" and cfg.sample_every and self.step % cfg.sample_every == 0:
            self.monitor.message(f"--- sample at step {self.step} ---\n{self.sample()}\n---")


@contextlib.contextmanager
def _no_lock():
    yield  # no run folder to lock: checkpoint.load gives the user's error


def _start(cfg):
    """The strategy, made under a watchdog: a cluster that never forms is an error, not a hang."""
    if cfg.strategy != "multi-worker":
        return distributed.make_strategy(cfg.strategy)
    with distributed.Watchdog(cfg.worker_timeout, "joining the cluster"):
        return distributed.make_strategy(cfg.strategy, cfg.worker_timeout)


def _writes_to(run_dir, cfg):
    """Only the chief writes the run; other workers keep their records in a temporary folder."""
    if cfg.strategy == "multi-worker" and not distributed.is_chief():
        return pathlib.Path(tempfile.mkdtemp(prefix="rnn_keras-worker-"))
    return pathlib.Path(run_dir)


def _first_step(trainer):
    if trainer.cfg.strategy == "multi-worker":
        with distributed.Watchdog(trainer.cfg.worker_timeout, "the first synchronised step"):
            trainer.train_one()


def train_and_evaluate(cfg, run_dir, overwrite=False, text=None):
    """Start a new run in `run_dir` with `cfg`; returns `(trainer, final metrics)`."""
    cfg = cfg.resolved()
    task = make_task(cfg, text)  # the data is read and checked before the folder is touched
    resources.check_memory(cfg, task)
    print("Config:\n" + cfg.to_json())  # after the checks, so a bad input's error stands alone
    strategy = _start(cfg)
    run_dir = _writes_to(run_dir, cfg)
    with runs.locked(run_dir):
        replacing = runs.prepare_new(run_dir, overwrite)
        try:
            trainer = _start_new(cfg, run_dir, task, strategy)
        except BaseException:
            if replacing:
                runs.restore_old(run_dir)  # a failed start loses nothing
            raise
        runs.commit_new(run_dir)
        return trainer, _run(trainer)


def _start_new(cfg, run_dir, task, strategy):
    """Build, take the first step(s) and write a first checkpoint: the run has started."""
    keras.utils.set_random_seed(cfg.seed)
    timed = cfg.steps is None  # the schedule (cosine decay) needs a step count: timing gives it
    with strategy.scope():
        first = schedule.unplanned(cfg) if timed else cfg
        trainer = Trainer(first, run_dir, task, task.model(), strategy=strategy)
    _first_step(trainer)
    if timed and cfg.jit_compile is None and isinstance(trainer.fns, StepFunctions):
        chosen, medians = autojit.choose_jit(trainer)  # saved: a resumed run keeps it
        trainer.cfg, cfg = (dataclasses.replace(c, jit_compile=chosen) for c in (trainer.cfg, cfg))
        print(autojit.describe(chosen, medians))
    if timed:  # then saved, so a resumed run follows the same schedule
        trainer.cfg = cfg = schedule.plan(trainer, cfg)
    runs.write_metadata(run_dir, cfg, task)
    trainer.save_checkpoint()  # a run killed before its first periodic one can be resumed
    return trainer


def _run(trainer):
    result = trainer.run()
    if trainer.run_dir.name.startswith("rnn_keras-worker-"):  # a non-chief's scratch records
        shutil.rmtree(trainer.run_dir, ignore_errors=True)
    return result


def resume(run_dir, cfg=None, text=None):
    """Continue the run in `run_dir` from its latest checkpoint; returns `(trainer, metrics)`.

    `cfg` is the run's config with what `--resume` may change (`run_config.for_resume`).
    More `steps` (or a `minutes` budget) extend a run, finished or not; a finished
    run's extension starts a new cosine segment at `lr` (see `learning_rate`).
    """
    saved = runs.read_config(run_dir)
    cfg = (cfg or saved).resolved()
    _check_text_is_there(run_dir, cfg, saved)
    task = make_task(cfg, text)
    runs.check_data(run_dir, task)
    resources.check_memory(cfg, task)
    strategy = _start(cfg)
    with runs.locked(_writes_to(run_dir, cfg)) if runs.is_run(run_dir) else _no_lock():
        with strategy.scope():
            model, optimizer_values, carry, state = checkpoint.load(run_dir)
            saved_state = (optimizer_values, carry, state)
            trainer = Trainer(cfg, _writes_to(run_dir, cfg), task, model, saved_state, strategy)
        schedule.extend(trainer, saved.steps, run_dir)
        _first_step(trainer)
        if trainer.cfg != saved:
            runs.write_config(trainer.run_dir, trainer.cfg)
        return trainer, _run(trainer)


def _check_text_is_there(run_dir, cfg, saved):
    for field in ("text", "data", "val_data"):  # files (caption --data: a folder of images)
        path, flag = getattr(cfg, field), "--" + field.replace("_", "-")
        if path is not None and path == getattr(saved, field) and not pathlib.Path(path).exists():
            raise runs.CheckpointError(
                f"--resume {run_dir}: the run's {flag[2:]} {path} is no longer there. Pass "
                f"{flag} PATH with the same content (its SHA-256 is checked against the run's)."
            )
