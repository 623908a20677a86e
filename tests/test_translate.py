"""Translation: CMUdict data and split, decoding (greedy, beam), a tiny run that learns to
reverse strings, its ONNX files against TensorFlow, and users' bad pair files."""

import itertools
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from export import api, infer, runtime
from rnn_keras.data import pairs
from rnn_keras.tasks import seq2seq, translate
from rnn_keras_common import decoding
from rnn_keras_common import train_cli as train
from rnn_keras_common.vocab import UNKNOWN, TokenVocab, Vocab, pad, translation_sources
from tests.helpers import tiny_flags

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_cmudict_split_is_by_word_and_matches_the_documented_counts():
    splits, dropped = pairs.cmudict_splits()
    assert {k: len(v) for k, v in splits.items()} == {"train": 112359, "val": 6269, "test": 6298}
    assert sum(len(v) for v in splits["train"].values()) == 120213
    assert dropped == 1126
    phonemes = {p for v in splits["train"].values() for pr in v for p in pr}
    assert len(phonemes) == 39 and not any(c.isdigit() for p in phonemes for c in p)
    assert pairs.split_of("tomato") == pairs.split_of("tomato")
    assert len(splits["train"]["tomato"]) == 2  # both pronunciations, on one side
    stressed, _ = pairs.cmudict_splits(stress=True)
    assert any(p[-1].isdigit() for p in stressed["train"]["tomato"][0])


def test_error_rates_take_the_closest_reference():
    wer, per = translate.error_rates(
        [("T", "AH", "M", "EY"), ("K", "AE", "T"), ("D", "AO")],
        [[("T", "AH", "M", "EY", "T", "OW"), ("T", "AH", "M", "AA", "T", "OW")],
         [("K", "AE", "T")], [("D", "AO", "G")]],
    )  # fmt: skip
    assert wer == pytest.approx(2 / 3)
    assert per == pytest.approx((2 + 0 + 1) / (6 + 3 + 3))


class ToyDecoder:
    """A NumPy decoder step: logits = tanh(state) @ V, state' = tanh(state @ W + E[token])."""

    def __init__(self, seed, vocab=6, units=4):
        rng = np.random.default_rng(seed)
        self.V = rng.normal(size=(units, vocab)) * 2
        self.W, self.E = rng.normal(size=(units, units)), rng.normal(size=(vocab, units))

    def __call__(self, tokens, state, rows):
        new = np.tanh(state @ self.W + self.E[tokens])
        return np.tanh(new) @ self.V, new


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_is_greedy_and_beams_come_sorted(seed):
    step = ToyDecoder(seed)
    state = np.random.default_rng(seed).normal(size=(3, 4))
    greedy = decoding.greedy(step, state, 1, 1, 12)
    beam = decoding.beam_search(step, state, 1, 1, 12, width=1)
    assert [list(b[0][0]) for b in beam] == greedy
    for hyps in decoding.beam_search(step, state, 1, 1, 12, width=4, nbest=4):
        scores = [s for _, s in hyps]
        assert scores == sorted(scores, reverse=True) and len(hyps) == 4


def test_beam_search_finds_what_greedy_misses():
    """Token 2 looks best first, but only 3 then END is likely: beam finds [3]."""

    def step(tokens, state, rows):
        table = {1: [-9, -9, 0.0, -0.3, -9], 2: [-9, -1.6, -9, -9, -1.6], 3: [-9, 0, -9, -9, -9]}
        return np.array([table[int(t)] for t in tokens], float), state

    state = np.zeros((1, 1))
    assert decoding.greedy(step, state, 1, 1, 2) == [[2]]
    assert decoding.beam_search(step, state, 1, 1, 3, width=2, alpha=0)[0][0][0] == (3,)


