"""`python -m rnn_keras.inspect`: the decay curves against the explicit BPTT and the
geometric decay theory predicts, and a self-contained page that opens in Chromium."""

import importlib
import math
import pathlib
import re
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_keras import bptt
from rnn_keras.inspect import __main__ as inspect_cli
from rnn_keras.inspect import decay, unrolled
from rnn_keras.layers import RNN, OneHot
from rnn_keras.tasks.lm import char_lm
from rnn_keras_common import train_cli as train
from tests.helpers import cli_flags, data_flags, play_text, rule_conll, rule_tsv, tiny_flags


@pytest.mark.parametrize("embedding", [0, 4])
def test_unrolled_outputs_equal_the_keras_model(embedding):
    model = char_lm(9, 6, 2, embedding=embedding)
    tokens = np.random.default_rng(0).integers(1, 9, (3, 12)).astype(np.int32)
    logits, directions = unrolled.run(model, tf.constant(tokens))
    states = [np.zeros((3, 6), np.float32)] * 2
    expected = model([tokens, *states])[0]
    np.testing.assert_allclose(np.asarray(logits), np.asarray(expected), atol=1e-5)
    assert [d.name for d in directions] == ["rnn_0 forward", "rnn_1 forward"]


def test_loss_gradient_decay_equals_the_explicit_bptt():
    model = char_lm(7, 5, 1)
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 7, (4, 10)).astype(np.int32)
    targets = rng.integers(1, 7, (4, 10)).astype(np.int32)
    got = decay.loss_gradient_norms(model, tokens, targets)["rnn_0 forward"]
    cell, head = model.get_layer("rnn_0").cell, model.get_layer("head")
    U, W, b = (np.asarray(v, np.float64) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    V, c = np.asarray(head.kernel, np.float64), np.asarray(head.bias, np.float64)
    x = np.eye(7)[tokens]
    states = bptt.rnn_states(x, U, W, b, np.zeros((4, 5)))
    z = np.stack(states[1:], 1) @ V + c
    _, dz = bptt.softmax_loss(z[:, -1:], targets[:, -1:])  # L_T: the last step only
    _, df = bptt.ACTIVATIONS["tanh"]
    g = dz[:, 0] @ V.T  # dL_T/ds_T
    want = [np.linalg.norm(g, axis=-1)]
    for k in range(10, 1, -1):  # dL/ds_{k-1} = (dL/ds_k * f'(s_k)) W^T, states[k] = s_k
        g = (g * df(states[k])) @ W.T
        want.append(np.linalg.norm(g, axis=-1))
    np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-4)


def test_recurrent_jacobian_norms_equal_autodiff_jacobians():
    model = char_lm(7, 5, 2)
    for layer in ("rnn_0", "rnn_1"):  # a W far from the identity, so the product's order counts
        cell = model.get_layer(layer).cell
        cell.recurrent_kernel.assign(np.random.default_rng(3).normal(0, 0.8, (5, 5)))
    tokens = np.random.default_rng(4).integers(1, 7, (3, 8)).astype(np.int32)
    with tf.GradientTape(persistent=True) as tape:
        _, directions = unrolled.run(model, tf.constant(tokens))
    for d in directions:
        want = [
            np.linalg.norm(tape.batch_jacobian(d.states[-1], s), axis=(1, 2))
            for s in d.states[::-1]  # distance 0 (the identity) to T - 1
        ]
        np.testing.assert_allclose(unrolled.recurrent_jacobian_norms(d), np.stack(want, 1), 1e-4)
    del tape


def linear_rnn(scale, units=4):
    tokens = keras.Input((None,), dtype="int32")
    h = OneHot(5)(tokens)
    layer = RNN(units, activation="linear", return_sequences=True, name="rnn_0")
    h = layer(h)
    model = keras.Model(tokens, keras.layers.Dense(5, name="head")(h))
    layer.cell.recurrent_kernel.assign(scale * np.eye(units, dtype=np.float32))
    return model


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_identity_keeps_and_contraction_decays_geometrically(scale):
    tokens = np.random.default_rng(2).integers(1, 5, (3, 20)).astype(np.int32)
    norms = decay.jacobian_norms(linear_rnn(scale), tokens)["rnn_0 forward"]
    slope = np.polyfit(np.arange(20), np.log(norms.mean(0)), 1)[0]
    assert slope == pytest.approx(math.log(scale), abs=1e-6)  # 0 for the identity: no decay
    np.testing.assert_allclose(norms[:, 0], 2.0)  # ||I||_F of 4 units


