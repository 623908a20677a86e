"""The run folder: what it holds, and refusing to mix two runs in one folder.

RUN_DIR/config.json    the resolved TrainConfig
RUN_DIR/vocab.json     the characters (id 0 = padding) and, for tag/classify, labels
RUN_DIR/checkpoints/   the latest checkpoint (see rnn_keras.checkpoint)
RUN_DIR/best.keras     the model with the best validation loss so far
RUN_DIR/metrics.csv, loss.png, tensorboard/
"""

import json
import pathlib
import shutil

from rnn_keras.train.checkpoint import CheckpointError, atomic_write_bytes
from rnn_keras_common.config import ConfigError, TrainConfig
from rnn_keras_common.vocab import Vocab

MARKER = "config.json"


def is_run(run_dir):
    return (pathlib.Path(run_dir) / MARKER).is_file()


def prepare_new(run_dir, overwrite=False):
    """Create `run_dir` for a new run; refuse a folder that already holds one."""
    run_dir = pathlib.Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"--run-dir {run_dir} is a file; pass a folder.")
    if is_run(run_dir) or (run_dir / "checkpoints").exists():
        if not overwrite:
            raise CheckpointError(
                f"{run_dir} already holds a run. Pass --resume {run_dir} to continue it, "
                "--overwrite to replace it, or another --run-dir."
            )
        for name in ("checkpoints", "tensorboard"):
            shutil.rmtree(run_dir / name, ignore_errors=True)
        for name in (MARKER, "vocab.json", "best.keras", "metrics.csv", "loss.png"):
            (run_dir / name).unlink(missing_ok=True)
    probe = run_dir / ".write-test"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise CheckpointError(
            f"Cannot write in {run_dir} ({err.strerror}); pass a writable --run-dir."
        ) from err


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
