"""Reliability, round 2: flags checked before anything is touched, one writer per run
folder, an overwrite that loses nothing until the new run starts, texts without a line
break, and a checkpoint before every evaluation."""

import dataclasses
import math
import os
import signal
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_keras.train import checkpoint, runs, training
from rnn_keras_common import config
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import ConfigError, TrainConfig
from tests.helpers import cli_flags, play_text, tiny

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
ANY_STRING = ("text", "data", "val_data", "text_column", "label_column")  # paths, column names


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return play_text(tmp_path_factory.mktemp("text"), "macbeth", 20000)


def out_of_range(name):
    """Values `name` must refuse: outside its range or choices, non-finite, wrong type."""
    bad = [st.just([1]), st.just({"a": 1}), st.text(max_size=3).map(lambda s: s + "\u00e9")]
    if name in config.CHOICES:
        bad.append(st.text(min_size=1, max_size=8).filter(lambda s: s not in config.CHOICES[name]))
    if name in config.RANGES:
        low, high, low_in, high_in = config.RANGES[name]
        if low is not None:
            bad.append(st.just(low - 1 if low_in else low))
            bad.append(st.integers(max_value=low - 1) if low_in else st.just(low))
        if high is not None:
            bad.append(st.just(high + 1 if high_in else high))
        if FIELDS[name].type in (float, float | None):
            bad.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(*bad)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_field_refuses_bad_values_with_a_config_error(data):
    name = data.draw(st.sampled_from(sorted(FIELDS)))
    if FIELDS[name].type in (bool, bool | None):
        value = data.draw(st.sampled_from([1, "yes", [True]]))
    elif name in ANY_STRING:
        value = data.draw(st.sampled_from([1, [True], 2.5]))
    else:
        value = data.draw(out_of_range(name))
    with pytest.raises(ConfigError):
        TrainConfig(**{name: value}).resolved()


def test_bad_flags_touch_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    for flags in (
        ["--activation", "softplus"],
        ["--warmup-steps", "-1"],
        ["--seed", "-2"],
        ["--minutes", "nan"],
        ["--sample-every", "-1"],
        ["--temperature", "inf"],
    ):
        assert train.cli([*flags, "--run-dir", str(run)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and flags[0] in err and err.count("\n") == 1
    assert not run.exists()


def test_help_shows_the_allowed_values(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "{tanh,sigmoid,relu,linear}" in out and "[0, 4294967295]" in out


def test_a_second_writer_is_refused(tmp_path, text, capsys):
    run = tmp_path / "run"
    with runs.locked(run):
        assert train.cli(cli_flags(text, run, 2)) == 2
    err = capsys.readouterr().err
    assert f"in use by another training process (pid {os.getpid()})" in err
    assert not runs.is_run(run)
    assert train.cli(cli_flags(text, run, 2)) == 0  # free again once released


def test_a_lock_left_by_a_killed_process_is_stale(tmp_path, text):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, '.');"
            "from rnn_keras.train import runs\n"
            f"with runs.locked({str(run)!r}):\n print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(checkpoint.CheckpointError, match=f"pid {holder.pid}"):
        with runs.locked(run):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with runs.locked(run):  # the kernel dropped the dead process's lock
        assert (run / runs.LOCK).read_text() == str(os.getpid())


def test_overwrite_loses_nothing_until_the_new_run_starts(tmp_path, text, monkeypatch):
    run = tmp_path / "run"
    assert train.cli(cli_flags(text, run, 3)) == 0
    (run / "model.onnx").write_bytes(b"old export")
    before = sorted(p.name for p in run.iterdir())
    # a typo: refused before anything is touched
    assert train.cli([*cli_flags(text, run, 3), "--overwrite", "--activation", "tanhh"]) == 2
    assert sorted(p.name for p in run.iterdir()) == before
    # a start that fails after the folder was prepared: the old run comes back whole

    def broken(*args):
        raise MemoryError

    monkeypatch.setattr(training, "_start_new", broken)
    assert train.cli([*cli_flags(text, run, 3), "--overwrite"]) == 2
    assert sorted(p.name for p in run.iterdir()) == before
    assert checkpoint.load(run)[3]["step"] == 3
    monkeypatch.undo()
    # a new run that starts: nothing of the old one stays beside it
    assert train.cli([*cli_flags(text, run, 2), "--overwrite"]) == 0
    names = {p.name for p in run.iterdir()}
    assert "model.onnx" not in names and runs.ASIDE not in names
    assert checkpoint.load(run)[3]["step"] == 2


def test_a_text_without_line_breaks_trains_samples_and_resumes(tmp_path):
    path = tmp_path / "one_line.txt"
    path.write_text("abcde fghij " * 400, encoding="utf-8")
    cfg = TrainConfig(text=str(path), steps=4, **tiny(sample_every=2, sample_length=20))
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run")
    assert trainer.sample(20)[0] == "a"
    trainer, result = training.resume(tmp_path / "run", dataclasses.replace(cfg, steps=6))
    assert result["steps"] == 6


def test_a_failing_evaluation_keeps_the_trained_weights(tmp_path, text, monkeypatch):
    def fail(self):
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(training.Trainer, "evaluate", fail)
    cfg = TrainConfig(text=text, steps=3, **tiny(eval_every=3, checkpoint_every=3))
    with pytest.raises(RuntimeError, match="evaluation broke"):
        training.train_and_evaluate(cfg, tmp_path / "run")
    assert checkpoint.load(tmp_path / "run")[3]["step"] == 3
