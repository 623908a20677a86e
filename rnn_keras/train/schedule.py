"""The learning-rate schedule, and the step count it runs to.

`learning_rate` is a warm-up then a cosine (or constant) rate; `plan` (`calibrate_steps`)
turns a time budget into a step count (the cosine needs one); `extend` fixes the
step count of a resumed run, restarting the cosine when a finished run goes on.
"""

import dataclasses
import math
import time

import numpy as np

from rnn_keras.train import distributed
from rnn_keras_common.config import LM_LR, ConfigError

# A schedule's end while a timed run has not planned its steps yet: the lr stays at its peak
HORIZON = 10**9


def learning_rate(cfg, step, start=0):
    """Linear warm-up over `cfg.warmup_steps`, then cosine decay to 2% of `lr` (or constant).

    The warm-up keeps Adam's first, badly estimated steps from saturating the
    tanh states (a plateau at the unigram loss that takes hundreds of steps to leave).
    The cosine runs from `start` to `cfg.steps`: 0 for a run, the step a finished run
    was extended from for an extension (a warm restart at `lr`, without warm-up;
    Loshchilov & Hutter, SGDR, 2017).
    """
    warm = min((step + 1) / cfg.warmup_steps, 1.0) if cfg.warmup_steps and not start else 1.0
    if cfg.lr_decay == "none":
        return cfg.lr * warm
    frac = min((step - start) / max(cfg.steps - start, 1), 1.0)
    return warm * cfg.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * frac)))


def unplanned(cfg):
    """A timed run's config until its steps are planned: the schedule at its peak, an lm's
    peak lr left to the plan at its long-run value."""
    return dataclasses.replace(cfg, steps=HORIZON, lr=cfg.lr or LM_LR)


def plan(trainer, cfg):
    """`cfg` with the steps its minutes give (timed on `trainer`), resolved again: an lm
    given no lr takes the peak for those steps (`TrainConfig.resolved`)."""
    planned = dataclasses.replace(cfg, steps=calibrate_steps(trainer, cfg.minutes)).resolved()
    print(f"Planned {planned.steps:,} steps for {_budget(cfg)}; peak learning rate {planned.lr:g}")
    return planned


def _budget(cfg):
    return f"the {cfg.minutes:g}-minute budget"


def calibrate_steps(trainer, minutes, horizon=HORIZON):
    """Time a few steps; the step count at which `minutes` of training from here end.

    The timed steps train with the schedule's `cfg.steps` set to `horizon`: far away
    (peak lr) for a new run or segment, the old end for a run that goes on.
    """
    start = trainer.step
    trainer.cfg = dataclasses.replace(trainer.cfg, steps=horizon)
    trainer.train_one()  # compiles; not timed
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        trainer.train_one()
        times.append(time.perf_counter() - t0)
    # a step of a batch shape not seen before also compiles (~2 s, once per shape; length-
    # sorted batches have a dozen shapes): leave such steps out of the average
    times = np.array(times)
    per_step = float(times[times < 5 * np.median(times)].mean())
    per_step = distributed.cluster_mean(trainer.strategy, per_step)  # every worker, one plan
    return max(trainer.step + 1, start + int(minutes * 60 / per_step))


def extend(trainer, planned, run_dir):
    """Fix the resumed run's step count; a finished run extended restarts the cosine."""
    cfg, done = trainer.cfg, trainer.step
    if cfg.steps is not None and cfg.steps <= done:
        more = "" if cfg.steps == planned else f"--steps {cfg.steps} is not more than that; "
        raise ConfigError(
            f"--resume {run_dir}: the run has done {done} of its {planned} steps. {more}"
            f"Pass --steps N with N > {done}, or --minutes M, to train it further."
        )
    finished = done >= planned
    if finished:
        trainer.segment_start = done
    if cfg.steps is None:
        steps = calibrate_steps(trainer, cfg.minutes, HORIZON if finished else planned)
        trainer.cfg = dataclasses.replace(cfg, steps=steps)
        print(f"Planned {steps:,} steps ({steps - done:,} more) for {_budget(cfg)}")
