"""Faults survived: kills, a crash inside a checkpoint write, a full disk, an interrupted export."""

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from export import api
from rnn_keras.train import checkpoint, training
from rnn_keras_common import stops
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import TrainConfig
from tests.helpers import cli_flags, exploding, play_text, tiny

TINY = tiny()


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return play_text(tmp_path_factory.mktemp("text"), "macbeth", 20000)


def cli_args(text, run_dir, steps):
    return cli_flags(text, run_dir, steps)


def wait_for_checkpoint_after(run_dir, step, proc, timeout=120):
    """Until `proc` has written a checkpoint later than `step` (or has ended)."""
    pointer, deadline = run_dir / "checkpoints" / checkpoint.LATEST, time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if pointer.exists() and int(pointer.read_text().split("-")[1]) > step:
            return
        time.sleep(0.01)


def final_losses(run_dir):
    _, _, _, state = checkpoint.load(run_dir)
    return state["losses"]


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_matches_uninterrupted_run(tmp_path, text):
    steps = 150
    full = tmp_path / "full"  # uninterrupted, in this process: one TensorFlow start fewer
    assert train.cli(cli_args(text, full, steps)) == 0
    run = tmp_path / "killed"
    rng = np.random.default_rng(0)
    command = [sys.executable, "train.py", *cli_args(text, run, steps)]
    killed_at = []
    for _ in range(3):  # kill at random moments; checkpoints are written every step
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # once this process has written a checkpoint (so it is mid-training, whatever the
        # machine's speed), kill it a random moment later: mid-step or mid-write
        wait_for_checkpoint_after(run, killed_at[-1] if killed_at else 0, proc)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        model, _, _, state = checkpoint.load(run)  # loadable after every kill
        assert all(np.isfinite(w).all() for w in model.get_weights())
        assert 0 < state["step"] <= steps
        killed_at.append(state["step"])
        command = [sys.executable, "train.py", "--resume", str(run), "--no-export", "--no-progress"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    assert killed_at[-1] < steps, killed_at  # the kills did land mid-run
    np.testing.assert_allclose(final_losses(run), final_losses(full), rtol=1e-6)


def test_sigterm_stops_the_run_with_ctrl_cs_line_and_keeps_its_checkpoint(tmp_path, text):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "train.py", *cli_args(text, run, 100_000)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_checkpoint_after(run, 2, proc)  # mid-training, whatever the machine's speed
    proc.send_signal(signal.SIGTERM)  # what `kill` and batch schedulers send
    err = proc.communicate(timeout=120)[1].strip().splitlines()
    kept = checkpoint.load(run)[3]["step"]
    assert proc.returncode == 130 and kept > 2
    assert err[-1].startswith(f"error: interrupted; the checkpoint of step {kept} is intact")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_that_c_code_swallowed_still_stops_the_run(tmp_path, text, monkeypatch, signum):
    original = training.Trainer.train_one

    def swallowing(self):
        out = original(self)
        if self.step == 3:
            try:
                os.kill(os.getpid(), signum)
                time.sleep(5)  # the handler raises here, at once
            except KeyboardInterrupt:
                pass  # as TensorFlow's EagerTensor.numpy did, about one kill in sixty
        return out

    monkeypatch.setattr(training.Trainer, "train_one", swallowing)
    before = signal.getsignal(signum)
    with stops.handled(), pytest.raises(KeyboardInterrupt):
        training.train_and_evaluate(TrainConfig(text=text, steps=50, **TINY), tmp_path / "run")
    assert checkpoint.load(tmp_path / "run")[3]["step"] == 3  # stopped after that step
    assert signal.getsignal(signum) is before
    stops.check()  # nothing left over for the next run


def test_crash_inside_a_checkpoint_write_keeps_the_previous_one(tmp_path, text, monkeypatch):
    cfg = TrainConfig(text=text, steps=4, **TINY)
    training.train_and_evaluate(cfg, tmp_path / "run")
    before = checkpoint.latest_dir(tmp_path / "run")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed between writing the model and the optimiser

    model, optimizer = _model_and_optimizer(tmp_path / "run")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path / "run", 99, model, optimizer, [], {})
    monkeypatch.undo()
    assert checkpoint.latest_dir(tmp_path / "run") == before
    assert checkpoint.load(tmp_path / "run")[3]["step"] == 4
    assert not list((tmp_path / "run" / "checkpoints").glob(".step-*"))  # no debris


