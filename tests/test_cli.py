"""train.py on bad input: one clear `error:` line naming the problem and the fix, exit 2."""

import io
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from rnn_keras.train import checkpoint
from rnn_keras_common import train_cli as train
from rnn_keras_common.cli import text_or_file
from rnn_keras_common.config import ConfigError
from tests.helpers import tiny_flags

QUICK = ["--steps", "2", *tiny_flags(units=8, batch_size=2, seq_len=5, eval_batches=1)]


def cli(argv, capsys):
    code = train.cli(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 20, encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path, text_file, capsys):
    run_dir = tmp_path / "run"
    assert cli(["--text", str(text_file), "--run-dir", str(run_dir), *QUICK], capsys)[0] == 0
    return run_dir


def write_bytes(path, payload):
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    "make_text, message",
    [
        (lambda d: d / "missing.txt", "no such file"),
        (lambda d: d, "a folder, not a file"),
        (lambda d: write_bytes(d / "empty.txt", b"  \n"), "empty"),
        (lambda d: write_bytes(d / "latin1.txt", "café".encode("latin-1") * 50), "not UTF-8"),
        (lambda d: write_bytes(d / "short.txt", b"tiny text"), "too short"),
    ],
)
def test_bad_text(tmp_path, capsys, make_text, message):
    code, err = cli(
        ["--text", str(make_text(tmp_path)), "--run-dir", str(tmp_path / "r"), *QUICK], capsys
    )
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seq-len", "0"], "--seq-len must be a positive integer"),
        (["--task", "poetry"], "Unknown task 'poetry'"),
        (["--optimizer", "rmsprop"], "Unknown optimizer 'rmsprop'"),
        (["--bidirectional"], "cannot be bidirectional"),
    ],
)
def test_bad_flags(tmp_path, text_file, capsys, flags, message):
    code, err = cli(
        ["--text", str(text_file), "--run-dir", str(tmp_path / "r"), *QUICK, *flags], capsys
    )
    assert code == 2 and message in err


def test_existing_run_is_refused_unless_overwrite(run, text_file, capsys):
    code, err = cli(["--text", str(text_file), "--run-dir", str(run), *QUICK], capsys)
    assert code == 2 and "already holds a run" in err and "--resume" in err
    assert (
        cli(["--text", str(text_file), "--run-dir", str(run), "--overwrite", *QUICK], capsys)[0]
        == 0
    )


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    code, err = cli(["--resume", str(tmp_path)], capsys)
    assert code == 2 and "not a run folder" in err


def test_resume_with_a_different_text(run, capsys):
    other = run.parent / "other.txt"
    other.write_text("Completely different letters: XYZ qj!\n" * 40, encoding="utf-8")
    code, err = cli(["--resume", str(run), "--text", str(other)], capsys)
    assert code == 2 and "is not what the run trained on" in err and "same --text content" in err


def test_resume_of_an_older_run_checks_the_vocabulary(run, capsys):
    (run / "data.json").unlink()  # runs from before 0.2 kept no hash
    config = run / "config.json"
    other = run.parent / "other.txt"
    other.write_text("Completely different letters: XYZ qj!\n" * 40, encoding="utf-8")
    config.write_text(config.read_text().replace(str(run.parent / "t.txt"), str(other)))
    code, err = cli(["--resume", str(run)], capsys)
    assert code == 2 and "vocabulary" in err and "same --text" in err


def test_resume_of_a_corrupted_checkpoint(run, capsys):
    model_file = checkpoint.latest_dir(run) / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:200])
    code, err = cli(["--resume", str(run)], capsys)
    assert code == 2 and "damaged" in err
    assert not zipfile.is_zipfile(model_file)


def test_cli_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "train.py", "--text", str(tmp_path / "nope.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --text") and "Traceback" not in proc.stderr


