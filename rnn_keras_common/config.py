"""`TrainConfig`: every setting of a training run, in one place."""

import dataclasses
import json

TASKS = ("lm", "tag", "classify")
OPTIMIZERS = ("adam", "sgd")
DECAYS = ("cosine", "none")

# Per-task defaults for the fields left as None. The `lm` defaults reach the
# README's quality target (validation loss <= 1.55 nats/char) in 5 minutes of
# training on a 2-core machine.
TASK_DEFAULTS = {
    "lm": dict(
        units=256, layers=3, bidirectional=False, batch_size=64, seq_len=100, lr=3e-3, minutes=5.0
    ),
    "tag": dict(
        units=128, layers=2, bidirectional=True, batch_size=64, seq_len=64, lr=3e-3, minutes=2.0
    ),
    "classify": dict(
        units=128, layers=1, bidirectional=True, batch_size=64, seq_len=6, lr=2e-3, minutes=2.0
    ),
}


class ConfigError(ValueError):
    """A setting is out of range; the message names it and the fix."""


@dataclasses.dataclass
class TrainConfig:
    task: str = "lm"  # lm (next character), tag (word segmentation) or classify (play category)
    text: str | None = None  # UTF-8 text file for lm/tag; None = the bundled Shakespeare plays
    units: int | None = None  # size of each hidden state s_t (task default if None)
    layers: int | None = None  # number of stacked recurrent layers
    bidirectional: bool | None = None  # tag/classify only: forward + backward recurrences
    activation: str = "tanh"  # f in s_t = f(U x_t + W s_{t-1} + b)
    dropout: float = 0.0  # dropout between stacked layers (tag/classify)
    optimizer: str = "adam"  # adam, or sgd (the article's; see momentum/nesterov)
    lr: float | None = None  # peak learning rate
    momentum: float = 0.0  # sgd momentum (0 = plain SGD)
    nesterov: bool = False  # sgd: Nesterov momentum
    lr_decay: str = "cosine"  # cosine: decay to 2% of lr over the run; none: constant
    warmup_steps: int = 100  # raise the lr linearly from 0 over this many steps (0 = off)
    clip_norm: float = 1.0  # clip gradients to this global norm (mitigates exploding gradients)
    batch_size: int | None = None  # lm: parallel streams; tag/classify: sequences per batch
    seq_len: int | None = None  # lm: TBPTT length; tag: max characters per line; classify: lines
    steps: int | None = None  # optimiser steps; None = as many as fit in `minutes`
    minutes: float | None = None  # training time budget when `steps` is None
    val_fraction: float = 0.1  # held-out tail of the text (lm/tag)
    eval_every: int = 500  # evaluate on the validation set every N steps (and at the end)
    eval_batches: int = 0  # cap on validation batches per evaluation (0 = all)
    checkpoint_every: int = 200  # write a checkpoint every N steps (and at the end)
    sample_every: int = 500  # lm: print a generated sample every N steps (0 = never)
    sample_length: int = 300  # lm: characters per printed sample
    temperature: float = 0.8  # lm: sampling temperature of printed samples
    seed: int = 0  # seeds weights, data order and sampling: same seed, same run
    jit_compile: bool = True  # compile the training step with XLA (faster on CPU here)
    skip_nonfinite: bool = False  # skip a step with a non-finite loss/gradient instead of stopping
    progress: bool = True  # show a live progress bar
    strategy: str = (
        "default"  # default (one device), mirrored (this machine), multi-worker (TF_CONFIG)
    )
    replicas: int = 2  # mirrored without a GPU: split the CPU into this many logical devices
    worker_timeout: float = 120.0  # multi-worker: seconds to wait for the cluster before giving up

    def resolved(self):
        """A copy with task defaults filled in, validated."""
        if self.task not in TASKS:
            raise ConfigError(f"Unknown task {self.task!r}; choose one of {', '.join(TASKS)}.")
        filled = {k: v for k, v in TASK_DEFAULTS[self.task].items() if getattr(self, k) is None}
        if self.steps is not None:
            filled.pop("minutes", None)
        cfg = dataclasses.replace(self, **filled)
        cfg.validate()
        return cfg

    def validate(self):
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}; choose adam or sgd.")
        if self.lr_decay not in DECAYS:
            raise ConfigError(f"Unknown lr decay {self.lr_decay!r}; choose cosine or none.")
        for name in (
            "units",
            "layers",
            "batch_size",
            "seq_len",
            "eval_every",
            "checkpoint_every",
            "sample_length",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag} must be a positive integer, got {value!r}.")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"--steps must be a positive integer, got {self.steps!r}.")
        if self.steps is None and not (self.minutes and self.minutes > 0):
            raise ConfigError("Give a positive --steps or --minutes.")
        if not self.lr > 0 or not 0 <= self.momentum < 1 or not self.clip_norm > 0:
            raise ConfigError("--lr and --clip-norm must be > 0, --momentum in [0, 1).")
        if not 0 <= self.dropout < 1 or not 0 < self.val_fraction < 1:
            raise ConfigError("--dropout must be in [0, 1) and --val-fraction in (0, 1).")
        if self.task == "lm" and self.bidirectional:
            raise ConfigError(
                "A language model cannot be bidirectional: the backward "
                "direction would see the character it must predict. "
                "Use --bidirectional with --task tag or classify."
            )
        if self.strategy not in ("default", "mirrored", "multi-worker"):
            raise ConfigError(
                f"Unknown strategy {self.strategy!r}; choose default, mirrored or multi-worker."
            )
        if self.strategy == "mirrored" and self.batch_size % max(self.replicas, 1):
            raise ConfigError(f"--batch-size {self.batch_size} must be divisible by --replicas.")
        if not self.temperature > 0:
            raise ConfigError(f"--temperature must be > 0, got {self.temperature!r}.")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"Unknown config fields {sorted(unknown)}: not a run of this version."
            )
        return cls(**data)
