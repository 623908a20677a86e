"""A run folder's saved config: reading it back (`read_run_config`, no TensorFlow
needed) and what `--resume` may change in it (`RESUMABLE`, `for_resume`)."""

import dataclasses
import json
import pathlib

from rnn_keras_common.config import ConfigError, TrainConfig, flag

# What `--resume` may change: how long and how fast to go on, and what to report on
# the way. Everything else defines the model or its data and stays as the run began.
RESUMABLE = (
    "text",  # the same content at a new path: its hash is checked against the run's
    "data",
    "val_data",
    "steps",
    "minutes",
    "lr",
    "clip_norm",
    "skip_nonfinite",
    "eval_every",
    "eval_batches",
    "checkpoint_every",
    "sample_every",
    "sample_length",
    "temperature",
    "progress",
    "jit_compile",
    "beam",
    "max_output",
    "worker_timeout",
)


def for_resume(saved, overrides, run_dir):
    """The config of a resumed run: `saved` with the `overrides` `--resume` allows.

    A flag that would change the model or its data is refused, naming it; giving
    it the run's own value is harmless. `--minutes` alone re-plans the step count.
    """
    changed = {k: v for k, v in overrides.items() if getattr(saved, k) != v}
    refused = sorted(k for k in changed if k not in RESUMABLE)
    if refused:
        named = ", ".join(f"{flag(k)} (the run has {getattr(saved, k)!r})" for k in refused)
        raise ConfigError(
            f"--resume {run_dir}: {named} cannot change when resuming; they define the "
            "model or its data. Drop them, or start a new run with --run-dir. With --resume "
            "you may change: " + ", ".join(flag(k) for k in RESUMABLE) + "."
        )
    if "minutes" in overrides and "steps" not in changed:
        # M more minutes, even M = the run's own budget: re-planned once the run restarts
        changed.update(minutes=overrides["minutes"], steps=None)
    cfg = dataclasses.replace(saved, **changed)
    cfg.validate()
    return cfg


def _written_before(cfg):
    """Fields a config saved before they existed leaves None: the values it trained with."""
    before = {
        "embedding": 0,
        "recurrent_gain": None if cfg.task == "caption" else 1.0,
        "label_smoothing": 0.0,
    }
    return {k: v for k, v in before.items() if getattr(cfg, k) is None}


def read_run_config(run_dir):
    """The resolved `TrainConfig` saved in `run_dir/config.json` (no TensorFlow needed)."""
    path = pathlib.Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"{run_dir} is not a run folder (no config.json). Pass a folder written by train.py."
        )
    try:
        saved = TrainConfig.from_dict(json.loads(path.read_text()))
        # a field added after the run was written: what that run trained with, not today's
        # default (a one-hot model read back as embedded would misdescribe it and its export)
        return dataclasses.replace(saved, **_written_before(saved)).resolved()
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"{path} is unreadable or from another version of rnn-keras ({err})."
        ) from err
