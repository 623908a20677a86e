"""Token tagging on users' CoNLL and CoNLL-U files: a rule learned, tagged by token,
validated on a dev file, scored by `export.infer --evaluate`; their errors name the line."""

import json
import re

from export import api, infer, runtime
from rnn_keras_common import labelled
from rnn_keras_common import train_cli as train
from tests.helpers import cli_err, data_flags, final_metric, rule_conll


def test_a_conll_rule_is_learned_and_tagged_by_token(tmp_path, capsys):
    data = rule_conll(tmp_path / "t.conll")
    run = tmp_path / "run"
    code = train.cli(data_flags(data, run, 150, "--task", "tag", "--no-bidirectional"))
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert re.search(r"^vocabulary: \d+ of the \d+ words seen in training; ", printed.out, re.M)
    assert final_metric(run, "val_accuracy") == 1.0
    classes = (run / "classes.csv").read_text()
    assert all(tag in classes for tag in ("NUM", "CAP", "LOW"))
    [(path, diff)] = api.export_run(run)
    assert diff <= 1e-4
    tagger = runtime.load(path)
    assert tagger.tag("Anna sees 12 dog") == [
        ("Anna", "CAP"),
        ("sees", "LOW"),
        ("12", "NUM"),
        ("dog", "LOW"),
    ]
    assert tagger.tag("Zorro")[0][0] == "Zorro"  # an unseen token is <unk>, not an error
    assert infer.cli([str(path), "--text", "Bob runs home"]) == 0
    assert capsys.readouterr().out.strip() == "Bob/CAP runs/LOW home/LOW"
    sentences = tmp_path / "sentences.txt"  # a sentence per line, each tagged on its own
    sentences.write_text("Bob runs home\n\n12 Anna\n", encoding="utf-8")
    assert infer.cli([str(path), "--text", str(sentences)]) == 0
    assert capsys.readouterr().out.splitlines() == ["Bob/CAP runs/LOW home/LOW", "12/NUM Anna/CAP"]
    assert infer.cli([str(path), "--text", "Bob", "--lines"]) == 2  # a classifier's flag
    assert "--lines (for classify models)" in capsys.readouterr().err


CONLLU = (
    "# sent_id = 1\n# text = Anna's at home.\n"
    "1\tAnna\tAnna\tPROPN\tNNP\t_\t3\tnsubj\t_\t_\n"
    "2-3\tisn't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tis\tbe\tAUX\tVBZ\t_\t3\tcop\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "3.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t0:root\t_\n"
    "\n# sent_id = 2\n1\tRun\trun\tVERB\tVB\t_\t0\troot\t_\t_\n\n"
)


def test_a_tagger_validates_on_the_dev_file_given(tmp_path, capsys):
    data, dev = rule_conll(tmp_path / "train.conll"), rule_conll(tmp_path / "dev.conll", 12, 1)
    run = tmp_path / "run"
    argv = [*data_flags(data, run, 2, "--task", "tag"), "--val-data", str(dev)]
    code = train.cli(argv)
    assert code == 0 and "160 training / 12 validation sentences" in capsys.readouterr().out
    argv = ["--task", "classify", "--val-data", str(dev), "--steps", "2"]  # the plays' split
    code, err = cli_err([*argv, "--run-dir", str(tmp_path / "plays")], capsys)
    used_by = "(used only by --task lm and tag, and classify, translate or caption with --data)"
    assert code == 2 and used_by in err, err


def test_an_exported_token_tagger_scores_a_conll_file_token_by_token(tmp_path, capsys):
    data, dev = rule_conll(tmp_path / "train.conll"), rule_conll(tmp_path / "dev.conll", 30, 2)
    run = tmp_path / "run"
    assert cli_err(data_flags(data, run, 20, "--task", "tag", "--no-bidirectional"), capsys)[0] == 0
    [(path, _)] = api.export_run(run)
    tagger = runtime.load(path)
    sentences = labelled.read_conll(dev)
    found = tagger.tag_many([tokens for tokens, _ in sentences], batch_size=7)
    assert found == [[tag for _, tag in tagger.tag(tokens)] for tokens, _ in sentences]
    pairs = [(t, p) for (_, tags), tagged in zip(sentences, found) for t, p in zip(tags, tagged)]
    accuracy = sum(t == p for t, p in pairs) / len(pairs)
    assert infer.cli([str(run), "--evaluate", str(dev)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{dev}: {len(pairs)} tokens; accuracy {accuracy:.4f}, macro-F1 ")


def test_a_conllu_file_tags_each_word_with_its_upos(tmp_path, capsys):
    data = tmp_path / "ud.conllu"
    data.write_text(CONLLU * 40, encoding="utf-8")
    assert labelled.read_conll(data)[:2] == [
        (["Anna", "is", "n't"], ["PROPN", "AUX", "PART"]),
        (["Run"], ["VERB"]),
    ]  # not MISC's SpaceAfter=No, the last column a plain CoNLL file tags with
    run = tmp_path / "run"
    assert cli_err(data_flags(data, run, 2, "--task", "tag"), capsys)[0] == 0
    assert json.loads((run / "vocab.json").read_text())["labels"] == [
        "AUX",
        "PART",
        "PROPN",
        "VERB",
    ]
    data.write_text("1 Anna Anna PROPN NNP _ 0 root _ _\n", encoding="utf-8")  # spaces, not tabs
    code, err = cli_err(data_flags(data, tmp_path / "run2", 2, "--task", "tag"), capsys)
    assert code == 2 and "line 1: 1 tab-separated column(s), expected 10 (CoNLL-U" in err


def test_min_count_sends_rare_tokens_to_unknown(tmp_path, capsys):
    data = rule_conll(tmp_path / "t.conll", n=30)
    with open(data, "a", encoding="utf-8") as f:
        f.write("\nOnce X CAP\n")
    run = tmp_path / "run"
    assert cli_err(data_flags(data, run, 2, "--task", "tag", "--min-count", "2"), capsys)[0] == 0
    tokens = json.loads((run / "vocab.json").read_text())["chars"]
    assert tokens[0] == "<unk>" and "Once" not in tokens and "Anna" in tokens


def test_a_ragged_conll_file_names_its_line(tmp_path, capsys):
    data = tmp_path / "t.conll"
    data.write_text("Anna X CAP\nruns LOW\n", encoding="utf-8")
    code, err = cli_err(data_flags(data, tmp_path / "run", 2, "--task", "tag"), capsys)
    assert code == 2 and "line 2: 2 column(s), expected 3" in err
    assert not (tmp_path / "run").exists()
