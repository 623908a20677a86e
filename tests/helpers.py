"""Shared pieces of the tests: real text files, users' labelled files with a rule to learn,
and tiny training configs."""

import numpy as np

from rnn_keras.data import plays as corpus
from rnn_keras_common import train_cli as train
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


LETTERS = "abcdefgh"


def cli_err(argv, capsys):
    """`train.py`'s exit code and what it printed to stderr."""
    code = train.cli(argv)
    out = capsys.readouterr()
    return code, out.err


def rule_tsv(path, n=240, seed=0):
    """label = whether the text holds the word "ox": learnable, only by reading the passage.

    Words come from a closed list of 40, so that validation texts hold no word unseen in
    training (an unseen word reads as `<unk>`, whose row no training example ever moved).
    """
    rng = np.random.default_rng(seed)
    vocabulary = ["".join(rng.choice(list(LETTERS), rng.integers(2, 6))) for _ in range(40)]
    lines = []
    for i in range(n):
        words = list(rng.choice(vocabulary, 4))
        if i % 2:
            words.insert(rng.integers(len(words) + 1), "ox")
        lines.append(" ".join(words) + "\t" + ("has_x" if i % 2 else "no_x"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rule_conll(path, n=160, seed=0):
    """tag = NUM for a number, CAP for a capitalised word, LOW otherwise."""
    rng = np.random.default_rng(seed)
    words = ["Anna", "Bob", "cat", "dog", "runs", "sees", "12", "7", "Paris", "home"]
    tag = {w: "NUM" if w.isdigit() else ("CAP" if w[0].isupper() else "LOW") for w in words}
    sentences = []
    for _ in range(n):
        chosen = rng.choice(words, rng.integers(3, 8))
        sentences.append("\n".join(f"{w} X {tag[w]}" for w in chosen))
    path.write_text("-DOCSTART- -X- O\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    return path


def data_flags(data, run, steps, *extra):
    """A tiny run on a user's `--data` file, evaluated once at the end on all of validation."""
    return [
        *["--data", str(data), "--run-dir", str(run), "--steps", str(steps)],
        *tiny_flags(
            units=16, batch_size=16, eval_every=steps, eval_batches=0, warmup_steps=10, seq_len=None
        ),
        *["--lr", "0.01", *extra],
    ]


def final_metric(run, name):
    """`name` in the last row of the run's metrics.csv."""
    lines = (run / "metrics.csv").read_text().splitlines()
    return float(dict(zip(lines[0].split(","), lines[-1].split(",")))[name])
