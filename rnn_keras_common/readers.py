"""Which runs read each setting: a flag the run would silently ignore is refused.

`python train.py --task caption --layers 3` used to train the one-layer decoder and say
nothing; a user finds out minutes later, if ever. The command line now refuses a given
value that the run would not read (a value equal to the task's default is harmless and
passes, so one set of flags can still serve several tasks when it leaves these out).
Library code that builds a `TrainConfig` is not checked: runs saved by older versions
must stay readable.
"""

import dataclasses

from rnn_keras_common.config import COMMON_DEFAULTS, TASK_DEFAULTS, ConfigError, TrainConfig

SEQ2SEQ = ("translate", "caption")


def _plays(c):  # the bundled plays, classify's fixed split of 6-line passages
    return c.task == "classify" and not c.data


def _word_vocab(c):  # a vocabulary of whitespace tokens built from the training data
    return (c.task == "classify" or (c.task == "translate" and c.data)) and c.unit == "word"


# field: (the runs that read it, as the error names them; does run `c` read it?[; is the
# value harmless where unread? by default: when it is the task's own default])
READERS = {
    "classify_by": ("--task classify without --data (the bundled plays)", _plays),
    "pool": ("--task classify", lambda c: c.task == "classify"),
    "text_column": ("--task classify --data", lambda c: c.task == "classify" and bool(c.data)),
    "label_column": ("--task classify --data", lambda c: c.task == "classify" and bool(c.data)),
    "unit": (
        "--task classify, and --task translate with --data",
        lambda c: c.task == "classify" or (c.task == "translate" and bool(c.data)),
    ),
    "min_count": (
        "word vocabularies (--unit word with --task classify or translate --data) and "
        "--task tag --data",
        lambda c: _word_vocab(c) or (c.task == "tag" and bool(c.data)),
    ),
    "max_vocab": (
        "--task classify --unit word and --task translate --data",
        lambda c: (
            (c.task == "classify" and c.unit == "word") or (c.task == "translate" and bool(c.data))
        ),
    ),
    "max_tokens": ("--task classify", lambda c: c.task == "classify"),
    "attention": ("--task translate or caption", lambda c: c.task in SEQ2SEQ),
    "beam": ("--task translate or caption", lambda c: c.task in SEQ2SEQ),
    "max_output": ("--task translate or caption", lambda c: c.task in SEQ2SEQ),
    "stress": (
        "--task translate without --data (CMUdict)",
        lambda c: c.task == "translate" and not c.data,
    ),  # fmt: skip
    "target_units": ("--task translate --data", lambda c: c.task == "translate" and bool(c.data)),
    "seq_len": (
        "--task lm, and tag and classify without --data (translate, caption and --data "
        "files are read in whole examples)",
        lambda c: c.task == "lm" or (c.task == "tag" and not c.data) or _plays(c),
    ),
    "layers": (
        "tasks other than caption, whose decoder has one layer",
        lambda c: c.task != "caption",
    ),
    "dropout": (
        "--task classify, translate and caption, and lm and tag with --layers 2 or more (it "
        "drops what one layer passes to the next)",
        lambda c: c.task in ("classify", *SEQ2SEQ) or (c.task in ("lm", "tag") and c.layers > 1),
    ),
    "val_fraction": (
        "runs that split their validation set off: not classify on the plays (a fixed split), "
        "nor runs given --val-data",
        lambda c: not _plays(c) and not c.val_data,
    ),  # fmt: skip
    "val_data": (
        "--task lm and tag, and classify, translate or caption with --data",
        lambda c: c.task in ("lm", "tag") or bool(c.data),
    ),
    "sample_length": ("--task lm", lambda c: c.task == "lm"),
    "temperature": ("--task lm, for its printed samples", lambda c: c.task == "lm"),
    # "never sample" is true of every run that has no samples to print
    "sample_every": ("--task lm", lambda c: c.task == "lm", lambda c: c.sample_every == 0),
    # XLA is the default, yet a distributed step never has it: asked for, it is refused
    "jit_compile": (
        "--strategy default (the distributed step runs without XLA)",
        lambda c: c.strategy == "default",
        lambda c: not c.jit_compile,
    ),
    "momentum": ("--optimizer sgd", lambda c: c.optimizer == "sgd"),
    "nesterov": ("--optimizer sgd", lambda c: c.optimizer == "sgd"),
    "replicas": ("--strategy mirrored", lambda c: c.strategy == "mirrored"),
    "worker_timeout": ("--strategy multi-worker", lambda c: c.strategy == "multi-worker"),
}


def default(task, name):
    """The value field `name` takes in a `task` run when its flag is left out."""
    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return {**fields, **COMMON_DEFAULTS, **TASK_DEFAULTS[task]}.get(name)


def _shown(name, value):
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else "--no-" + flag[2:]
    return f"{flag} {value}"


def unread(cfg, given):
    """The given fields `cfg`'s run would not read, with a value that is not harmless."""

    def harmless(name):
        rule = READERS[name][2:]
        return rule[0](cfg) if rule else getattr(cfg, name) == default(cfg.task, name)

    return [n for n in given if n in READERS and not READERS[n][1](cfg) and not harmless(n)]


def refuse_unread(cfg, given):
    """`ConfigError` naming each given flag this run would silently ignore, and who reads it."""
    found = unread(cfg, given)
    if not found:
        return
    named = " and ".join(
        f"{_shown(n, getattr(cfg, n))} (used only by {READERS[n][0]})" for n in found
    )
    them = "them" if len(found) > 1 else "it"
    raise ConfigError(
        f"this --task {cfg.task} run would ignore {named}. Leave {them} out, or change the run "
        f"so that it reads {them}."
    )