def test_loss_gradient_norms_hold_their_geometric_decay_below_float32s_square_root_range():
    # 0.5^k reaches 1e-30 at k = 99: the gradient itself is a normal float32 number, but
    # its square is not, so a float32 norm read 0 from about k = 75
    tokens = np.random.default_rng(2).integers(1, 5, (3, 100)).astype(np.int32)
    norms = decay.loss_gradient_norms(linear_rnn(0.5), tokens, tokens)["rnn_0 forward"]
    steps = np.log(norms[:, 1:] / norms[:, :-1])
    np.testing.assert_allclose(steps, math.log(0.5), atol=1e-4)  # no 0, no plunge


def test_fall_distances_read_as_words_also_when_the_curve_never_falls():
    halving = decay.summary(np.tile(0.5 ** np.arange(20.0), (3, 1)))
    assert decay.fall_text(halving, "fall_10x") == "within 4 steps"  # 0.5^4 <= 0.1 < 0.5^3
    flat = decay.summary(np.ones((3, 20)))
    assert flat["fall_10x"] is None
    assert decay.fall_text(flat, "fall_10x") == "not within the 19 steps measured"
    short = decay.summary(np.ones((3, 2)))  # a two-word --text measures one step back
    assert decay.fall_text(short, "fall_10x") == "not within the 1 step measured"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect")
    text = play_text(folder, "hamlet", 8000)
    made = {}
    for name, extra in (
        ("lm", ["--layers", "2"]),
        ("tag", ["--task", "tag", "--layers", "2"]),
        ("lm1", ["--layers", "1"]),  # one recurrence: no second direction to compare
    ):
        made[name] = folder / name
        flags = cli_flags(text, made[name], 4, units=8, batch_size=4, seq_len=20)
        assert train.cli([*flags, *extra]) == 0
    return made


def test_the_cli_writes_every_figure_and_a_self_contained_page(runs, capsys):
    assert inspect_cli.cli([str(runs["tag"]), "--windows", "4", "--length", "30"]) == 0
    out = runs["tag"] / "inspect"
    for name in ("decay.png", "units.png", "directions.png", "report.json", "index.html"):
        assert (out / name).is_file(), name
    printed = capsys.readouterr().out
    assert "bidirectional_1 backward" in printed and "falls 10x within" in printed
    assert printed.count("(untrained: 10x ") == printed.count("falls 10x ")  # beside each
    page = (out / "index.html").read_text()
    own = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert "data:image/png;base64," in page  # the figures are inside the page
    assert not re.search(r"https?:|//[a-z0-9]|url\(", own)  # and nothing is fetched
    assert (
        inspect_cli.cli(
            [
                str(runs["lm"]),
                "--text",
                "To be, or not to be, " * 10,
                "--windows",
                "2",
                "--length",
                "20",
                "--out",
                str(runs["lm"] / "fig"),
            ]
        )
        == 0
    )
    assert (runs["lm"] / "fig" / "index.html").is_file()


