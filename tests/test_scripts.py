"""rnn_keras_common.scripts: word units refused for text written without spaces."""

import pytest

from rnn_keras_common import scripts
from rnn_keras_common import train_cli as train
from tests.helpers import tiny_flags

CHINESE = ["我们今天去公园散步。", "他喜欢读书和写字"]


@pytest.mark.parametrize(
    "texts, share",
    [
        (CHINESE, 1.0),
        (["きょうは東京へ行きます", "カタカナ"], 1.0),  # kana and kanji
        (["ภาษาไทยไม่เว้นวรรค"], 1.0),  # Thai: letters; its vowel signs are marks
        (["Hello, world!", "Привет, мир", "नमस्ते दुनिया", "안녕하세요 세계"], 0.0),  # Korean: spaced
        (["The 东京 sign"], 2 / 9),
        ([], 0.0),
    ],
)
def test_unspaced_share_counts_letters_of_scripts_without_spaces(texts, share):
    assert scripts.unspaced_share(texts) == pytest.approx(share)


def _run(argv, capsys):
    code = train.cli(argv)
    return code, capsys.readouterr().err


def _classify_tsv(path):
    text = {"体育": "球赛冠军", "美食": "米饭甜汤"}
    labels = ["体育", "美食"] * 32
    rows = [f"{text[y]}{'的了是'[i % 3]}。\t{y}" for i, y in enumerate(labels)]
    path.write_text("text\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_chinese_classifier_is_refused_as_words_and_trains_on_characters(tmp_path, capsys):
    data, run = _classify_tsv(tmp_path / "zh.tsv"), tmp_path / "run"
    argv = ["--task", "classify", "--data", str(data), "--run-dir", str(run), "--steps", "2"]
    argv += tiny_flags(seq_len=None, batch_size=8)
    code, err = _run(argv, capsys)
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err
    assert "100% of the letters are in a script written without spaces" in err
    assert err.strip().endswith("Pass --unit char.")
    assert not run.exists()  # refused before anything was written
    assert _run([*argv, "--unit", "char"], capsys)[0] == 0


def test_chinese_targets_are_refused_as_words_and_translate_as_characters(tmp_path, capsys):
    data, run = tmp_path / "cmn.txt", tmp_path / "run"
    targets = ["我吃饭", "你跑步", "他睡觉", "我们去", "他们看", "她读书", "下雨了", "我看见"]
    data.write_text(
        "".join(f"w{i}\t{targets[i % 8]}。\tCC-BY 2.0 (France)\n" for i in range(60)),
        encoding="utf-8",
    )
    argv = ["--task", "translate", "--data", str(data), "--run-dir", str(run), "--steps", "2"]
    argv += tiny_flags(seq_len=None, batch_size=8)
    code, err = _run(argv, capsys)
    assert code == 2 and f"--data {data}'s targets: 100% of the letters" in err
    assert err.strip().endswith("Pass --target-units chars.") and not run.exists()
    assert _run([*argv, "--target-units", "chars"], capsys)[0] == 0


def test_chinese_sources_are_refused_as_words(tmp_path, capsys):
    data = tmp_path / "zh-en.tsv"
    data.write_text("".join(f"他们看{i}\tthey see {i}\n" for i in range(60)), encoding="utf-8")
    argv = ["--task", "translate", "--data", str(data), "--unit", "word", "--steps", "2"]
    argv += ["--run-dir", str(tmp_path / "run"), *tiny_flags(seq_len=None, batch_size=8)]
    code, err = _run(argv, capsys)
    assert code == 2 and "'s sources: 100% of the letters" in err and "Pass --unit char." in err


def test_a_chinese_token_tagger_given_unsplit_text_says_to_split_it(tmp_path, capsys):
    from export import infer

    words = {"我": "PRON", "你": "PRON", "喜欢": "VERB", "读书": "VERB", "写字": "VERB"}
    sentences = [f"{a}\t{words[a]}\n{b}\tVERB\n{c}\tVERB\n" for a in ("我", "你")
                 for b in ("喜欢",) for c in ("读书", "写字")] * 10  # fmt: skip
    data = tmp_path / "zh.conll"
    data.write_text("\n".join(sentences), encoding="utf-8")
    run = tmp_path / "run"
    flags = [f for f in tiny_flags(seq_len=None, batch_size=8) if f != "--no-export"]
    argv = ["--task", "tag", "--data", str(data), "--run-dir", str(run), "--steps", "3"]
    assert train.cli([*argv, *flags]) == 0
    capsys.readouterr()
    assert infer.cli([str(run), "--text", "我 喜欢 读书"]) == 0
    assert capsys.readouterr().err == ""  # split into words, as trained: nothing to say
    assert infer.cli([str(run), "--text", "我喜欢读书"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("我喜欢读书/") and err.startswith("note: '我喜欢读书' is one token")