def test_user_pairs_split_targets_into_words_or_characters(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("".join(f"w{i}\tab c{i}\n" for i in range(10)), encoding="utf-8")
    assert pairs.read_pairs(path)[0] == ("w0", ("ab", "c0"))
    assert pairs.read_pairs(path, target_units="chars")[0] == ("w0", tuple("ab c0"))


def test_tatoeba_pairs_read_their_first_two_columns(tmp_path):
    path = tmp_path / "fra.txt"  # as keras-io's seq2seq example downloads it
    attribution = "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)"
    path.write_text("".join(f"Go {i}.\tVa {i} !\t{attribution}\n" for i in range(10)))
    assert pairs.read_pairs(path)[:2] == [("Go 0.", ("Va", "0", "!")), ("Go 1.", ("Va", "1", "!"))]


def test_a_translator_validates_and_reports_on_the_dev_file_given(tmp_path, capsys):
    data, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    data.write_text("".join(f"w{i}\tgo {i}\n" for i in range(40)), encoding="utf-8")
    dev.write_text("w1\tgo 1\nw1\tgo one\nw7\tgo 7\n", encoding="utf-8")  # w1: two answers
    run = tmp_path / "run"
    argv = ["--task", "translate", "--data", str(data), "--val-data", str(dev)]
    assert train.cli([*argv, "--run-dir", str(run), "--steps", "2", *tiny_flags(seq_len=None)]) == 0
    out = capsys.readouterr().out
    assert "40 training / 2 validation sources;" in out and "Validation file (2 sources):" in out
    examples = json.loads((run / "test.json").read_text())["examples"]
    assert [e["references"] for e in examples] == [["go 1", "go one"], ["go 7"]]
    assert json.loads((run / "data.json").read_text())["val_path"] == str(dev)
    short = ["--run-dir", str(tmp_path / "short"), "--steps", "1", "--max-output", "1"]
    assert train.cli([*argv, *short, *tiny_flags(seq_len=None)]) == 0
    assert "note: 43 of 43 targets are longer" in capsys.readouterr().out  # dev's 3 once


def test_character_targets_are_shown_as_written_not_spaced_out(tmp_path, capsys):
    data = tmp_path / "phrases.tsv"  # a target's own spaces must survive the report
    data.write_text("".join(f"w{i}\tgo {i}!\n" for i in range(60)), encoding="utf-8")
    run = tmp_path / "run"
    argv = ["--task", "translate", "--data", str(data), "--target-units", "chars"]
    assert train.cli([*argv, "--run-dir", str(run), "--steps", "2", *tiny_flags(seq_len=None)]) == 0
    results = json.loads((run / "test.json").read_text())
    examples = results["examples"]
    assert examples and all(e["references"] == [f"go {e['source'][1:]}!"] for e in examples)
    out = capsys.readouterr().out
    assert f"(your file: {examples[0]['references'][0]})" in out
    assert 0.0 <= results["beam_1"]["bleu"] <= 1.0  # BLEU on the joined text, as for words
    assert "note:" not in out  # "go 59!": 6 characters, within --max-output
    again = ["--run-dir", str(tmp_path / "short"), "--steps", "1", "--max-output", "5"]
    assert train.cli([*argv, *again, *tiny_flags(seq_len=None)]) == 0
    assert (  # "go 10!" .. "go 59!": 50 of the 60 are 6 characters
        "note: 50 of 60 targets are longer than --max-output 5 tokens (the longest 6): decoding "
        "stops at 5, so they never come out whole. Pass --max-output 6 to decode them in full."
    ) in capsys.readouterr().out


def reversal_tsv(path):
    rows = ["".join(t) for n in (2, 3, 4) for t in itertools.product("abcd", repeat=n)]
    path.write_text("".join(f"{s}\t{' '.join(reversed(s))}\n" for s in rows), encoding="utf-8")
    return path


def _reversal_run(tmp_path_factory, name, steps, extra, **flags):
    folder = tmp_path_factory.mktemp(name)
    data, run = reversal_tsv(folder / "rev.tsv"), folder / "run"
    flags = [f for f in tiny_flags(**{"seq_len": None, **flags}) if f != "--no-export"]
    argv = ["--task", "translate", "--data", str(data), "--run-dir", str(run), "--steps", steps]
    assert train.cli([*argv, *flags, "--beam", "3", *extra]) == 0
    return run


@pytest.fixture(scope="module")
def reversal_run(tmp_path_factory):
    """A run that learns to reverse strings of a-d, exported to ONNX."""
    # 32 units: at 24, with W at the default gain 0.5, beam 3 ended "bdd" a token early;
    # one-hot: 64-dim N(0, 1) embeddings saturate so small a model (WER 11% at 250 steps);
    # unsmoothed: with translate's 0.1 the beam of 3 ended 1 of 36 words wrongly at 250 steps
    extra = ["--lr", "0.01", "--embedding", "0", "--label-smoothing", "0"]
    flags = dict(units=32, batch_size=16, eval_every=250, eval_batches=0, warmup_steps=10)
    return _reversal_run(tmp_path_factory, "reverse", "250", extra, **flags)


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory):
    """A short run with letters and phonemes embedded (the CMUdict default), exported."""
    # barely trained: it may never end a word, so both sides stop at the same length
    extra = ["--embedding", "8", "--max-output", "16"]
    return _reversal_run(tmp_path_factory, "embedded", "30", extra, units=8, batch_size=16,
                         warmup_steps=5)  # fmt: skip


