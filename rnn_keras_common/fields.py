"""What each `TrainConfig` field may hold (choices, numeric ranges) and the checks that
say, in one `ConfigError` line, which flag is wrong and what it takes."""

import math
import typing

TASKS = ("lm", "tag", "classify", "translate", "caption")
OPTIMIZERS = ("adam", "sgd")
DECAYS = ("cosine", "none")
# the activations whose f' the fused BPTT knows and that XLA compiles (others are refused)
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
STRATEGIES = ("default", "mirrored", "multi-worker")
POOLS = ("last", "mean", "max", "max_mean")  # rnn_keras.layers.pool.MODES
CLASSIFY_BY = ("play", "category")
UNITS = ("char", "word")
TARGET_UNITS = ("words", "chars")
# the allowed values of each choice field, shown by `train.py --help`
CHOICES = dict(
    task=TASKS,
    optimizer=OPTIMIZERS,
    lr_decay=DECAYS,
    activation=ACTIVATIONS,
    strategy=STRATEGIES,
    pool=POOLS,
    classify_by=CLASSIFY_BY,
    unit=UNITS,
    target_units=TARGET_UNITS,
)
# files (or folders): an empty value, e.g. an unset shell variable, is refused, not ignored
PATHS = ("text", "data", "val_data")
# numeric ranges: (low, high, low_inclusive, high_inclusive); None = unbounded
RANGES = dict(
    units=(1, 65536, True, True),
    layers=(1, 64, True, True),
    dropout=(0.0, 1.0, True, False),
    recurrent_gain=(0.0, None, False, None),
    embedding=(0, 1 << 16, True, True),
    lr=(0.0, None, False, None),
    momentum=(0.0, 1.0, True, False),
    warmup_steps=(0, None, True, None),
    clip_norm=(0.0, None, False, None),
    label_smoothing=(0.0, 1.0, True, False),
    batch_size=(1, 1 << 16, True, True),
    seq_len=(1, 1 << 16, True, True),
    steps=(1, None, True, None),
    minutes=(0.0, 60.0 * 24 * 365, False, True),
    val_fraction=(0.0, 1.0, False, False),
    eval_every=(1, None, True, None),
    eval_batches=(0, None, True, None),
    checkpoint_every=(1, None, True, None),
    sample_every=(0, None, True, None),
    sample_length=(1, 1 << 20, True, True),
    temperature=(0.0, 100.0, False, True),
    seed=(0, 2**32 - 1, True, True),
    replicas=(1, 1024, True, True),
    worker_timeout=(0.0, 86400.0, False, True),
    min_count=(1, None, True, None),
    max_vocab=(1, 1 << 20, True, True),
    max_tokens=(1, 1 << 20, True, True),
    beam=(1, 256, True, True),
    max_output=(1, 1 << 12, True, True),
)


class ConfigError(ValueError):
    """A setting is out of range; the message names it and the fix."""


def flag(name):
    """`--some-flag` for the field `some_flag`."""
    return "--" + name.replace("_", "-")


def check_field(field, value):
    """One field against its annotation, `CHOICES` and `RANGES`; `ConfigError` otherwise."""
    kinds = [t for t in typing.get_args(field.type) if t is not type(None)] or [field.type]
    optional = type(None) in typing.get_args(field.type)
    if value is None:
        if optional:
            return
        raise ConfigError(f"{flag(field.name)} needs a value.")
    kind = kinds[0]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(
            f"{flag(field.name)} must be {kind.__name__}, got {value!r} ({type(value).__name__})."
        )
    if field.name in PATHS and not value.strip():
        raise ConfigError(f"{flag(field.name)} is empty; pass a path, or leave the flag out.")
    if field.name in CHOICES and value not in CHOICES[field.name]:
        raise ConfigError(
            f"Unknown {field.name.replace('_', ' ')} {value!r}; choose one of "
            f"{', '.join(CHOICES[field.name])} ({flag(field.name)})."
        )
    if field.name in RANGES:
        _check_range(field.name, value, *RANGES[field.name])


def _check_range(name, value, low, high, low_in, high_in):
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{flag(name)} must be a finite number, got {value!r}.")
    below = low is not None and (value < low if low_in else value <= low)
    above = high is not None and (value > high if high_in else value >= high)
    if below or above:
        lo, hi = _interval(low, high, low_in, high_in)
        bound = low if low is not None else high  # the field's kind, not the value's (lr=-1)
        what = "an integer" if isinstance(bound, int) else "a number"
        what = "a positive integer" if (low, low_in) == (1, True) else what
        raise ConfigError(f"{flag(name)} must be {what} in {lo}, {hi}, got {value!r}.")


def allowed(name):
    """The allowed values of field `name` as `--help` shows them, or None."""
    if name in CHOICES:
        return "{" + ",".join(CHOICES[name]) + "}"
    if name in RANGES:
        return "{}, {}".format(*_interval(*RANGES[name]))
    return None


def _interval(low, high, low_in, high_in):
    lo = "(-inf" if low is None else ("[" if low_in else "(") + str(low)
    hi = "inf)" if high is None else str(high) + ("]" if high_in else ")")
    return lo, hi
