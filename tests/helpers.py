"""Shared pieces of the tests: real text files and tiny training configs."""

from rnn_keras.data import plays as corpus
from rnn_keras_common.config import TrainConfig


def play_text(folder, play, chars):
    """The first `chars` characters of one bundled play, normalised, as a user's --text file."""
    path = folder / f"{play}.txt"
    source = next(p for _, p in corpus.play_files() if p.stem == play)
    path.write_text(corpus.normalise_play(source.read_text())[:chars], encoding="utf-8")
    return str(path)


def tiny(**overrides):
    """A TrainConfig's fields for a run of seconds: small model, no XLA, few evaluations."""
    return {
        "units": 16,
        "layers": 1,
        "batch_size": 4,
        "seq_len": 10,
        "eval_every": 5,
        "checkpoint_every": 1,
        "warmup_steps": 2,
        "sample_every": 0,
        "progress": False,
        "jit_compile": False,
        "eval_batches": 2,
        **overrides,
    }


def tiny_flags(**overrides):
    """`train.py` flags for `tiny(**overrides)`, no ONNX export; a None leaves a flag out."""
    flags = ["--no-export"]
    for key, value in tiny(**overrides).items():
        flag = "--" + key.replace("_", "-")
        if value is None:  # a flag the task does not read (train.py refuses those)
            continue
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags += [flag, str(value)]
    return flags


def cli_flags(text, run_dir, steps, **overrides):
    """`train.py` flags for a tiny run of `steps` on `text` into `run_dir`."""
    return [
        "--text",
        str(text),
        "--run-dir",
        str(run_dir),
        "--steps",
        str(steps),
        *tiny_flags(**overrides),
    ]


def exploding(text, base, **overrides):
    """SGD at lr 1e38 on `base` fields: the weights overflow in a few steps, the loss turns NaN."""
    return TrainConfig(text=text, optimizer="sgd", lr=1e38, clip_norm=1e3, **{**base, **overrides})
