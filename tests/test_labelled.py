"""Classification that learns from users' own labelled files (TSV, CSV, JSON lines, JSON):
a rule learned, named columns, validation files, scoring by `export.infer --evaluate`, and
one error line naming each bad file. CoNLL taggers: test_conll.py; the classifier's model:
test_classifier.py."""

import collections
import json
import subprocess
import sys

import numpy as np
import pytest

from export import api, infer, runtime
from rnn_keras_common import labelled
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import TrainConfig
from tests.helpers import cli_err, data_flags, final_metric, rule_tsv


@pytest.mark.parametrize("unit", ["char", "word"])
def test_a_tsv_rule_is_learned_to_full_accuracy(tmp_path, capsys, unit):
    data = rule_tsv(tmp_path / "x.tsv")
    run = tmp_path / "run"
    code, err = cli_err([*data_flags(data, run, 150, "--task", "classify", "--unit", unit)], capsys)
    assert code == 0, err
    assert final_metric(run, "val_accuracy") == 1.0 and final_metric(run, "val_macro_f1") == 1.0
    assert (run / "classes.csv").is_file() and (run / "confusion.png").is_file()
    vocab = json.loads((run / "vocab.json").read_text())
    assert vocab["labels"] == ["has_x", "no_x"] and vocab["unit"] == unit
    [(path, diff)] = api.export_run(run)  # TF == ORT on the run's own sample
    assert diff <= 1e-4
    model = runtime.load(path)
    words = data.read_text().split()[0:3:2]  # two words of the file's own list
    has_x, no_x = " ".join([words[0], "ox", words[1]]), " ".join(words)
    assert model.classify(has_x)[0] == "has_x"
    assert model.classify(no_x)[0] == "no_x"
    # an "ox" past what training read of a passage (96 words, 384 characters) is not read
    late = " ".join([words[0]] * 200 + ["ox"])
    assert model.classify(late) == model.classify(" ".join([words[0]] * 200))
    texts = [has_x, no_x, words[0], f"{has_x} {no_x} {has_x}", no_x]  # lengths 1 to 7 words
    many = model.classify_many(texts, batch_size=2)  # padded batches, the last one short
    for (label, probs), text in zip(many, texts, strict=True):
        alone = model.classify(text)
        assert label == alone[0]
        np.testing.assert_allclose(list(probs.values()), list(alone[1].values()), atol=1e-5)
    assert infer.cli([str(path), "--text", has_x]) == 0
    assert capsys.readouterr().out.startswith("has_x (")
    texts = tmp_path / "texts.txt"  # a text per line: a label line each, blank lines skipped
    texts.write_text(f"{has_x}\n\n{no_x}\n", encoding="utf-8")
    assert infer.cli([str(path), "--text", str(texts), "--lines"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in out] == ["has_x", "no_x"] and out[1].endswith(f")  {no_x}")
    piped = subprocess.run(  # `--text -`: the lines from a pipe
        [sys.executable, "-m", "export.infer", str(path), "--text", "-", "--lines"],
        input=f"{no_x}\n{has_x}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert [ln.split()[0] for ln in piped.stdout.splitlines()] == ["no_x", "has_x"]
    assert infer.cli([str(path), "--text", str(tmp_path / "txets.txt")]) == 2  # a typo
    assert capsys.readouterr().err.startswith(f"error: --text {tmp_path / 'txets.txt'}: no such")


def test_a_data_run_resumes_after_its_file_moved_and_not_on_another_file(tmp_path, capsys):
    data, run = rule_tsv(tmp_path / "x.tsv"), tmp_path / "run"
    assert cli_err(data_flags(data, run, 2, "--task", "classify"), capsys)[0] == 0
    assert json.loads((run / "data.json").read_text())["path"] == str(data)
    moved = data.rename(tmp_path / "moved.tsv")
    code, err = cli_err(["--resume", str(run), "--steps", "3"], capsys)
    assert code == 2 and f"the run's data {data} is no longer there. Pass --data PATH" in err
    other = rule_tsv(tmp_path / "other.tsv", seed=1)
    code, err = cli_err(["--resume", str(run), "--steps", "3", "--data", str(other)], capsys)
    assert code == 2 and f"characters, {data}; SHA-256 differs)" in err, err
    assert "Resume with the same --data content." in err
    assert cli_err(["--resume", str(run), "--steps", "3", "--data", str(moved)], capsys)[0] == 0


def test_a_timed_run_states_its_examples_per_label_as_a_counted_one_does(tmp_path, capsys):
    argv = data_flags(rule_tsv(tmp_path / "x.tsv"), tmp_path / "run", 2, "--task", "classify")
    at = argv.index("--steps")
    argv[at : at + 2] = ["--minutes", "0.002"]  # its first steps are timed before the run
    assert train.cli(argv) == 0
    assert "216 training / 24 validation examples; per label:" in capsys.readouterr().out


def test_a_validation_file_of_your_own_replaces_the_split(tmp_path, capsys):
    data, dev = rule_tsv(tmp_path / "train.tsv"), rule_tsv(tmp_path / "dev.tsv", n=30, seed=1)
    run = tmp_path / "run"
    argv = [*data_flags(data, run, 2, "--task", "classify"), "--val-data", str(dev)]
    code = train.cli(argv)
    out = capsys.readouterr().out
    assert code == 0 and "240 training / 30 validation examples; per label:" in out, out
    saved = json.loads((run / "data.json").read_text())
    assert saved["val_path"] == str(dev) and saved["val_characters"] == len(dev.read_text())
    edited = dev.read_text().replace("no_x", "has_x", 1)
    moved = dev.rename(tmp_path / "dev2.tsv")
    code, err = cli_err(["--resume", str(run), "--steps", "3"], capsys)
    assert code == 2 and f"val-data {dev} is no longer there. Pass --val-data PATH" in err, err
    (tmp_path / "edited.tsv").write_text(edited)
    code, err = cli_err(
        ["--resume", str(run), "--steps", "3", "--val-data", str(tmp_path / "edited.tsv")], capsys
    )
    assert code == 2 and "Resume with the same --val-data content." in err, err
    assert cli_err(["--resume", str(run), "--steps", "3", "--val-data", str(moved)], capsys)[0] == 0
    split = tmp_path / "split"  # a run that split its --data takes no --val-data later
    assert cli_err(data_flags(data, split, 2, "--task", "classify"), capsys)[0] == 0
    code, err = cli_err(["--resume", str(split), "--steps", "3", "--val-data", str(moved)], capsys)
    assert code == 2 and "validates on a split of its --data" in err, err


@pytest.mark.parametrize(
    "dev, extra, message",
    [
        ("a b\tnew_label\n", [], "--val-data {dev}: label(s) 'new_label' never appear in --data"),
        ("a b\n", [], "--val-data {dev}, line 1: 1 tab-separated columns"),
        ("", [], "--val-data {dev}: no examples"),
        (
            "a b\tno_x\n",
            ["--val-fraction", "0.2"],
            "would ignore --val-fraction 0.2 (used only by runs that split",
        ),
    ],
)
def test_a_bad_validation_file_is_one_error_naming_it(tmp_path, capsys, dev, extra, message):
    data, path, run = rule_tsv(tmp_path / "train.tsv"), tmp_path / "dev.tsv", tmp_path / "run"
    path.write_text(dev)
    argv = [*data_flags(data, run, 2, "--task", "classify"), "--val-data", str(path), *extra]
    code, err = cli_err(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and message.format(dev=path) in err, err
    assert not run.exists()


def test_an_exported_classifier_scores_a_labelled_file_as_scikit_learn_does(tmp_path, capsys):
    from sklearn.metrics import accuracy_score, f1_score

    run = tmp_path / "run"
    assert (
        cli_err(data_flags(rule_tsv(tmp_path / "x.tsv"), run, 30, "--task", "classify"), capsys)[0]
        == 0
    )
    [(path, _)] = api.export_run(run)
    test = rule_tsv(tmp_path / "test.tsv", n=40, seed=2)
    with open(test, "a", encoding="utf-8") as f:  # a label training never had: always wrong
        f.write("ox ox\tmaybe\nab ox\tmaybe\n")
    rows = [line.split("\t") for line in test.read_text().splitlines()]
    truth = [y for _, y in rows]
    predicted = [label for label, _ in runtime.load(path).classify_many([t for t, _ in rows])]
    assert infer.cli([str(run), "--evaluate", str(test)]) == 0
    out = capsys.readouterr().out.splitlines()
    accuracy = accuracy_score(truth, predicted)
    macro = f1_score(truth, predicted, labels=sorted(set(truth)), average="macro")
    assert out[0] == f"{test}: 42 examples; accuracy {accuracy:.4f}, macro-F1 {macro:.4f}"
    assert out[1] == "labels the model never saw in training (counted as wrong): 'maybe' 2"
    assert out[2:] == ["label,precision,recall,f1,support", *out[3:]] and len(out) == 6
    assert out[-1] == "maybe,0.0000,0.0000,0.0000,2"
    typo = tmp_path / "tset.tsv"
    for argv, message in [
        (
            ["--evaluate", str(test), "--text", "ab"],
            "leave out --text, --image, --lines and --nbest",
        ),
        (["--evaluate", str(typo)], f"--evaluate {typo}: no such file"),
        (["--evaluate", str(tmp_path / "x.tsv"), "--beam", "2"], "would ignore --beam"),
    ]:
        assert infer.cli([str(run), *argv]) == 2
        assert message in capsys.readouterr().err
    swapped = tmp_path / "swapped.tsv"
    swapped.write_text("".join(f"{y}\t{t}\n" for t, y in rows), encoding="utf-8")
    assert infer.cli([str(run), "--evaluate", str(swapped)]) == 2
    assert "42 of 42 examples carry labels this model never saw" in capsys.readouterr().err


def test_a_text_a_character_classifier_cannot_read_counts_as_wrong(tmp_path, capsys):
    from sklearn.metrics import accuracy_score, f1_score

    run = tmp_path / "run"
    argv = data_flags(rule_tsv(tmp_path / "x.tsv"), run, 2, "--task", "classify", "--unit", "char")
    assert cli_err(argv, capsys)[0] == 0
    [(path, _)] = api.export_run(run)
    rows = [("ab ox cd", "has_x"), ("ab cd", "no_x"), ("ab zz", "no_x")]  # no z in training
    test = tmp_path / "test.tsv"
    test.write_text("".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    found = [label for label, _ in runtime.load(path).classify_many([t for t, _ in rows[:2]])]
    truth, predicted = [y for _, y in rows], [*found, "(unreadable)"]
    assert infer.cli([str(run), "--evaluate", str(test)]) == 0
    out = capsys.readouterr().out.splitlines()
    accuracy = accuracy_score(truth, predicted)
    macro = f1_score(truth, predicted, labels=["has_x", "no_x"], average="macro")
    assert out[0] == f"{test}: 3 examples; accuracy {accuracy:.4f}, macro-F1 {macro:.4f}"
    assert out[1] == (
        "1 text(s) hold characters the model never saw in training, counted as wrong: 'ab zz'"
    )
    assert out[2:] == ["label,precision,recall,f1,support", *out[3:]] and len(out) == 5


def test_a_csv_with_a_header_works_too(tmp_path, capsys):
    rows = [ln.split("\t") for ln in rule_tsv(tmp_path / "x.tsv").read_text().splitlines()]
    csv = tmp_path / "x.csv"
    csv.write_text(
        "id,label,text\n" + "".join(f'{i},{y},"{t}, quoted"\n' for i, (t, y) in enumerate(rows)),
        encoding="utf-8",
    )
    assert cli_err(data_flags(csv, tmp_path / "run", 2, "--task", "classify"), capsys)[0] == 0
    counts = (tmp_path / "run" / "classes.csv").read_text()
    assert "has_x" in counts and "no_x" in counts


@pytest.mark.parametrize(
    "name, payload",
    [
        ("plain.tsv", "fun day\tpos\r\nbad day\tneg\r\n"),
        ("header.tsv", "\ufefftext\tlabel\r\nfun day\tpos\r\nbad day\tneg\r\n"),
        ("glue.tsv", "sentence\tlabel\nfun day\tpos\n\nbad day\tneg\n"),
        ("order.tsv", "id\tLabel\tText\n1\tpos\tfun day\n2\tneg\tbad day\n"),
        ("order.csv", "\ufeffid,label,sentence\n1,pos,fun day\n\n2,neg,bad day\n"),
        ("excel.csv", 'text;label\r\nfun day;pos\r\n"bad day";neg\r\n'),
        ("bars.csv", "label|Text\npos|fun day\nneg|bad day\n"),
        (
            "hf.jsonl",
            '{"text": "fun day", "label": "pos"}\n\n{"label": "neg", "text": "bad day"}\n',
        ),
        (
            "records.json",
            '[{"text": "fun day", "label": "pos"}, {"label": "neg", "text": "bad day"}]',
        ),
        (
            "glue.jsonl",
            '{"idx": 0, "Sentence": "fun day", "label": "pos"}\n'
            '{"idx": 1, "Sentence": "bad day", "label": "neg"}\n',
        ),
    ],
)
def test_a_header_line_is_read_by_its_names_not_taken_for_an_example(tmp_path, name, payload):
    data = tmp_path / name
    data.write_bytes(payload.encode("utf-8"))
    assert labelled.read_labelled(data) == [("fun day", "pos"), ("bad day", "neg")]


KAGGLE = labelled.Columns.of({"text_column": "Review", "label_column": "sentiment"})


@pytest.mark.parametrize(
    "name, payload",
    [
        ("imdb.csv", 'review,sentiment\n"fun day",pos\nbad day,neg\n'),
        ("order.tsv", "Sentiment\tid\treview\npos\t1\tfun day\nneg\t2\tbad day\n"),
        ("keys.jsonl", '{"review": "fun day", "sentiment": "pos", "text": "x", "label": "y"}\n'
         '{"sentiment": "neg", "review": "bad day"}\n'),
        ("keys.json", '[{"review": "fun day", "sentiment": "pos"}, '
         '{"review": "bad day", "sentiment": "neg"}]'),
    ],
)  # fmt: skip
def test_columns_named_by_the_flags_are_read_and_only_they(tmp_path, name, payload):
    data = tmp_path / name
    data.write_text(payload, encoding="utf-8")
    assert labelled.read_labelled(data, columns=KAGGLE) == [("fun day", "pos"), ("bad day", "neg")]
    only_text = labelled.Columns.of({"text_column": "review", "label_column": None})
    with pytest.raises(labelled.DataError, match="review and label"):
        labelled.read_labelled(data, columns=only_text)


def test_a_label_column_named_sentence_is_not_also_read_as_the_text(tmp_path):
    data = tmp_path / "odd.csv"
    data.write_text("sentence,text\npos,fun day\nneg,bad day\n", encoding="utf-8")
    columns = labelled.Columns.of({"label_column": "Sentence"})
    assert labelled.read_labelled(data, columns=columns) == [("fun day", "pos"), ("bad day", "neg")]
    data.write_text("sentence,other\npos,fun day\n", encoding="utf-8")
    with pytest.raises(labelled.DataError, match="names no text and sentence columns"):
        labelled.read_labelled(data, columns=columns)


def test_named_columns_need_a_header_even_in_a_tsv(tmp_path):
    data = tmp_path / "plain.tsv"
    data.write_text("fun day\tpos\nbad day\tneg\n", encoding="utf-8")
    assert labelled.read_labelled(data) == [("fun day", "pos"), ("bad day", "neg")]
    with pytest.raises(labelled.DataError) as err:
        labelled.read_labelled(data, columns=KAGGLE)
    assert str(err.value) == (
        f"--data {data}, line 1: no header naming review and sentiment (it has ['fun day', "
        "'pos']). Pass the file's own names to --text-column and --label-column."
    )


def test_a_run_reads_its_named_columns_in_training_validation_and_evaluate(tmp_path, capsys):
    rows = [ln.split("\t") for ln in rule_tsv(tmp_path / "x.tsv").read_text().splitlines()]
    data, dev = tmp_path / "train.csv", tmp_path / "dev.csv"
    for path, part in [(data, rows[:200]), (dev, rows[200:])]:
        body = "".join(f"{i},{y},{t}\n" for i, (t, y) in enumerate(part))
        path.write_text("id,sentiment,review\n" + body, encoding="utf-8")
    run, named = tmp_path / "run", ["--text-column", "review", "--label-column", "Sentiment"]
    argv = data_flags(data, run, 2, "--task", "classify", "--val-data", str(dev))
    code, err = cli_err(argv, capsys)
    assert code == 2 and "--text-column and --label-column" in err and not run.exists()
    assert cli_err([*argv, *named], capsys)[0] == 0
    support = [ln.split(",")[-1] for ln in (run / "classes.csv").read_text().splitlines()[1:]]
    assert sum(map(int, support)) == 40  # validated on dev.csv, read by its names
    api.export_run(run)
    assert infer.cli([str(run), "--evaluate", str(dev)]) == 0  # the run's columns
    assert capsys.readouterr().out.startswith(f"{dev}: 40 examples; accuracy ")


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--text-column", "body"],
            "ignore --text-column body (used only by --task classify --data)",
        ),
        (["--task", "classify", "--label-column", "y"], "ignore --label-column y (used only by"),
        (["--task", "classify", "--data", "x.csv", "--text-column", " "], "need a column name"),
        (
            ["--task", "classify", "--data", "x.csv", "--text-column", "Label"],
            "--text-column and --label-column both name 'Label'",
        ),
    ],
)
def test_column_flags_are_refused_where_they_name_nothing(capsys, extra, message):
    code, err = cli_err([*extra, "--steps", "1"], capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_json_lines_labels_may_be_integers_as_datasets_write_them(tmp_path):
    data = tmp_path / "sst2.jsonl"
    data.write_text('{"text": "fun day", "label": 1}\n{"text": "bad day", "label": 0}\n')
    assert labelled.read_labelled(data) == [("fun day", "1"), ("bad day", "0")]


def test_max_tokens_defaults_by_unit_and_old_runs_read_what_they_trained_with(tmp_path):
    from rnn_keras_common.run_config import read_run_config

    assert TrainConfig(task="classify").resolved().max_tokens == 96
    assert TrainConfig(task="classify", unit="char").resolved().max_tokens == 384
    assert TrainConfig(task="classify", max_tokens=50).resolved().max_tokens == 50
    assert TrainConfig(task="tag").resolved().max_tokens is None
    saved = json.loads(TrainConfig(task="classify", unit="char", steps=2).resolved().to_json())
    del saved["max_tokens"]  # a run written before the field existed
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert read_run_config(tmp_path).max_tokens == 384


def test_the_word_vocabulary_states_what_it_covers_and_refuses_to_be_empty():
    from rnn_keras.data import DataError
    from rnn_keras.tasks.base import vocabulary_line, word_vocabulary

    counts = collections.Counter("a a a b b c".split())
    vocab = word_vocabulary(counts, 2, None, "word")  # a and b: c is seen once
    assert vocabulary_line(vocab, counts, "a c d b".split()) == (
        "vocabulary: 2 of the 3 words seen in training; 50.0% of validation words read as <unk>"
    )
    assert len(word_vocabulary(counts, 1, 1, "word").chars) == 2  # <unk> and a
    with pytest.raises(DataError, match="--min-count 4: .*'a', 3 times.*Lower --min-count"):
        word_vocabulary(counts, 4, None, "word")


def test_integer_labels_are_numbered_by_value_others_alphabetically():
    assert labelled.label_order(["10", "2", "1", "-1"]) == ["-1", "1", "2", "10"]
    assert labelled.label_order(["pos", "neg", "10"]) == ["10", "neg", "pos"]
    assert labelled.label_order(["1", "01"]) == ["01", "1"]  # equal values: still distinct


BAD = {
    "three.tsv": ("a b\tx\tmore\n", "line 1: 3 tab-separated columns"),
    "empty_text.tsv": ("a b\tx\n \ty\nc\ty\n", "line 2: the text is empty"),
    "single.tsv": ("a\tx\nb\tx\nc\ty\n", "'y' have a single example"),
    "nolabel.csv": (
        "text,category\na,b\n",
        "line 1: the header names no text (or sentence) and label columns (it has ['text', "
        "'category']). Name the columns text (or sentence) and label, or pass your names to "
        "--text-column and --label-column.",
    ),
    "comma.csv": ("text,label\ngood, fun,x\n", "line 2: 3 columns; the header has 2"),
    "header.tsv": ("label\ttext\nx\ta\tb\n", "line 2: 3 tab-separated columns; expected 2"),
    "semicolon.csv": (
        "text;label\na;b;c\n",
        "line 2: 3 columns; the header has 2. Quote a text that holds semicolons",
    ),
    "swapped.tsv": (
        "".join(f"{i % 2}\ttext number {i}\n" for i in range(20)),
        "20 different labels in 20 examples, such as 'text number 0': the label column seems",
    ),
    "notjson.jsonl": ('{"text": "a", "label": "x"}\ntext\tlabel\n', "line 2: not JSON"),
    "nolabel.jsonl": (
        '{"text": "a", "tag": "x"}\n',
        "line 1: expected an object with text (or sentence) and label keys",
    ),
    "list.jsonl": ('["a", "x"]\n', "line 1: expected an object with text"),
    "dict.json": (
        '{"text": "a", "label": "x"}',
        "got a dict. (One object per line is a .jsonl file.)",
    ),
    "bad.json": ('[{"text": "a", "label": "x"},]', ": not JSON ("),
    "second.json": (
        '[{"text": "a", "label": "x"}, {"text": "b"}]',
        "object 2: expected an object with",
    ),
    "float.jsonl": (
        '{"text": "a", "label": 0.5}\n',
        "line 1: text must be a string and label a string or an integer (got str and float)",
    ),
    "latin1.tsv": ("caf\u00e9\tx\n".encode("latin-1"), "line 1: not UTF-8"),
    "few.tsv": ("".join(f"t{i % 2} a\t{i % 2}\n" for i in range(20)), "training examples"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_labelled_file_gives_its_error(tmp_path, capsys, name):
    payload, expected = BAD[name]
    data = tmp_path / name
    data.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    run = tmp_path / "run"
    code, err = cli_err(
        [*data_flags(data, run, 2, "--task", "classify"), "--batch-size", "32"], capsys
    )
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert str(data) in err and not run.exists()


def test_data_is_refused_for_the_lm_and_with_text(tmp_path, capsys):
    data = rule_tsv(tmp_path / "x.tsv")
    code, err = cli_err(["--data", str(data), "--steps", "1"], capsys)
    assert code == 2 and "the lm reads --text" in err
    code, err = cli_err(["--task", "tag", "--data", str(data), "--text", str(data)], capsys)
    assert code == 2 and "not both" in err


def test_many_labels_keep_the_summary_line_and_the_matrix_readable(tmp_path):
    from PIL import Image

    from rnn_keras.tasks.classify import class_counts
    from rnn_keras.train import report

    labels = [f"l{i}" for i in range(200)]
    one_each = [("t", i) for i in range(200)]
    line = class_counts(labels, one_each, one_each)
    assert "l39 1/1" in line and "l40 " not in line
    assert line.endswith(", and 160 more (classes.csv at the end)")
    report.plot_confusion(np.eye(200), labels, tmp_path / "confusion.png")
    with Image.open(tmp_path / "confusion.png") as image:  # not 0.28 in. a label, 58 in. wide
        assert max(image.size) <= 120 * (0.28 * report.MAX_NAMED + 3)


def test_classes_csv_is_read_back_by_a_csv_reader(tmp_path):
    import csv
    import types

    from rnn_keras.train import report

    task = types.SimpleNamespace(labels=["a,b", 'say "hi"'])
    report.per_class(task, np.array([[2, 0], [1, 1]]), tmp_path)
    with open(tmp_path / "classes.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["label", "precision", "recall", "f1", "support"]
    assert [r[0] for r in rows[1:]] == ["a,b", 'say "hi"'] and rows[1][4] == "2"
