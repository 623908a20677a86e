"""export.evaluate on a language model: nats/char on a text file, as training validates."""

import json
import math

import numpy as np
import pytest

from export import evaluate, infer, runtime
from rnn_keras import data
from rnn_keras.data import plays as corpus
from rnn_keras_common import segmentation
from rnn_keras_common import train_cli as train
from rnn_keras_common.vocab import Vocab
from tests.helpers import cli_flags


def _exported_run(folder, chars, steps, *task, **overrides):
    """A short run on the plays' first `chars` characters, exported, whose last evaluation
    read its whole held-out part: `(text file, run folder)`."""
    text = folder / "plays.txt"
    text.write_text(corpus.default_text()[:chars], encoding="utf-8")
    run = folder / "run"
    flags = cli_flags(text, run, steps, eval_every=steps, eval_batches=0, **overrides)
    assert train.cli([*task, *[f for f in flags if f != "--no-export"]]) == 0
    return text, run


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    return _exported_run(tmp_path_factory.mktemp("lm"), 30_000, 20, units=24, layers=2)


def _held_out(text, folder):
    """The run's validation characters (the tail `data.split` keeps) as a text file."""
    raw = text.read_text(encoding="utf-8")
    vocab = Vocab.from_text(raw)
    _, val = data.split(np.array(vocab.encode(raw), np.int32), 0.1)
    path = folder / "held_out.txt"
    path.write_text(vocab.decode(val), encoding="utf-8")
    return path


def _final_val_loss(run):
    header, *_, last = (run / "metrics.csv").read_text().splitlines()
    return float(dict(zip(header.split(","), last.split(",")))["val_loss"])


@pytest.mark.parametrize("file", ["step.onnx", "model.onnx"])
def test_the_held_out_text_scores_what_training_validated(lm_run, tmp_path, file):
    text, run = lm_run
    result = evaluate.evaluate(runtime.load(run / file), _held_out(text, tmp_path))
    assert result["nats_per_char"] == pytest.approx(_final_val_loss(run), abs=1e-5)
    assert result["bits_per_char"] == pytest.approx(result["nats_per_char"] / math.log(2))
    assert result["perplexity"] == pytest.approx(math.exp(result["nats_per_char"]))
    assert result["left_out"] == {} and result["streams"] == 4  # the run's batch size


def test_characters_the_model_never_saw_are_left_out_and_counted(lm_run, tmp_path):
    _, run = lm_run
    model = runtime.load(run)
    plain, odd = tmp_path / "plain.txt", tmp_path / "odd.txt"
    passage = corpus.default_text()[1000:3000]
    plain.write_text(passage, encoding="utf-8")
    odd.write_text("✓" + passage[:500] + "ß✓" + passage[500:], encoding="utf-8")
    got, want = evaluate.evaluate(model, odd), evaluate.evaluate(model, plain)
    assert got["left_out"] == {"✓": 2, "ß": 1}
    assert got["nats_per_char"] == pytest.approx(want["nats_per_char"], abs=1e-9)
    windows = tmp_path / "windows.txt"  # CRLF line ends score as the LF text does
    windows.write_bytes(passage.replace("\n", "\r\n").encode())
    assert evaluate.evaluate(model, windows) == evaluate.evaluate(model, plain)
    short = tmp_path / "short.txt"  # fewer characters than streams: one stream reads them
    short.write_text(passage[:3], encoding="utf-8")
    assert evaluate.evaluate(model, short)["characters"] == 2


