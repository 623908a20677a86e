"""XLA or not for the training step: a timed run measures both and keeps the faster.

Which is faster depends on the machine, not the model: on 2-core AVX-512 machines XLA's
step was 1.2x the plain graph's (its dots run in YNNPACK's AVX-512 kernels), while with
every library held to AVX2 the order changed between runs on one Zen 5 machine (the plain
graph, on oneDNN's AVX2 kernels, 5% ahead in one; XLA 2-13% ahead in four others); on
a real AVX2-only Zen 3 EPYC XLA's LM step took 196 ms against 270.
A user's machine may be either, so a run with a time budget times a few of its first
steps both ways (real steps: both compute the same update of the same variables) and
trains on with the faster; `--jit-compile` / `--no-jit-compile` choose instead.
"""

import time

import numpy as np

from rnn_keras.train.steps import StepFunctions

TRIALS = 5  # timed steps per compiler, alternated so that a drifting machine hits both


def choose_jit(trainer):
    """Time `trainer`'s steps with and without XLA; keep the faster. Returns
    `(jit_compile, {True: median seconds with XLA, False: without})`."""
    fns = trainer.fns
    both = {jit: _with_jit(fns, jit) for jit in (True, False)}
    times = {True: [], False: []}
    for jit in both:  # each compiles on its first step: not timed
        trainer.fns = both[jit]
        trainer.train_one()
    for _ in range(TRIALS):
        for jit in both:
            trainer.fns = both[jit]
            t0 = time.perf_counter()
            trainer.train_one()
            times[jit].append(time.perf_counter() - t0)
    medians = {jit: float(np.median(t)) for jit, t in times.items()}
    chosen = min(medians, key=medians.get)
    trainer.fns = both[chosen]
    return chosen, medians


def _with_jit(fns, jit):
    if fns.jit_compile == jit:
        return fns
    return StepFunctions(
        fns.model, fns.optimizer, fns.clip_norm, jit, fns.confusion, fns.label_smoothing
    )


def describe(chosen, medians):
    """The line `train.py` prints about the choice."""
    names = {True: "XLA", False: "without XLA"}
    other = not chosen
    return (
        f"Training step {names[chosen]}: {medians[chosen] * 1e3:.0f} ms against "
        f"{medians[other] * 1e3:.0f} ms {names[other]} on this machine "
        "(--jit-compile / --no-jit-compile choose)"
    )