HELD_OUT = ["dcba", "abcd", "ca", "bdd"]


def test_an_exported_translator_scores_a_pairs_file(embedded_run, tmp_path, capsys):
    import sacrebleu

    model = runtime.load(embedded_run / "encoder.onnx")  # barely trained: some answers wrong
    sources = ["abc", "dab", "cc", "abcd", "ba"]
    test = tmp_path / "test.tsv"  # "dab" has two right answers; "abz" cannot be read
    rows = [(s, " ".join(reversed(s))) for s in sources] + [("dab", "b a"), ("abz", "z b a")]
    test.write_text("".join(f"{s}\t{t}\n" for s, t in rows), encoding="utf-8")
    found = model.translate(sources, beam=2)
    answers = {s: [t for s2, t in rows if s2 == s] for s in sources}
    wrong = sum(f not in answers[s] for s, f in zip(sources, found)) + 1  # + "abz"
    refs = [
        [" ".join(reversed(s)) for s in sources + ["abz"]],
        [None, "b a", None, None, None, None],
    ]
    bleu = sacrebleu.corpus_bleu([*found, ""], refs).score
    assert infer.cli([str(embedded_run), "--evaluate", str(test), "--beam", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{test}: 6 sources, beam 2; WER {wrong / 6:.4f}, PER ")
    assert out[0].endswith(f", BLEU {bleu:.1f}")
    assert (
        out[1]
        == "1 source(s) hold characters the model never saw in training, counted as wrong: 'abz'"
    )
    assert infer.cli([str(embedded_run), "--evaluate", str(test), "--nbest", "2"]) == 2
    assert "leave out --text, --image, --lines and --nbest" in capsys.readouterr().err


def test_a_cmudict_models_evaluation_drops_stress_as_its_training_did(reversal_run, tmp_path):
    from export import evaluate

    model = runtime.load(reversal_run / "encoder.onnx")  # learned: every answer right
    plain, stressed = tmp_path / "plain.tsv", tmp_path / "stressed.tsv"
    plain.write_text("ABC\tc b a\nca\ta c\n", encoding="utf-8")  # capitals read as typed
    stressed.write_text("abc\tc1 b0 a\nca\ta2 c\n", encoding="utf-8")  # CMUdict's digits
    assert evaluate.evaluate(model, plain)["wer"] == 0.0
    model.meta["config"] = {**model.meta["config"], "data": None, "stress": False}  # CMUdict's
    assert evaluate.evaluate(model, stressed)["wer"] == 0.0
    model.meta["config"]["stress"] = True  # trained with --stress: the digits must match
    assert evaluate.evaluate(model, stressed)["wer"] == 1.0


def test_an_evaluation_of_character_targets_scores_bleu_on_their_joined_text(
    reversal_run, tmp_path
):
    from export import evaluate

    model = runtime.load(reversal_run / "encoder.onnx")  # learned: every answer right
    model.meta["config"] = {**model.meta["config"], "target_units": "chars"}
    test = tmp_path / "test.tsv"  # read as characters, spaces included, joined back as written
    test.write_text("abcd\td c b a\nabc\tc b a\ndab\tb a d\n", encoding="utf-8")
    assert evaluate.evaluate(model, test)["bleu"] == pytest.approx(1.0)


def test_a_tiny_run_learns_to_reverse_and_reports_the_test_split(reversal_run):
    results = json.loads((reversal_run / "test.json").read_text())
    assert results["beam_1"]["wer"] == 0.0 and results["beam_3"]["wer"] == 0.0
    assert results["beam_1"]["bleu"] == pytest.approx(1.0) == results["beam_3"]["bleu"]
    model = runtime.load(reversal_run / "encoder.onnx")
    assert model.translate(HELD_OUT) == [" ".join(reversed(s)) for s in HELD_OUT]
    assert model.translate(HELD_OUT, beam=3) == [" ".join(reversed(s)) for s in HELD_OUT]
    for size in (1, 3):  # decoded a few at a time: the same answers, in order
        assert model.translate(HELD_OUT, beam=3, batch_size=size) == model.translate(
            HELD_OUT, beam=3
        )
    with pytest.raises(ValueError, match="batch_size"):
        model.translate(HELD_OUT, batch_size=0)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """`--no-attention`: its `keys` are empty, `(batch, positions, 0)`; exported all the same."""
    extra = ["--embedding", "8", "--max-output", "16", "--no-attention"]
    return _reversal_run(tmp_path_factory, "embedded-plain", "30", extra, units=8, batch_size=16,
                         warmup_steps=5)  # fmt: skip


@pytest.mark.parametrize("run", ["reversal_run", "embedded_run", "plain_run"])
def test_onnxruntime_decodes_what_tensorflow_decodes(run, request):
    run = request.getfixturevalue(run)
    model, cfg, vocab, labels = api.load_run_model(run)
    assert (model.get_layer("decoder").embedding_dim == 8) == run.parent.name.startswith("embedded")
    ort = runtime.load(run / "encoder.onnx")
    sources = ["a", "dd", "abca", "cab", "bbbb", "da"]
    tf_side = seq2seq.KerasDecoding(model)
    ids = pad([vocab.encode(s) for s in sources])
    for beam in (1, 3):
        want = [[(" ".join(ort.targets.decode_tokens(t)), s) for t, s in h]
                for h in tf_side.decode(ids, 16, beam, nbest=beam)]  # fmt: skip
        got = ort.translate(sources, beam=beam, nbest=beam)
        if beam == 1:
            got = [[(g, None)] for g in ort.translate(sources)]
        assert [[t for t, _ in h] for h in got] == [[t for t, _ in h] for h in want]
        if beam > 1:
            np.testing.assert_allclose(
                [s for h in got for _, s in h], [s for h in want for _, s in h], atol=1e-4
            )


def test_infer_prints_the_translation_and_refuses_unknown_characters(reversal_run, capsys):
    assert infer.main([str(reversal_run / "encoder.onnx"), "--text", "abc", "--beam", "3"]) == 0
    assert capsys.readouterr().out.strip() == "c b a"
    assert infer.main([str(reversal_run / "encoder.onnx"), "--text", "abc", "--nbest", "2"]) == 0
    best = capsys.readouterr().out.strip().splitlines()
    assert len(best) == 2 and best[0].endswith("  c b a")
    assert float(best[0].split()[0]) >= float(best[1].split()[0])
    assert infer.cli([str(reversal_run / "encoder.onnx"), "--text", "abz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'z'" in err[0]


def test_max_output_cuts_decoding_and_says_how_many_outputs_it_cut(reversal_run, capsys):
    encoder = str(reversal_run / "encoder.onnx")  # the reversing run: "abc" is "c b a"
    assert infer.main([encoder, "--text", "abc ab"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["abc  c b a", "ab  b a"] and "note:" not in out.err
    assert infer.main([encoder, "--text", "abc ab", "--max-output", "2", "--beam", "3"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["abc  c b", "ab  b a"]  # the end would be a third token
    assert "note: 2 output(s) reached your --max-output of 2 tokens before" in out.err
    model = runtime.load(encoder)
    assert model.translate(["abc"], max_len=1) == ["c"] and model.capped == 1
    assert model.translate(["abc"]) == ["c b a"] and model.capped == 0  # the run's limit
    assert infer.cli([encoder, "--text", "abc", "--max-output", "0"]) == 2
    assert "--max-output) must be an integer >= 1, got 0" in capsys.readouterr().err
    assert infer.cli([encoder, "--text", "abc", "--beam", "0"]) == 2
    assert "beam (--beam) and nbest (--nbest) must be" in capsys.readouterr().err


def test_one_string_is_one_text_not_its_characters(reversal_run):
    model = runtime.load(reversal_run / "encoder.onnx")
    assert model.translate("abc") == model.translate(["abc"]) == ["c b a"]


def test_infer_translates_a_file_of_words_line_by_line(reversal_run, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("ABC dcb\n\nab\n", encoding="utf-8")
    assert infer.main([str(reversal_run / "encoder.onnx"), "--text", str(words)]) == 0
    assert capsys.readouterr().out.splitlines() == ["abc  c b a", "dcb  b c d", "ab  b a"]
    words.write_bytes(b"\xff\xfeab")
    assert infer.cli([str(reversal_run / "encoder.onnx"), "--text", str(words)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_infer_refuses_flags_a_translator_would_ignore(reversal_run, capsys):
    encoder = str(reversal_run / "encoder.onnx")
    assert infer.cli([encoder, "--text", "abc", "--temperature", "0.5", "--fast"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--temperature (for lm models) and --fast" in err[0], err
    assert infer.cli([encoder, "--text", "abc", "--image", "x.png"]) == 2
    assert "--image (for caption models)" in capsys.readouterr().err


def test_export_refuses_a_path_an_encoder_decoder_would_ignore(reversal_run, tmp_path, capsys):
    from export import __main__ as export_cli

    out = tmp_path / "out"
    assert export_cli.cli([str(reversal_run), "--path", "native", "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--path native: a translate run exports in one form" in err[0]
    assert not out.exists()  # refused before anything is written
    assert export_cli.cli([str(reversal_run), "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["decoder_step.onnx", "encoder.onnx"]


def test_infer_translates_each_word_of_a_text_lowercased(reversal_run, capsys):
    # the vocabulary is a-d: no space and no capitals, like CMUdict's words
    encoder = str(reversal_run / "encoder.onnx")
    assert infer.main([encoder, "--text", " ABC  dcb "]) == 0
    assert capsys.readouterr().out.splitlines() == ["abc  c b a", "dcb  b c d"]
    assert infer.main([encoder, "--text", "Abc", "--nbest", "2", "--beam", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].endswith("  c b a")  # one word: no header
    assert infer.main([encoder, "--text", "abc Bd", "--nbest", "2", "--beam", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [lines[0], lines[3]] == ["abc", "bd"] and lines[1].endswith("  c b a")
    assert infer.cli([encoder, "--text", "   "]) == 2
    assert "at least one character" in capsys.readouterr().err


@pytest.mark.parametrize(
    "chars, text, sources",
    [
        ("abc", "Ab  cA", ["ab", "ca"]),
        ("aAbc", "Ab  cA", ["Ab", "cA"]),  # capitals in the vocabulary: kept
        ("abc ", "Ab  cA", ["ab  ca"]),  # a space in the vocabulary: one source, as typed
    ],
)
def test_the_text_is_split_and_lowercased_only_where_the_vocabulary_says(chars, text, sources):
    assert translation_sources(Vocab(chars), text) == sources


def test_token_vocabularies_take_the_text_as_it_is():
    vocab = TokenVocab([UNKNOWN, "The", "cat"])  # their own split happens when encoding
    assert translation_sources(vocab, "The  cat") == ["The  cat"]


def test_translating_in_onnxruntime_imports_no_tensorflow(reversal_run):
    code = (
        "import sys; from export import runtime; "
        f"m = runtime.load({str(reversal_run / 'encoder.onnx')!r}); "
        "print(m.translate(['abc'], beam=2)[0]); print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split("\n")[:2] == ["c b a", "False"], done.stderr[-2000:]


def test_the_decoder_step_file_is_refused_as_an_entry_point(reversal_run):
    with pytest.raises(ValueError, match="by its encoder file"):
        runtime.load(reversal_run / "decoder_step.onnx")


@pytest.mark.parametrize(
    "content, message",
    [
        ("abc\n" * 20, "line 1: 1 tab-separated column"),
        ("en,fr\nhi,salut\n" * 12, "pairs.csv: --task translate reads tab-separated pairs"),
        ("abc\ta b c\n" * 15 + "abd\t \n", "line 16: the target is empty"),
        ("abc\ta\tb\n" * 12 + "abc\ta\n", "line 13: 2 tab-separated column(s); expected 3, as"),
        ("abc\ta\n" * 12 + "abc\ta\tb\n", "line 13: 3 tab-separated column(s); expected 2 ("),
        ("ab\ta b\n" * 3, "3 pair(s); give at least 10"),
        (b"ab\ta b\n" * 12 + b"\xff\tx\n", "line 13: not UTF-8"),
    ],
)
def test_bad_pair_files_get_one_error_line(tmp_path, capsys, content, message):
    path = tmp_path / ("pairs.csv" if content[:3] == "en," else "pairs.tsv")
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = ["--task", "translate", "--data", str(path), "--run-dir", str(tmp_path / "run")]
    assert train.cli([*argv, "--steps", "2", *tiny_flags(seq_len=None)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err
    assert not (tmp_path / "run").exists()


def test_inspect_draws_where_a_reversing_decoder_looks(reversal_run, capsys):
    from rnn_keras.inspect import __main__ as inspect_cli
    from rnn_keras.inspect import attention

    model, _, vocab, _ = api.load_run_model(reversal_run)
    [(outputs, alpha)] = attention.attention_maps(model, [vocab.encode("abcd")], 16)
    assert alpha.shape == (len(outputs) + 1, 4)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-5)
    peaks = alpha[:-1].argmax(axis=1)  # the first output reads the last letter, and so on
    assert peaks[0] == 3 and peaks[-1] == 0
    out = reversal_run / "inspect"
    assert inspect_cli.main([str(reversal_run), "--text", "abcd ab", "--out", str(out)]) == 0
    assert (out / "attention.png").stat().st_size > 5000
    assert "abcd: d c b a" in capsys.readouterr().out
    page = (out / "index.html").read_text(encoding="utf-8")  # one page, as for other runs
    assert f"The attention of {reversal_run.name}" in page and "data:image/png;base64," in page
    [first, _] = json.loads((out / "report.json").read_text())["attention"]
    share = f"{first['monotone_share']:.0%}"  # reversed: the peak moves left at most steps
    assert f"<td>abcd</td><td>d c b a</td><td>{share}</td>" in page and share != "100%"


def test_inspect_refuses_what_a_translation_run_would_ignore(reversal_run, tmp_path, capsys):
    from rnn_keras.inspect import __main__ as inspect_cli

    out = tmp_path / "figures"
    assert inspect_cli.cli([str(reversal_run), "--windows", "3", "--out", str(out)]) == 2
    assert inspect_cli.cli([str(reversal_run), "--image", "x.png", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "would ignore --windows" in err[0] and "--image" in err[1], err
    assert not out.exists()


def test_inspect_reads_text_as_infer_does(reversal_run, tmp_path, capsys):
    # "ABC dcb" was refused for 'A' (infer lowercases and takes each word); a file: by line
    from rnn_keras.inspect import __main__ as inspect_cli

    words = tmp_path / "words.txt"
    words.write_text("ABC dcb\n\nab\n")
    assert inspect_cli.cli([str(reversal_run), "--text", str(words), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())["attention"]
    assert [r["source"] for r in report] == ["abc", "dcb", "ab"]
    assert inspect_cli.cli([str(reversal_run), "--text", "  ", "--out", str(tmp_path)]) == 2
    assert "holds nothing to translate" in capsys.readouterr().err


def test_inspect_of_a_run_without_attention_is_one_line(plain_run, capsys):
    from rnn_keras.inspect import __main__ as inspect_cli

    assert inspect_cli.cli([str(plain_run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--no-attention" in err[0] and "no attention to see" in err[0]


def test_corpus_bleu_of_chinese_counts_each_ideograph_as_sacrebleu_zh_does():
    import sacrebleu

    from rnn_keras_common.scores import corpus_bleu

    hyps, refs = ["我们今天去公园散步。", "他喜欢读书"], [["我们今天去公园跑步。"], ["他喜欢读书"]]
    want = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs]], tokenize="zh").score / 100
    assert corpus_bleu(hyps, refs) == pytest.approx(want) and 0.5 < want < 1.0
    assert sacrebleu.corpus_bleu(hyps[:1], [refs[0]]).score == 0.0  # 13a: one token a sentence


def test_corpus_bleu_takes_any_number_of_references_per_sentence():
    from rnn_keras_common.scores import corpus_bleu

    hyps = ["the cat sat on the mat", "a dog ran in the park today"]
    refs = [["the cat sat on the mat"], ["one more", "a dog ran in the park today"]]
    assert corpus_bleu(hyps, refs) == pytest.approx(1.0)  # each matches one of its references
    worse = corpus_bleu(["the cat sat on a mat", hyps[1]], refs)
    assert 0.5 < worse < 1.0


def test_a_translation_run_resumes_from_its_checkpoint(tmp_path, capsys):
    data, run = reversal_tsv(tmp_path / "rev.tsv"), tmp_path / "run"
    argv = ["--task", "translate", "--data", str(data), "--run-dir", str(run)]
    assert (
        train.cli([*argv, "--steps", "4", *tiny_flags(eval_every=4, batch_size=8, seq_len=None)])
        == 0
    )
    assert train.cli(["--resume", str(run), "--steps", "8"]) == 0
    assert "(your file: " in capsys.readouterr().out  # its references are not CMUdict's
    rows = (run / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["4", "8"]
    assert "val_bleu" in rows[0].split(",")
    assert json.loads((run / "test.json").read_text())["beam_5"]["wer"] <= 1.0


def test_recurrent_gain_reaches_encoder_and_decoder_and_survives_a_keras_file(tmp_path):
    import keras

    model = translate.translator(9, 7, units=4, num_layers=2, recurrent_gain=0.5)
    ws = [v.numpy() for v in model.weights if v.path.endswith("recurrent_kernel")]
    assert len(ws) == 5  # 2 layers x 2 directions, and the decoder
    for w in ws:
        np.testing.assert_allclose(w.T @ w, 0.25 * np.eye(len(w)), atol=1e-5)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    decoder = again.get_layer("decoder")
    assert decoder.get_config()["recurrent_initializer"]["config"]["gain"] == 0.5


@pytest.mark.parametrize("embedding", [0, 5])
def test_letters_and_phonemes_enter_one_hot_or_embedded(embedding):
    model = translate.translator(9, 7, units=4, embedding=embedding)
    names = {layer.name for layer in model.layers}
    decoder = model.get_layer("decoder")
    if embedding:
        assert "embedding" in names and "one_hot" not in names
        assert model.get_layer("embedding").embeddings.shape == (9, 5)
        assert decoder.embeddings.shape == (7, 5) and decoder.cell.kernel.shape[0] == 5 + 8
    else:
        assert "one_hot" in names and "embedding" not in names
        assert not hasattr(decoder, "embeddings") and decoder.cell.kernel.shape[0] == 7 + 8