def test_train_py_runs_on_tensorflow_whatever_keras_backend_says(tmp_path, text_file):
    """A user's KERAS_BACKEND (or ~/.keras/keras.json) set for other work: train.py is a
    TensorFlow program and runs (jax is not installed here, so Keras on it would not load)."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run(
        [sys.executable, "train.py", "--text", str(text_file), "--run-dir", str(tmp_path / "r")]
        + QUICK,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "r" / "best.keras").is_file()


@pytest.mark.parametrize(
    "value", ["To be, or not to be", "and/or", "U.S.A.", "example.com", "tests/no/such"]
)
def test_a_text_that_is_no_path_is_the_text(value):
    assert text_or_file(value) == value


@pytest.mark.parametrize(
    "argv",
    [
        ["--text", ""],
        ["--task", "classify", "--data", " "],
        ["--task", "tag", "--data", "x.conll", "--val-data", ""],
    ],
)
def test_an_empty_path_is_refused_not_read_as_no_flag(tmp_path, capsys, argv):
    # e.g. `--val-data "$DEV"` with DEV unset: silently splitting --data instead would mislead
    code, err = cli([*argv, "--run-dir", str(tmp_path / "r"), "--steps", "1"], capsys)
    flag = argv[-2]
    assert code == 2 and err == f"error: {flag} is empty; pass a path, or leave the flag out.\n"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "value, problem",
    [
        ("reveiws.txt", "no such file"),
        ("tests/typo", "no such file"),
        ("tests/", "a folder, not a file"),
    ],
)
def test_a_text_that_reads_as_a_missing_path_is_refused(value, problem):
    with pytest.raises(ConfigError, match=f"--text {value}: {problem}. Pass a UTF-8 file, -"):
        text_or_file(value)


def test_a_text_file_a_device_and_standard_input_are_read(tmp_path, monkeypatch):
    (tmp_path / "t.txt").write_text("naïve\n", encoding="utf-8")
    assert text_or_file(str(tmp_path / "t.txt")) == "naïve\n"
    (tmp_path / "bom.txt").write_bytes("\ufeffnaïve".encode())  # Notepad's UTF-8
    assert text_or_file(str(tmp_path / "bom.txt")) == "naïve"
    assert text_or_file(os.devnull) == ""  # exists, not a regular file: read like a pipe
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from a pipe")))
    assert text_or_file("-") == "from a pipe"
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff")
    with pytest.raises(ConfigError, match="line 2: not UTF-8"):
        text_or_file(str(tmp_path / "bad.txt"))


def test_a_failed_export_at_the_end_keeps_the_run_and_says_so(
    tmp_path, text_file, capsys, monkeypatch
):
    from export import api, parity

    def refuse(run_dir, *args, **kwargs):
        raise parity.ParityError("onnxruntime differs from TensorFlow by 0.5 (tolerance 1e-4).")

    monkeypatch.setattr(api, "export_run", refuse)
    flags = [f for f in QUICK if f != "--no-export"]
    code, err = cli(["--text", str(text_file), "--run-dir", str(tmp_path / "r"), *flags], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "trained and saved" in lines[0] and "0.5" in lines[0]
    assert (tmp_path / "r" / "best.keras").is_file()


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--task", "caption", "--layers", "3"], "--layers 3 (used only by tasks other than"),
        (["--task", "translate", "--seq-len", "12"], "--seq-len 12"),
        (["--pool", "max"], "--pool max (used only by --task classify)"),
        (["--beam", "3", "--no-attention"], "--beam 3 (used only by --task translate or caption)"),
        (["--momentum", "0.9"], "--momentum 0.9 (used only by --optimizer sgd)"),
        (["--layers", "1", "--dropout", "0.2"], "--dropout 0.2"),
        (["--task", "tag", "--temperature", "0.5"], "--temperature 0.5"),
        (["--task", "tag", "--sample-every", "10"], "--sample-every 10 (used only by --task lm)"),
        (["--task", "classify", "--data", "x.tsv", "--classify-by", "category"], "--classify-by"),
        (["--task", "translate", "--unit", "word"], "--unit word"),
        (["--replicas", "4"], "--replicas 4 (used only by --strategy mirrored)"),
        (["--strategy", "mirrored", "--jit-compile"], "--jit-compile (used only by --strategy"),
    ],
)
def test_a_flag_the_run_would_ignore_is_refused_before_anything_is_written(
    tmp_path, capsys, flags, named
):
    code, err = cli(["--run-dir", str(tmp_path / "r"), "--steps", "1", *flags], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and named in lines[0] and "Leave" in lines[0], lines
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["--task", "caption", "--layers", "1"],  # the value the run has anyway
        ["--task", "tag", "--sample-every", "0"],  # "never sample": true of every task
        ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov"],
        ["--dropout", "0.2"],  # the lm's 3 layers: between them
        ["--task", "classify", "--unit", "char"],
        ["--task", "translate", "--data", "x.tsv", "--unit", "word", "--min-count", "2"],
        ["--task", "tag", "--data", "x.conll", "--min-count", "2", "--val-fraction", "0.2"],
    ],
)
def test_flags_the_run_reads_pass(flags):
    from rnn_keras_common import readers

    args = train.parse_args(flags)
    cfg = train.build_config(args)
    assert readers.unread(cfg, train._given(args)) == []


def test_resume_refuses_a_flag_the_run_would_ignore(run, tmp_path, text_file, capsys):
    code, err = cli(["--resume", str(run), "--temperature", "0.5", "--steps", "3"], capsys)
    assert code == 0  # an lm reads its sampling temperature
    tagger = tmp_path / "tagger"
    argv = ["--task", "tag", "--text", str(text_file), "--run-dir", str(tagger), *QUICK]
    assert cli(argv, capsys)[0] == 0
    code, err = cli(["--resume", str(tagger), "--temperature", "0.7", "--steps", "3"], capsys)
    assert code == 2 and "--temperature 0.7 (used only by --task lm" in err


def test_a_tagger_text_without_lines_of_words_is_one_line(tmp_path, capsys):
    # one word per line: no spaces to learn from (it was a traceback from the vocabulary)
    path = tmp_path / "words.txt"
    path.write_text("\n".join(f"word{i % 40}" for i in range(4000)), encoding="utf-8")
    argv = ["--task", "tag", "--text", str(path), "--run-dir", str(tmp_path / "r"), *QUICK]
    code, err = cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "0 line(s) of two or more words" in lines[0], lines
    assert not (tmp_path / "r").exists()


def test_the_end_of_a_run_prints_next_steps_that_work(tmp_path, text_file, capsys):
    import shlex

    from export import infer

    run = tmp_path / "my run"  # a space: the printed commands quote it
    flags = [f for f in QUICK if f != "--no-export"]
    assert train.cli(["--text", str(text_file), "--run-dir", str(run), *flags]) == 0
    out = capsys.readouterr().out
    lines = out[out.index("Next:") :].splitlines()[1:]
    commands = [shlex.split(line.split("  #")[0]) for line in lines]
    assert [c[:3] for c in commands[:4]] == [
        ["python", "-m", "export.infer"],
        ["python", "-m", "export.infer"],  # --evaluate held_out.txt
        ["python", "-m", "rnn_keras.inspect"],
        ["python", "-m", "export.web"],
    ]
    assert all(str(run) in c for c in commands)
    assert infer.main(commands[0][3:]) == 0  # the first one, as printed


@pytest.mark.parametrize(
    "task, data, test",
    [("classify", "/d/reviews.csv", "test.csv"), ("tag", "ud-train.conllu", "test.conllu"),
     ("caption", "/d/images", "test_images/"), ("lm", None, "held_out.txt"),
     ("tag", None, "held_out.txt"), ("classify", None, None), ("translate", None, None)],
)  # fmt: skip
def test_a_run_of_your_data_is_told_how_to_score_a_test_file(task, data, test):
    lines = train.next_steps("runs/x", task, data).splitlines()[2:]
    scoring = [ln for ln in lines if "--evaluate" in ln]
    want = [f"python -m export.infer runs/x --evaluate {test}"] if test else []
    assert [ln.split("  #")[0].strip() for ln in scoring] == want


def test_commands_printed_from_another_folder_run_from_there(run, tmp_path, monkeypatch):
    """`python ~/rnn-keras/train.py` run in a data folder: `python train.py` and
    `python -m export.infer` would not be found there, so the commands say where."""
    import shlex

    root = pathlib.Path(train.__file__).resolve().parents[1]
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    lines = train.next_steps("../run", "lm").splitlines()[2:]
    assert lines[0].startswith(f"  cd {root} ") and f"python -m export.infer {run} " in lines[1]
    resume = shlex.split(train.resume_command("../run"))
    assert resume[:4] == ["python", str(root / "train.py"), "--resume", str(run)]
    done = subprocess.run(
        [sys.executable, *resume[1:], "--steps", "3"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert checkpoint.latest_dir(run).name == "step-3"  # the run went on to step 3


def test_the_artefacts_line_names_what_the_run_folder_holds(run):
    from rnn_keras.train.report import artefacts

    (run / ".lock").write_text("")
    named = artefacts(run).split(", ")
    assert "checkpoints/" in named and "data.json" in named and ".lock" not in named
    assert sorted(n.rstrip("/") for n in named) == sorted(
        p.name for p in run.iterdir() if p.name != ".lock"
    )


@pytest.mark.parametrize(
    "field, value, said",
    [("lr", -1, "--lr must be a number in (0.0, inf), got -1."),
     ("units", 0, "--units must be a positive integer in [1, 65536], got 0."),
     ("seed", -1, "--seed must be an integer in [0, 4294967295], got -1.")],
)  # fmt: skip
def test_a_value_out_of_range_is_named_by_its_fields_kind(field, value, said):
    from rnn_keras_common.config import TrainConfig

    with pytest.raises(ConfigError) as err:
        TrainConfig(**{field: value}).resolved().validate()
    assert str(err.value) == said


def test_default_run_folders_started_in_the_same_second_do_not_collide(
    tmp_path, text_file, capsys, monkeypatch
):
    import datetime

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 11, 30, 12, 0, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train.datetime, "datetime", Frozen)
    made = [pathlib.Path(train.claim_default_dir("lm")[0]) for _ in range(3)]
    assert [p.name for p in made] == [
        "lm-20261130-120000",
        "lm-20261130-120000-2",
        "lm-20261130-120000-3",
    ]
    assert all(p.is_dir() for p in made)  # made at once: a second run sees the first's
    shared, none = train.claim_default_dir("tag", "multi-worker")  # every worker: one name
    assert shared == str(pathlib.Path("runs", "tag-20261130-120000")) and none == []
    assert not pathlib.Path(shared).exists()  # the chief makes it; the others never write it
    code = train.cli(["--text", str(text_file), *QUICK])  # the next takes -4 and trains there
    assert code == 0 and (tmp_path / "runs" / "lm-20261130-120000-4" / "config.json").is_file()


@pytest.mark.parametrize("had_runs", [False, True])
def test_a_refused_default_run_leaves_no_folder_and_keeps_runs_it_did_not_make(
    tmp_path, capsys, monkeypatch, had_runs
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.txt").write_text("x", encoding="utf-8")
    if had_runs:
        (tmp_path / "runs").mkdir()
    code, err = cli(["--text", "short.txt", "--steps", "2"], capsys)  # refused by its data
    assert code == 2 and "too short" in err
    assert (tmp_path / "runs").is_dir() == had_runs and not any((tmp_path / "runs").glob("*"))