def test_the_cli_prints_one_line_and_refuses_generation_flags(lm_run, tmp_path, capsys):
    text, run = lm_run
    held_out = _held_out(text, tmp_path)
    assert infer.cli([str(run), "--evaluate", str(held_out)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"{held_out}: ")
    assert "(4 streams x 10, the state carried);" in out[0] and "bits/char, perplexity" in out[0]
    assert infer.cli([str(run), "--evaluate", str(held_out), "--prime", "A", "--seed", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --evaluate scores its text as it is; leave out --prime, --seed."
    empty = tmp_path / "empty.txt"
    empty.write_text("✓", encoding="utf-8")
    assert infer.cli([str(run), "--evaluate", str(empty)]) == 2
    assert "0 character(s) this model knows; scoring" in capsys.readouterr().err


@pytest.fixture(scope="module")
def segmenter_run(tmp_path_factory):
    """Word segmentation; lines up to 200 characters are read whole."""
    folder, task = tmp_path_factory.mktemp("tag"), ["--task", "tag", "--bidirectional"]
    return _exported_run(folder, 20_000, 30, *task, seq_len=200, units=16)


def _held_out_lines(text, folder):
    """The run's validation lines, their spaces put back where the words end."""
    lines, tags = segmentation.tagging_data(text.read_text(encoding="utf-8"), max_len=200)
    _, val = data.split(list(zip(lines, tags)), 0.1)
    spaced = ["".join(c + " " * int(e) for c, e in zip(line, ends)).strip() for line, ends in val]
    path = folder / "held_out.txt"
    path.write_text("\n".join(spaced) + "\n", encoding="utf-8")
    return path


def _final(run, key):
    header, *_, last = (run / "metrics.csv").read_text().splitlines()
    return float(dict(zip(header.split(","), last.split(",")))[key])


def test_a_segmenter_scores_its_held_out_lines_as_training_did(segmenter_run, tmp_path):
    text, run = segmenter_run
    result = evaluate.evaluate(runtime.load(run), _held_out_lines(text, tmp_path))
    assert result["counted"] == "characters" and result["unreadable"] == []
    assert result["accuracy"] == pytest.approx(_final(run, "val_accuracy"), abs=1e-6)
    word_end_f1 = result["per_class"][1][2]
    assert word_end_f1 == pytest.approx(_final(run, "val_f1"), abs=1e-6)


def test_a_segmenter_validates_on_your_own_file_as_evaluate_scores_it(tmp_path):
    plays = corpus.default_text()
    text, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    text.write_text(plays[:20_000], encoding="utf-8")
    valid.write_text(plays[20_000:24_000] + "\nZ¶ Z\n", encoding="utf-8")  # ¶: only in valid
    run = tmp_path / "run"
    flags = cli_flags(text, run, 10, eval_every=10, eval_batches=0, seq_len=200)
    flags = ["--task", "tag", *[f for f in flags if f != "--no-export"], "--val-data", str(valid)]
    assert train.cli(flags) == 0
    result = evaluate.evaluate(runtime.load(run), valid)
    assert result["accuracy"] == pytest.approx(_final(run, "val_accuracy"), abs=1e-6)
    assert result["unreadable"] == [] and "¶" in runtime.load(run).vocab.chars
    assert json.loads((run / "data.json").read_text())["val_path"] == str(valid)
    valid.write_text("One\nword\n", encoding="utf-8")  # no line of two words: nothing to score
    other = cli_flags(text, tmp_path / "other", 2)
    assert train.cli(["--task", "tag", *other, "--val-data", str(valid)]) == 2
    assert not (tmp_path / "other").exists()


def test_a_segmenters_line_with_unseen_characters_counts_as_wrong(segmenter_run, tmp_path):
    _, run = segmenter_run
    model = runtime.load(run)
    path = tmp_path / "t.txt"
    path.write_text("To be or not\nA ✓ here\nHAMLET:\n", encoding="utf-8")  # names: skipped
    result = evaluate.evaluate(model, path)
    assert result["unreadable"] == ["A✓here"] and result["examples"] == 9 + 6
    ends = model.word_ends("Tobeornot")
    right = sum(int(e) == t for e, t in zip(ends, [0, 1, 0, 1, 0, 1, 0, 0, 1]))
    assert result["accuracy"] == pytest.approx(right / 15)
    assert infer.cli([str(run), "--evaluate", str(path)]) == 0


def test_an_lm_validates_on_your_own_file_as_evaluate_scores_it(tmp_path, capsys):
    plays = corpus.default_text()
    text, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    text.write_text(plays[:20_000], encoding="utf-8")
    valid.write_text(plays[20_000:26_000] + "¶", encoding="utf-8")  # ¶: only in valid
    run = tmp_path / "run"
    flags = cli_flags(text, run, 10, eval_every=10, eval_batches=0)
    assert train.cli([*[f for f in flags if f != "--no-export"], "--val-data", str(valid)]) == 0
    result = evaluate.evaluate(runtime.load(run), valid)
    assert result["nats_per_char"] == pytest.approx(_final_val_loss(run), abs=1e-5)
    assert result["left_out"] == {} and "¶" in runtime.load(run).vocab.chars
    saved = json.loads((run / "data.json").read_text())
    assert saved["val_path"] == str(valid) and saved["characters"] == 20_000  # all of it trains
    valid.write_text(plays[20_000:26_000], encoding="utf-8")
    assert train.cli(["--resume", str(run), "--steps", "12"]) == 2
    assert "this validation data (6000 characters) is not what the run validated on" in (
        capsys.readouterr().err
    )
    short = tmp_path / "short.txt"
    short.write_text("abc", encoding="utf-8")
    argv = cli_flags(text, tmp_path / "other", 2)
    assert train.cli([*argv, "--val-data", str(short)]) == 2
    err = capsys.readouterr().err
    assert f"--val-data {short}: 3 characters, too few for 4 validation streams" in err
    assert not (tmp_path / "other").exists()
