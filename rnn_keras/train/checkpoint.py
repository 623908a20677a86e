"""Atomic checkpoints of a run: a killed or failed run keeps its last good one.

A checkpoint is a folder `checkpoints/step-N/` holding `model.keras`,
`optimizer.npz` (every optimiser variable, in order), `carry.npz` (the LM's
carried states), `rng.npz` (the states of the model's Keras seed generators,
which `model.keras` does not keep: dropout masks after a resume are the ones an
uninterrupted run draws) and `state.json` (step, data position, RNG state, metrics so
far). It is written under a temporary name and renamed into place; then the
one-line pointer file `checkpoints/latest` is replaced atomically
(`os.replace`). A reader follows `latest`, so it only ever sees complete
checkpoints; older ones are deleted after the pointer moves.
"""

import json
import os
import pathlib
import shutil
import tempfile
import zipfile

import numpy as np

from rnn_keras.train import saving
from rnn_keras_common import stops

LATEST = "latest"


class CheckpointError(ValueError):
    """A run folder or checkpoint cannot be used; the message says why and what to do."""


def temp_file(path, suffix=".tmp"):
    """`(fd, name)` of a new file beside `path`, with the permissions a plain `open` would give.

    (`mkstemp` makes files 0600; a run's artefacts should be as readable as any other file.)
    """
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    os.chmod(tmp, _usual_mode(0o666))
    return fd, tmp


def _usual_mode(mode):
    """`mode` less the process umask, as `open`/`mkdir` would apply it."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def atomic_write_bytes(path, payload):
    """Write `payload` to `path` via a temporary file in the same folder and `os.replace`."""
    path = pathlib.Path(path)
    fd, tmp = temp_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


@stops.deferred()  # a Ctrl-C comes out after the write, not as zipfile's error inside it
def atomic_save_model(model, path):
    """`model.save` to a temporary `.keras` file, then rename over `path`."""
    path = pathlib.Path(path)
    fd, tmp = temp_file(path, ".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


@stops.deferred()  # as above: a stop mid-write raised zipfile's ValueError over it
def save(run_dir, step, model, optimizer, carry, state):
    """Write checkpoint `step` and point `latest` at it."""
    root = pathlib.Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(dir=root, prefix=f".step-{step}."))
    os.chmod(tmp, _usual_mode(0o777))  # mkdtemp makes 0700
    try:
        model.save(tmp / "model.keras")
        np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
        np.savez(tmp / "carry.npz", *[np.asarray(c) for c in carry])
        np.savez(tmp / "rng.npz", *[np.asarray(v) for v in rng_variables(model)])
        (tmp / "state.json").write_text(json.dumps({**state, "step": step}))
        final = root / f"step-{step}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        atomic_write_bytes(root / LATEST, final.name.encode())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in root.glob("step-*"):
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".step-*"):  # left by a run killed mid-write
        shutil.rmtree(stale, ignore_errors=True)


def latest_dir(run_dir):
    root = pathlib.Path(run_dir) / "checkpoints"
    pointer = root / LATEST
    if not pointer.is_file():
        raise CheckpointError(
            f"{run_dir} holds no checkpoint (no {pointer}): the run stopped before writing "
            f"one. Start it again with --run-dir {run_dir} --overwrite, without --resume."
        )
    return root / pointer.read_text().strip()


def load(run_dir):
    """`(model, optimizer_values, carry, state)` of the latest checkpoint."""
    folder = latest_dir(run_dir)
    try:
        model = saving.load_model(folder / "model.keras")
        with np.load(folder / "optimizer.npz", allow_pickle=False) as f:
            optimizer_values = [f[f"arr_{i}"] for i in range(len(f.files))]
        with np.load(folder / "carry.npz", allow_pickle=False) as f:
            carry = [f[f"arr_{i}"] for i in range(len(f.files))]
        state = json.loads((folder / "state.json").read_text())
        _restore_rng(model, folder / "rng.npz")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:  # ModelFileError too
        raise CheckpointError(
            f"The checkpoint {folder} is damaged ({type(err).__name__}: {err}). "
            "Start a new run, or restore the folder from a backup."
        ) from err
    return model, optimizer_values, carry, state


def rng_variables(model):
    """The model's variables that are not weights: its seed generators' states."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _restore_rng(model, path):
    if not path.is_file():  # a checkpoint from before seed states were kept
        return
    with np.load(path, allow_pickle=False) as f:
        values = [f[f"arr_{i}"] for i in range(len(f.files))]
    variables = rng_variables(model)
    if len(values) != len(variables):
        raise ValueError(f"{path} holds {len(values)} seed states, the model {len(variables)}")
    for var, value in zip(variables, values):
        var.assign(value)


def restore_optimizer(optimizer, values):
    if len(values) != len(optimizer.variables):
        raise CheckpointError(
            f"The checkpoint's optimiser has {len(values)} variables, this one "
            f"{len(optimizer.variables)}: the run's --optimizer or model differs."
        )
    for var, value in zip(optimizer.variables, values):
        var.assign(value)