def test_a_one_layer_lm_is_inspected_without_a_directions_figure(runs, tmp_path):
    assert inspect_cli.cli([str(runs["lm1"]), "--windows", "2", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "units.png").is_file() and not (tmp_path / "directions.png").exists()


def test_a_character_classifier_is_inspected_without_a_directions_figure(tmp_path):
    """Its head reads the pooled states, not `[h_f, h_b]` at each step (it raised)."""
    data = tmp_path / "x.tsv"
    data.write_text("".join(f"{w} {w}\t{w[0]}\n" for w in ["ab", "ba", "aab", "bba"] * 8))
    flags = ["--task", "classify", "--unit", "char", "--data", str(data), "--layers", "1"]
    run = tmp_path / "run"
    assert (
        train.cli(
            [*flags, "--run-dir", str(run), "--steps", "2", *tiny_flags(units=4, seq_len=None)]
        )
        == 0
    )
    assert inspect_cli.cli([str(run), "--windows", "2", "--length", "4"]) == 0
    written = {p.name for p in (run / "inspect").iterdir()}
    assert "units.png" in written and "directions.png" not in written


def test_the_page_opens_in_chromium_without_console_errors(runs):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not pathlib.Path(chromium).is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    out = runs["lm"] / "inspect"
    if not (out / "index.html").is_file():
        assert inspect_cli.cli([str(runs["lm"]), "--windows", "2", "--length", "20"]) == 0
    # a segmenter's passage has no spaces: one 300-character word, which must still wrap
    long = runs["tag"] / "inspect-long"
    assert inspect_cli.cli([str(runs["tag"]), "--windows", "2", "--out", str(long)]) == 0
    errors, wide = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1000, "height": 800})
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        for page in (out, long):
            tab.goto((page / "index.html").as_uri())
            spans = tab.locator("#text span").count()
            options = tab.locator("#unit option").count()
            assert spans > 100 and options > 0, page
            if tab.evaluate("document.documentElement.scrollWidth > innerWidth"):
                wide.append(page)
        browser.close()
    assert not errors and not wide  # nothing runs off the side of the window


def test_the_held_out_passage_starts_at_a_whole_line(runs):
    from rnn_keras.inspect import report
    from rnn_keras_common.run_config import read_run_config

    cfg = read_run_config(runs["lm"])
    whole = pathlib.Path(cfg.text).read_text(encoding="utf-8")
    tail = report.run_text(runs["lm"], cfg, None)
    assert len(tail) > 100 and whole.endswith(tail)
    assert whole[len(whole) - len(tail) - 1] == "\n"  # not cut inside a word
    assert report.from_line_start("no newline at all") == "no newline at all"
    assert report.from_line_start("ends here\n") == "ends here\n"


def test_a_run_given_val_data_is_inspected_on_that_file(runs, tmp_path):
    """All of its --text trained: the held-out text is its --val-data file."""
    import dataclasses

    from rnn_keras.inspect import report
    from rnn_keras_common.run_config import read_run_config

    valid = tmp_path / "valid.txt"
    valid.write_text("Held out\nby the user.\n", encoding="utf-8")
    cfg = dataclasses.replace(read_run_config(runs["lm"]), val_data=str(valid))
    assert report.run_text(runs["lm"], cfg, None) == "Held out\nby the user.\n"


@pytest.mark.parametrize("task, unit", [("tag", None), ("classify", "word"), ("classify", "char")])
def test_a_data_run_is_inspected_on_its_examples_not_its_files_raw_lines(tmp_path, task, unit):
    """A CoNLL file's tag column and a TSV's labels are not text the model reads; a tagger's
    tags are its targets. Read from the file, then from the sample once the file has moved."""
    import dataclasses

    from rnn_keras.inspect import report
    from rnn_keras.train import runs as run_files
    from rnn_keras_common.run_config import read_run_config

    if task == "tag":
        data, extra = rule_conll(tmp_path / "t.conll", n=40), ["--task", "tag"]
    else:
        data, extra = rule_tsv(tmp_path / "x.tsv", n=60), ["--task", "classify", "--unit", unit]
    run = tmp_path / "run"
    assert train.cli(data_flags(data, run, 2, *extra)) == 0
    cfg, (vocab, labels) = read_run_config(run), run_files.read_vocab(run)
    examples = report.run_text(run, cfg, None)
    ids, targets = report.streams(cfg, vocab, examples, labels)
    if task == "tag":  # NUM for a number, CAP for a capital, LOW otherwise (rule_conll)
        words = [vocab.chars[i - 1] for i in ids]  # id 0 is padding
        want = ["NUM" if w.isdigit() else "CAP" if w[0].isupper() else "LOW" for w in words]
        assert [labels[t] for t in targets] == want and "<unk>" not in words
    else:  # every text, and nothing else: no label, no tab
        assert targets is None
        texts = "\n".join(t for t, _ in examples)
        want = vocab.split(texts) if unit == "word" else [c for c in texts if c in vocab.chars]
        assert [vocab.chars[i - 1] for i in ids] == want and "has_x" not in texts
    moved = dataclasses.replace(cfg, data=str(tmp_path / "gone" / data.name))  # read the sample
    assert report.run_text(run, moved, None)[:5] == examples[:5]
    assert inspect_cli.cli([str(run), "--windows", "2", "--length", "8"]) == 0


