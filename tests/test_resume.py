"""`--resume` that can extend a run, run folders that do not depend on where the text
was, exact resume with dropout, and environment errors as one line."""

import errno
import json
import math
import pathlib
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from export import __main__ as export_cli
from export import infer
from rnn_keras.train import checkpoint, training
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import ConfigError, TrainConfig
from rnn_keras_common.run_config import for_resume, read_run_config
from tests.helpers import cli_flags, play_text, tiny, tiny_flags
from tests.test_faults import wait_for_checkpoint_after

SMALL = dict(units=8, batch_size=2, seq_len=5, eval_batches=1)


def cli(argv, capsys):
    code = train.cli(argv)
    return code, capsys.readouterr().err


@pytest.fixture
def finished(tmp_path, capsys):
    """A finished 6-step LM run, its text in its own folder."""
    text = play_text(tmp_path, "hamlet", 6000)
    run = tmp_path / "run"
    assert cli(cli_flags(text, run, 6, **SMALL), capsys)[0] == 0
    return run, text


def saved_config(run):
    return json.loads((run / "config.json").read_text())


def test_flags_that_define_the_model_are_refused_naming_them(finished, capsys):
    run, _ = finished
    before = checkpoint.latest_dir(run)
    code, err = cli(["--resume", str(run), "--units", "32", "--layers", "2"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "--units (the run has 8)" in err and "--layers (the run has 1)" in err
    assert "--steps" in err  # and says what may change
    assert checkpoint.latest_dir(run) == before and saved_config(run)["units"] == 8
    code, err = cli(["--resume", str(run), "--run-dir", str(run)], capsys)
    assert code == 2 and "--run-dir cannot go with --resume" in err


def test_a_finished_run_is_extended_by_a_new_cosine_segment(finished, capsys):
    run, _ = finished
    code, err = cli(["--resume", str(run), "--no-export"], capsys)
    assert code == 2 and "has done 6 of its 6 steps" in err and "--steps N with N > 6" in err
    code, err = cli(["--resume", str(run), "--steps", "4", "--no-export"], capsys)
    assert code == 2 and "--steps 4 is not more than that" in err
    assert cli(["--resume", str(run), "--steps", "10", "--lr", "0.002"], capsys)[0] == 0
    _, _, _, state = checkpoint.load(run)
    assert len(state["losses"]) == 10 and state["segment_start"] == 6
    cfg = TrainConfig(**saved_config(run))
    assert cfg.steps == 10 and cfg.lr == 0.002  # the run's config says what it now is
    rates = [training.learning_rate(cfg, s, start=6) for s in range(6, 11)]
    assert rates[0] == pytest.approx(0.002)  # a warm restart at --lr, no warm-up
    assert rates[-1] == pytest.approx(0.002 * 0.02)  # down to 2% at the new end
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert (run / "model.onnx").is_file()  # and the extended run was exported


def test_minutes_extend_a_run_by_a_time_budget(finished, capsys):
    run, _ = finished
    assert cli(["--resume", str(run), "--minutes", "0.01", "--no-export"], capsys)[0] == 0
    steps = TrainConfig(**saved_config(run)).steps
    assert steps > 6 and len(checkpoint.load(run)[3]["losses"]) == steps


def test_minutes_on_resume_are_more_minutes_even_the_runs_own_budget(tmp_path, capsys):
    text, run = play_text(tmp_path, "hamlet", 6000), tmp_path / "run"
    flags = tiny_flags(**SMALL, checkpoint_every=10**4, eval_every=10**4)
    timed = ["--text", str(text), "--run-dir", str(run), "--minutes", "0.01", *flags]
    assert cli(timed, capsys)[0] == 0  # as `python train.py`, then the same budget again
    planned = TrainConfig(**saved_config(run)).steps
    assert train.cli(["--resume", str(run), "--minutes", "0.01", "--no-export"]) == 0
    steps = TrainConfig(**saved_config(run)).steps
    assert steps > planned and len(checkpoint.load(run)[3]["losses"]) == steps
    more = f"Planned {steps:,} steps ({steps - planned:,} more) for the 0.01-minute budget"
    assert more in capsys.readouterr().out
    saved = read_run_config(run)
    assert for_resume(saved, {}, run).steps == steps  # no --minutes: the plan stands
    assert for_resume(saved, {"minutes": 0.01, "steps": steps + 5}, run).steps == steps + 5


def test_a_run_stopped_before_its_first_periodic_checkpoint_resumes(tmp_path, monkeypatch, capsys):
    text, run = play_text(tmp_path, "hamlet", 6000), tmp_path / "run"
    cfg = TrainConfig(text=text, steps=6, **tiny(**SMALL, checkpoint_every=10**4))
    with monkeypatch.context() as m:  # killed as soon as the run has started
        m.setattr(training.Trainer, "run", lambda self: {})
        training.train_and_evaluate(cfg, run)
    assert checkpoint.load(run)[3]["step"] == 0
    assert cli(["--resume", str(run), "--no-export"], capsys)[0] == 0
    assert len(checkpoint.load(run)[3]["losses"]) == 6
    shutil.rmtree(run / "checkpoints")  # a folder whose run never wrote one
    code, err = cli(["--resume", str(run)], capsys)
    assert code == 2 and f"--run-dir {run} --overwrite, without --resume" in err


def ctrl_c_at_step(step, monkeypatch):
    """Training stops at `step` as if Ctrl-C were pressed (undone by `monkeypatch.undo()`)."""
    original = training.Trainer.train_one

    def train_one(self):
        if self.step == step:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(training.Trainer, "train_one", train_one)


def test_more_steps_on_an_unfinished_run_move_the_end_of_its_schedule(tmp_path, monkeypatch):
    text = play_text(tmp_path, "hamlet", 6000)
    cfg = TrainConfig(text=text, steps=8, **tiny(**SMALL))
    ctrl_c_at_step(5, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        training.train_and_evaluate(cfg, tmp_path / "run")
    monkeypatch.undo()
    trainer, result = training.resume(tmp_path / "run", TrainConfig(**{**vars(cfg), "steps": 12}))
    assert result["steps"] == 12 and trainer.segment_start == 0  # the same cosine, longer
    assert trainer.lr() == pytest.approx(training.learning_rate(trainer.cfg, 12))


def test_ctrl_c_names_the_checkpoint_left_and_the_command_that_goes_on(
    tmp_path, capsys, monkeypatch
):
    text = play_text(tmp_path, "hamlet", 6000)
    run = tmp_path / "my run"
    ctrl_c_at_step(5, monkeypatch)
    flags = cli_flags(text, run, 8, **{**SMALL, "checkpoint_every": 2})
    code, err = cli(flags, capsys)
    assert code == 130
    assert err.strip() == (
        f"error: interrupted; the checkpoint of step 4 is intact; go on with "
        f"`python train.py --resume '{run}'`."
    )
    monkeypatch.undo()
    assert cli(["--resume", str(run)], capsys)[0] == 0  # the command as printed
    assert len(checkpoint.load(run)[3]["losses"]) == 8


def test_a_run_folder_exports_and_resumes_after_its_text_moved(finished, capsys, tmp_path):
    run, text = finished
    moved = tmp_path / "elsewhere.txt"
    shutil.move(text, moved)
    assert export_cli.cli([str(run), "--out-dir", str(tmp_path / "onnx")]) == 0
    assert (tmp_path / "onnx" / "model.onnx").is_file()
    code = infer.cli([str(tmp_path / "onnx" / "step.onnx"), "--length", "5", "--compare", str(run)])
    assert code == 0 and "max abs difference" in capsys.readouterr().out
    code, err = cli(["--resume", str(run), "--steps", "8"], capsys)
    assert code == 2 and "is no longer there" in err and "--text PATH" in err
    assert cli(["--resume", str(run), "--steps", "8", "--text", str(moved)], capsys)[0] == 0
    assert saved_config(run)["text"] == str(moved)


def test_a_byte_order_mark_is_no_character_and_older_runs_that_hashed_it_resume(tmp_path, capsys):
    from rnn_keras.train import runs

    text = pathlib.Path(play_text(tmp_path, "hamlet", 6000))
    body = text.read_text(encoding="utf-8")
    text.write_text("\ufeff" + body, encoding="utf-8")  # Notepad's UTF-8
    run = tmp_path / "run"
    assert cli(cli_flags(text, run, 2, **SMALL), capsys)[0] == 0
    chars = json.loads((run / "vocab.json").read_text(encoding="utf-8"))["chars"]
    assert "\ufeff" not in chars and "\n" in chars  # the mark is not a character to learn
    data = json.loads((run / "data.json").read_text(encoding="utf-8"))
    assert data["sha256"] == runs.fingerprint(body)
    data["sha256"] = runs.fingerprint("\ufeff" + body)  # as a run of before hashed it
    (run / "data.json").write_text(json.dumps(data), encoding="utf-8")
    assert cli(["--resume", str(run), "--steps", "3"], capsys)[0] == 0
    data["sha256"] = runs.fingerprint(body + "x")  # other text is still refused
    (run / "data.json").write_text(json.dumps(data), encoding="utf-8")
    code, err = cli(["--resume", str(run), "--steps", "4"], capsys)
    assert code == 2 and "SHA-256 differs" in err


def test_windows_line_ends_are_read_as_lf_and_older_runs_that_hashed_them_resume(tmp_path, capsys):
    from rnn_keras.train import runs

    text = pathlib.Path(play_text(tmp_path, "hamlet", 6000))
    body = text.read_text(encoding="utf-8")
    valid = tmp_path / "valid.txt"
    text.write_bytes(body.replace("\n", "\r\n").encode())  # saved on Windows
    valid.write_bytes(body[:3000].replace("\n", "\r\n").encode())
    run = tmp_path / "run"
    assert cli([*cli_flags(text, run, 2, **SMALL), "--val-data", str(valid)], capsys)[0] == 0
    vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    assert "\r" not in vocab["chars"] and "\n" in vocab["chars"]  # no CR to learn or score
    data = json.loads((run / "data.json").read_text(encoding="utf-8"))
    assert (data["sha256"], data["val_sha256"]) == (
        runs.fingerprint(body),
        runs.fingerprint(body[:3000]),
    )
    for key, plain in (("sha256", body), ("val_sha256", body[:3000])):
        data[key] = runs.fingerprint(plain.replace("\n", "\r\n"))  # as a run of before
    (run / "data.json").write_text(json.dumps(data), encoding="utf-8")
    assert cli(["--resume", str(run), "--steps", "3"], capsys)[0] == 0
    vocab["chars"] = sorted([*vocab["chars"], "\r"])  # an LM of before learned CR
    (run / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    code, err = cli(["--resume", str(run), "--steps", "4"], capsys)
    assert code == 2 and "learned Windows line ends (CR, '\\r') as a character" in err


def test_an_export_older_than_the_runs_best_model_is_named_at_inference(finished, capsys):
    run, _ = finished
    assert export_cli.cli([str(run)]) == 0
    capsys.readouterr()
    assert infer.cli([str(run), "--length", "3"]) == 0
    assert "note:" not in capsys.readouterr().err  # fresh: nothing to say
    copy = shutil.copytree(run, run.parent / "copy")  # new mtimes, any order: still quiet
    assert infer.cli([str(copy), "--length", "3"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert train.cli(["--resume", str(run), "--steps", "12", "--no-export"]) == 0
    capsys.readouterr()  # trained further, not exported: best.keras is another file now
    assert infer.cli([str(run), "--length", "3"]) == 0
    err = capsys.readouterr().err
    assert f"note: {run / 'step.onnx'} was exported from an earlier state of the run" in err
    assert f"`python -m export {run}` writes it afresh" in err
    assert export_cli.cli([str(run)]) == 0 and infer.cli([str(run / "step.onnx")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_relative_text_path_is_saved_absolute(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    play_text(tmp_path, "hamlet", 6000)
    assert cli(cli_flags("hamlet.txt", "run", 2, **SMALL), capsys)[0] == 0
    assert saved_config(tmp_path / "run")["text"] == str(tmp_path / "hamlet.txt")


def test_export_errors_name_their_own_arguments(finished, tmp_path, capsys):
    run, _ = finished
    assert export_cli.cli([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere: no such folder" in err and "--resume" not in err and "--text" not in err
    (tmp_path / "empty").mkdir()
    assert export_cli.cli([str(tmp_path / "empty")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert export_cli.cli([str(run)]) == 0 and (run / "step.onnx").is_file()
    tagged = tmp_path / "tag"
    assert cli([*cli_flags(finished[1], tagged, 2, **SMALL), "--task", "tag"], capsys)[0] == 0
    for other in (tagged, tmp_path / "lm2"):
        if other.name == "lm2":  # the same task and text, another vocabulary
            (tmp_path / "y.txt").write_text("zzz yyy qqq\n" * 400, encoding="utf-8")
            assert cli(cli_flags(tmp_path / "y.txt", other, 2, **SMALL), capsys)[0] == 0
        code = infer.cli([str(run / "step.onnx"), "--compare", str(other)])
        out = capsys.readouterr()
        assert code == 2 and "this model does not belong to that run" in out.err
        assert out.out == ""  # refused before printing anything


def test_exact_resume_with_dropout_after_sigkill(tmp_path):
    text = play_text(tmp_path, "macbeth", 20000)
    flags = ["--task", "tag", "--layers", "2", "--dropout", "0.3", "--units", "16"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert train.cli([*cli_flags(text, full, 40), *flags]) == 0  # uninterrupted, in-process
    command = [sys.executable, "train.py", *cli_flags(text, cut, 40), *flags]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint_after(cut, 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = checkpoint.load(cut)[3]["step"]
    assert 10 < killed_at < 40, killed_at
    resume = [sys.executable, "train.py", "--resume", str(cut), "--no-export"]
    subprocess.run(resume, check=True, capture_output=True, timeout=300)
    got, want = checkpoint.load(cut)[3]["losses"], checkpoint.load(full)[3]["losses"]
    assert len(got) == 40
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("task", ["tag", "lm"])
def test_seed_generator_states_are_checkpointed(tmp_path, task):
    text = play_text(tmp_path, "macbeth", 20000)
    cfg = TrainConfig(text=text, task=task, steps=3, **tiny(**SMALL, layers=2, dropout=0.5))
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "tag")
    states = [np.asarray(v) for v in checkpoint.rng_variables(trainer.model)]
    assert states and any(s.any() for s in states)  # dropout moved the generator on
    loaded, *_ = checkpoint.load(tmp_path / "tag")
    for saved, now in zip(checkpoint.rng_variables(loaded), states):
        np.testing.assert_array_equal(np.asarray(saved), now)


def test_a_run_too_large_for_memory_is_refused_before_anything_is_written(tmp_path, capsys):
    text = play_text(tmp_path, "hamlet", 6000)
    flags = cli_flags(text, tmp_path / "huge", 1, units=65536, layers=8, batch_size=64)
    code, err = cli(flags, capsys)
    assert code == 2 and err.startswith("error: out of memory") and "GiB" in err
    assert not (tmp_path / "huge").exists()


def test_tensorflow_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    def exhausted(self):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor\nmore")

    monkeypatch.setattr(training.Trainer, "train_one", exhausted)
    text = play_text(tmp_path, "hamlet", 6000)
    code, err = cli(cli_flags(text, tmp_path / "run", 3, **SMALL), capsys)
    assert code == 2 and err.count("\n") == 1 and "out of memory" in err


def test_a_folder_made_read_only_mid_run_is_one_line(tmp_path, capsys, monkeypatch):
    original, calls = np.savez, []

    def read_only_after_three(path, *arrays):
        calls.append(path)
        if len(calls) > 12:  # the start's and three checkpoints, three .npz files each
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return original(path, *arrays)

    monkeypatch.setattr(np, "savez", read_only_after_three)
    text = play_text(tmp_path, "hamlet", 6000)
    code, err = cli(cli_flags(text, tmp_path / "run", 8, **SMALL), capsys)
    assert code == 2 and err.count("\n") == 1 and "Permission denied" in err
    monkeypatch.undo()
    assert checkpoint.load(tmp_path / "run")[3]["step"] == 3  # the last good one
    assert math.isfinite(checkpoint.load(tmp_path / "run")[3]["losses"][-1])


@pytest.mark.parametrize("task,gain", [("translate", 1.0), ("lm", 1.0), ("caption", None)])
def test_a_run_from_before_a_field_existed_reads_back_as_it_was_trained(tmp_path, task, gain):
    saved = json.loads(TrainConfig(task=task, steps=5).resolved().to_json())
    del saved["embedding"], saved["recurrent_gain"], saved["label_smoothing"]  # not yet flags
    (tmp_path / "config.json").write_text(json.dumps(saved))
    cfg = read_run_config(tmp_path)
    assert cfg.embedding == 0 and cfg.recurrent_gain == gain  # one-hot, W at Keras' gain 1
    assert cfg.label_smoothing == 0.0  # trained on the plain cross-entropy
    saved["embedding"] = 64 if task == "translate" else 0  # a field the run wrote is kept
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert read_run_config(tmp_path).embedding == saved["embedding"]
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="unreadable"):
        read_run_config(tmp_path)