def test_a_stop_inside_a_checkpoint_write_comes_out_once_it_is_whole(tmp_path, text, monkeypatch):
    training.train_and_evaluate(TrainConfig(text=text, steps=4, **TINY), tmp_path / "run")
    model, optimizer = _model_and_optimizer(tmp_path / "run")
    write = np.savez

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, mid-checkpoint
        return write(*args, **kwargs)

    monkeypatch.setattr(np, "savez", signalled)
    with stops.handled(), pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path / "run", 99, model, optimizer, [], {})
    monkeypatch.undo()
    assert checkpoint.load(tmp_path / "run")[3]["step"] == 99


def test_an_error_raised_over_a_stop_ends_the_cli_as_the_stop(capsys):
    from rnn_keras_common.cli import run_cli

    def main():
        try:
            raise KeyboardInterrupt
        finally:  # as numpy's np.savez closing a zip file the stop left open
            raise ValueError("Can't close the ZIP file while there is an open writing handle")

    assert run_cli(main, lambda: (), "kept") == 130
    assert capsys.readouterr().err == "\nerror: interrupted; kept.\n"
    with pytest.raises(ValueError, match="plain"):  # other errors stay what they are
        run_cli(lambda: int("plain"), lambda: ())


def _model_and_optimizer(run_dir):
    model, optimizer_values, _, _ = checkpoint.load(run_dir)
    from rnn_keras.train.steps import make_optimizer

    optimizer = make_optimizer(TrainConfig(lr=1e-3))
    optimizer.build(model.trainable_variables)
    return model, optimizer


def test_disk_full_is_a_clear_error_and_the_previous_checkpoint_survives(
    tmp_path, text, capsys, monkeypatch
):
    run = tmp_path / "run"
    original, pointer_writes = checkpoint.atomic_write_bytes, []

    def full_disk_after_three_checkpoints(path, payload):
        if path.name == checkpoint.LATEST:
            pointer_writes.append(path)
            if len(pointer_writes) > 4:  # the start's checkpoint and three periodic ones
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return original(path, payload)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", full_disk_after_three_checkpoints)
    code = train.cli(cli_args(text, run, 6))
    err = capsys.readouterr().err
    assert (
        code == 2
        and "No space left on device" in err
        and "the checkpoint of step 3 is intact; go on with" in err
    )
    monkeypatch.undo()
    assert checkpoint.load(run)[3]["step"] == 3


def test_unwritable_run_folder(tmp_path, text, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = train.cli(cli_args(text, blocker / "run", 2))
    assert code == 2 and "Cannot write in" in capsys.readouterr().err


def test_nan_weights_are_never_written(tmp_path, text):
    cfg = exploding(text, TINY, steps=30, warmup_steps=0)
    with pytest.raises(training.NonFiniteError, match="Step"):
        training.train_and_evaluate(cfg, tmp_path / "run")
    for keras_file in (tmp_path / "run").rglob("*.keras"):
        from rnn_keras.train import saving

        assert all(np.isfinite(w).all() for w in saving.load_model(keras_file).get_weights())


def test_interrupted_export_leaves_no_half_written_onnx(tmp_path, text, monkeypatch):
    cfg = TrainConfig(text=text, steps=3, **TINY)
    training.train_and_evaluate(cfg, tmp_path / "run")
    api.export_run(tmp_path / "run")
    before = (tmp_path / "run" / "model.onnx").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api.parity, "check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.export_run(tmp_path / "run")
    assert (tmp_path / "run" / "model.onnx").read_bytes() == before  # the old file, whole
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".model")]