def test_bad_run_folders_are_one_line(tmp_path, runs, capsys):
    assert inspect_cli.cli([str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(runs["lm"], broken)
    (broken / "best.keras").write_bytes(b"junk")
    assert inspect_cli.cli([str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


@pytest.mark.parametrize("main", ["rnn_keras.inspect", "export.infer"])
def test_a_seed_out_of_trainings_range_is_one_argument_error(runs, capsys, main):
    module = importlib.import_module(f"{main}.__main__" if main.endswith("inspect") else main)
    with pytest.raises(SystemExit) as stop:  # numpy's SeedSequence raised on -1 in inspect
        module.main([str(runs["lm"]), "--seed", "-1"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--seed: must be an integer in [0, 4294967295], got -1" in err


def test_a_window_of_one_character_is_refused_as_it_measures_no_decay(runs, capsys):
    with pytest.raises(SystemExit) as stop:
        inspect_cli.cli([str(runs["lm"]), "--length", "1"])
    assert stop.value.code == 2 and "--length must be in [2, 10000]" in capsys.readouterr().err


def test_an_out_that_is_a_file_is_refused(tmp_path, runs, capsys):
    (tmp_path / "figures").write_text("mine")
    with pytest.raises(SystemExit) as stop:
        inspect_cli.cli([str(runs["lm"]), "--out", str(tmp_path / "figures")])
    assert stop.value.code == 2 and "is a file" in capsys.readouterr().err
    assert (tmp_path / "figures").read_text() == "mine"


def test_the_pages_unit_colours_scale_to_an_unbounded_units_largest_value(tmp_path):
    # |s| of tanh <= 1 keeps its value as the colour's alpha; a relu unit's largest is full
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not pathlib.Path(chromium).is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from rnn_keras.inspect import page

    units = {"tanh": [0.5, -0.25, 1.0], "relu": [4.0, 1.0, 0.0]}
    page.write(tmp_path / "p.html", "t", [], text="abc", units=units)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.goto((tmp_path / "p.html").as_uri())
        alphas = {}
        for unit in units:
            tab.select_option("#unit", unit)
            styles = tab.eval_on_selector_all("#text span", "s => s.map(e => e.style.background)")
            # an alpha of 1 reads back as rgb(...), any other as rgba(..., alpha)
            alphas[unit] = [float(s.rsplit(",", 1)[1].rstrip(")")) if s.startswith("rgba")
                            else 1.0 for s in styles]  # fmt: skip
        browser.close()
    assert alphas["tanh"] == [0.5, 0.25, 1.0]
    assert alphas["relu"] == [1.0, 0.25, 0.0]


def test_a_short_text_is_one_window_unless_length_is_given(runs, tmp_path, capsys):
    # README's own example: a sentence is shorter than the default 100-step window
    args = [str(runs["tag"]), "--text", "To be, or not to be, that is the question"]
    assert inspect_cli.cli([*args, "--out", str(tmp_path / "tag")]) == 0
    assert (tmp_path / "tag" / "report.json").is_file()
    assert inspect_cli.cli([str(runs["lm"]), "--text", "To be, or not to be", "--out",
                            str(tmp_path / "lm")]) == 0  # fmt: skip
    capsys.readouterr()
    assert inspect_cli.cli([str(runs["lm"]), "--text", "To be, or not", "--length", "50"]) == 2
    assert inspect_cli.cli([str(runs["tag"]), "--text", "Tobeornottobe"]) == 2  # no word ends
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "fewer than one window of 51" in err[0], err
    assert "no line of two or more words" in err[1]


def test_an_out_folder_that_cannot_be_made_is_one_line_and_nothing_is_left(runs, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    assert inspect_cli.cli([str(runs["lm"]), "--out", str(tmp_path / "file" / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot make the folder (Not a directory)" in err[0]
    # a text too short fails after the check: the folders the check made are gone again
    out = tmp_path / "new" / "deeper"
    assert inspect_cli.cli([str(runs["lm"]), "--out", str(out), "--text", "ab"]) == 2
    assert "2 usable tokens" in capsys.readouterr().err and not (tmp_path / "new").exists()
