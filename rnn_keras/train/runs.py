"""The run folder: what it holds, and refusing to mix two runs in one folder.

RUN_DIR/config.json    the resolved TrainConfig
RUN_DIR/vocab.json     the characters (id 0 = padding) and, for tag/classify, labels
RUN_DIR/checkpoints/   the latest checkpoint (see rnn_keras.checkpoint)
RUN_DIR/best.keras     the model with the best validation loss so far
RUN_DIR/metrics.csv, loss.png, tensorboard/
"""

import contextlib
import fcntl
import json
import os
import pathlib
import shutil

from rnn_keras.train.checkpoint import CheckpointError, atomic_write_bytes
from rnn_keras_common.config import ConfigError, TrainConfig
from rnn_keras_common.vocab import Vocab

MARKER = "config.json"


def is_run(run_dir):
    return (pathlib.Path(run_dir) / MARKER).is_file()


LOCK = ".lock"
ASIDE = ".replaced"  # an overwritten run waits here until the new one has started


@contextlib.contextmanager
def locked(run_dir):
    """One writer per run folder: an exclusive `flock` on `RUN_DIR/.lock` holding our pid.

    The kernel drops the lock when its process dies (even by SIGKILL), so a stale lock
    file left by a killed run never blocks the next one.
    """
    run_dir = pathlib.Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise CheckpointError(
            f"Cannot write in {run_dir} ({err.strerror}); pass a writable --run-dir."
        ) from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
            raise CheckpointError(
                f"{run_dir} is in use by another training process (pid {owner}). Wait for "
                "it to finish, stop it, or pass another --run-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare_new(run_dir, overwrite=False):
    """Make `run_dir` ready for a new run; refuse a folder that already holds one.

    With `overwrite`, the old run's files are moved into `RUN_DIR/.replaced/`, not
    deleted: `commit_new` deletes them once the new run has started, `restore_old`
    puts them back if it fails before that. Returns whether anything was moved aside.
    """
    run_dir = pathlib.Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"--run-dir {run_dir} is a file; pass a folder.")
    moved = False
    if is_run(run_dir) or (run_dir / "checkpoints").exists():
        if not overwrite:
            raise CheckpointError(
                f"{run_dir} already holds a run. Pass --resume {run_dir} to continue it, "
                "--overwrite to replace it, or another --run-dir."
            )
        aside = run_dir / ASIDE
        shutil.rmtree(aside, ignore_errors=True)
        aside.mkdir()
        for entry in run_dir.iterdir():
            if entry.name not in (LOCK, ASIDE):  # every old artefact, .onnx files too
                entry.rename(aside / entry.name)
        moved = True
    probe = run_dir / ".write-test"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise CheckpointError(
            f"Cannot write in {run_dir} ({err.strerror}); pass a writable --run-dir."
        ) from err
    return moved


def commit_new(run_dir):
    """The new run has started: the replaced run's files go."""
    shutil.rmtree(pathlib.Path(run_dir) / ASIDE, ignore_errors=True)


def restore_old(run_dir):
    """The new run failed before starting: remove what it wrote, put the old run back."""
    run_dir, aside = pathlib.Path(run_dir), pathlib.Path(run_dir) / ASIDE
    if not aside.is_dir():
        return
    for entry in run_dir.iterdir():
        if entry.name not in (LOCK, ASIDE):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for entry in aside.iterdir():
        entry.rename(run_dir / entry.name)
    aside.rmdir()


def write_metadata(run_dir, cfg, task):
    run_dir = pathlib.Path(run_dir)
    vocab = {"chars": task.vocab.chars, "labels": task.labels}
    atomic_write_bytes(run_dir / "vocab.json", json.dumps(vocab, ensure_ascii=False).encode())
    atomic_write_bytes(run_dir / MARKER, cfg.to_json().encode())


def read_config(run_dir):
    run_dir = pathlib.Path(run_dir)
    if not is_run(run_dir):
        raise CheckpointError(
            f"--resume {run_dir}: not a run folder (no {MARKER}). "
            "Pass the folder a training run wrote."
        )
    try:
        return TrainConfig.from_json((run_dir / MARKER).read_text()).resolved()
    except (ValueError, TypeError) as err:
        raise CheckpointError(
            f"--resume {run_dir}: its {MARKER} is unreadable or from another version ({err})."
        ) from err


def read_vocab(run_dir):
    """`(Vocab, labels)` saved with the run."""
    try:
        saved = json.loads((pathlib.Path(run_dir) / "vocab.json").read_text(encoding="utf-8"))
        return Vocab(saved["chars"]), saved["labels"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{run_dir}/vocab.json is missing or damaged ({err}).") from err


def check_vocab(run_dir, task):
    """The data to resume on must give the run's vocabulary, or ids would mean other characters."""
    vocab, _ = read_vocab(run_dir)
    if vocab != task.vocab:
        raise ConfigError(
            f"--resume {run_dir}: the text's vocabulary ({len(task.vocab.chars)} characters) "
            f"differs from the run's ({len(vocab.chars)}). Resume with the same --text."
        )
