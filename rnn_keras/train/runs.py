"""The run folder: what it holds, and refusing to mix two runs in one folder.

RUN_DIR/config.json    the resolved TrainConfig
RUN_DIR/vocab.json     the characters or tokens (id 0 = padding), their unit, and the labels
RUN_DIR/checkpoints/   the latest checkpoint (see rnn_keras.checkpoint)
RUN_DIR/best.keras     the model of the best evaluation so far (rnn_keras.train.best)
RUN_DIR/data.json      the training data's SHA-256, length and path: resume checks it
RUN_DIR/sample.txt     the first characters of that text: export checks parity on them,
                       so a run folder exports wherever the text has gone
RUN_DIR/metrics.csv, loss.png, tensorboard/
"""

import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import shutil

from rnn_keras.train.checkpoint import CheckpointError, atomic_write_bytes
from rnn_keras_common.config import ConfigError
from rnn_keras_common.run_config import read_run_config
from rnn_keras_common.vocab import make_vocab

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


DATA, SAMPLE = "data.json", "sample.txt"
SAMPLE_CHARS = 100_000  # enough for every parity batch, small beside the model


def fingerprint(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _same_text(saved_sha256, text):
    # runs from before --text dropped a byte-order mark hashed the text with it, and runs
    # from before line ends were read as LF hashed a Windows file with its CRLFs
    crlf = text.replace("\n", "\r\n")
    return saved_sha256 in {fingerprint(p + t) for p in ("", "\ufeff") for t in (text, crlf)}


def _learned_carriage_returns(run_dir, task):
    """An LM trained on a Windows file before line ends were read as LF has CR as one of its
    characters: every id after it would shift if it resumed on the text read today."""
    vocab, _ = read_vocab(run_dir)
    if "\r" in vocab.chars and "\r" not in task.vocab.chars:
        raise ConfigError(
            f"--resume {run_dir}: the run learned Windows line ends (CR, '\\r') as a "
            "character; text is now read with its line ends as LF, so the run cannot go on "
            "on it. Its files still export and run; train a new run with --run-dir."
        )


def write_metadata(run_dir, cfg, task):
    run_dir = pathlib.Path(run_dir)
    vocab = {"chars": task.vocab.chars, "labels": task.labels, "unit": task.vocab.unit}
    atomic_write_bytes(run_dir / "vocab.json", json.dumps(vocab, ensure_ascii=False).encode())
    path = cfg.data or cfg.text  # None: the bundled data
    source = {"sha256": fingerprint(task.source), "characters": len(task.source), "path": path}
    if cfg.val_data:  # checked on resume as the training data is
        val = task.val_source
        source |= {"val_sha256": fingerprint(val), "val_characters": len(val)}
        source["val_path"] = cfg.val_data
    atomic_write_bytes(run_dir / DATA, json.dumps(source, ensure_ascii=False).encode())
    atomic_write_bytes(run_dir / SAMPLE, task.source[:SAMPLE_CHARS].encode("utf-8"))
    write_config(run_dir, cfg)


def write_config(run_dir, cfg):
    atomic_write_bytes(pathlib.Path(run_dir) / MARKER, cfg.to_json().encode())


def read_sample(run_dir):
    """The run's own text sample, or None for a run from before samples were kept."""
    path = pathlib.Path(run_dir) / SAMPLE
    return path.read_text(encoding="utf-8") if path.is_file() else None


def check_data(run_dir, task):
    """Resuming on other data would silently train another run: the text's hash must match."""
    path = pathlib.Path(run_dir) / DATA
    if not path.is_file():  # a run from before hashes were kept: the vocabulary at least
        return check_vocab(run_dir, task)
    saved = json.loads(path.read_text(encoding="utf-8"))
    if task.cfg.val_data and "val_sha256" not in saved:
        raise ConfigError(
            f"--resume {run_dir}: the run validates on a split of its --data; --val-data "
            "cannot replace that when resuming. Start a new run with --run-dir."
        )
    if task.cfg.val_data and not _same_text(saved["val_sha256"], task.val_source):
        raise ConfigError(
            f"--resume {run_dir}: this validation data ({len(task.val_source)} characters) is "
            f"not what the run validated on ({saved['val_characters']} characters, "
            f"{saved['val_path']}; SHA-256 differs). Resume with the same --val-data content."
        )
    if not _same_text(saved["sha256"], task.source):
        flag = "--data" if task.cfg.data else "--text"
        where = saved["path"] or ("the bundled data" if flag == "--text" else "your file")
        raise ConfigError(
            f"--resume {run_dir}: this data ({len(task.source)} characters) is not what the "
            f"run trained on ({saved['characters']} characters, {where}; SHA-256 differs). "
            f"Resume with the same {flag} content."
        )
    _learned_carriage_returns(run_dir, task)


def read_config(run_dir):
    return read_run_config(run_dir)


def read_vocab(run_dir):
    """`(Vocab, labels)` saved with the run."""
    try:
        saved = json.loads((pathlib.Path(run_dir) / "vocab.json").read_text(encoding="utf-8"))
        return make_vocab(saved["chars"], saved.get("unit", "char")), saved["labels"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{run_dir}/vocab.json is missing or damaged ({err}): not a complete run folder."
        ) from err


def check_vocab(run_dir, task):
    """The data to resume on must give the run's vocabulary, or ids would mean other characters."""
    vocab, _ = read_vocab(run_dir)
    if vocab != task.vocab:
        raise ConfigError(
            f"--resume {run_dir}: the text's vocabulary ({len(task.vocab.chars)} characters) "
            f"differs from the run's ({len(vocab.chars)}). Resume with the same --text."
        )
