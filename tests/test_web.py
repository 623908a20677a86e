"""`python -m export.web`: the exported models in headless Chromium through onnxruntime-web,
giving Python's answers (the same text for the same seed)."""

import itertools
import pathlib
import re
import shutil
import threading

import numpy as np
import pytest

from export import runtime, web
from export.web import __main__ as web_cli
from rnn_keras_common import train_cli as train
from rnn_keras_common.vocab import words
from tests.helpers import cli_flags, play_text, rule_conll, tiny_flags

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not pathlib.Path(CHROMIUM).is_file(), reason="Debian's chromium is not installed"
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    text = play_text(folder, "hamlet", 8000)
    made = {}
    for task, extra in (("lm", []), ("tag", ["--layers", "2"]), ("classify", ["--unit", "char"])):
        made[task] = folder / task
        flags = cli_flags(text, made[task], 6, units=12, batch_size=4, seq_len=20)
        flags = [f for f in flags if f != "--no-export"]
        if task == "classify":  # the bundled plays, passages of 4 lines
            i = flags.index("--text")
            flags = flags[:i] + flags[i + 2 :] + ["--seq-len", "4", "--batch-size", "16"]
        assert train.cli([*flags, "--task", task, *extra]) == 0
    pairs = folder / "pairs.tsv"  # a user's pairs: spaces and capitals, targets as characters
    words = ["".join(w) for n in (2, 3) for w in itertools.product("aB c", repeat=n)]
    words = [w for w in words if w.strip() == w]  # 45 sources, some with a space inside
    pairs.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words), encoding="utf-8")
    user = ["--data", str(pairs), "--target-units", "chars"]
    encoder_decoders = (("translate", ["--embedding", "4"]), ("caption", []), ("pairs", user))
    for name, extra in encoder_decoders:
        made[name] = folder / name  # CMUdict, generated scenes, the pairs: barely trained
        task = "translate" if name == "pairs" else name
        flags = [f for f in tiny_flags(units=8, batch_size=8, seq_len=None) if f != "--no-export"]
        argv = ["--task", task, "--run-dir", str(made[name]), "--steps", "6", "--max-output", "8"]
        assert train.cli([*argv, *flags, *extra]) == 0
    made["conll"] = folder / "conll"  # a token tagger of a user's CoNLL file
    conll = rule_conll(folder / "t.conll", n=40)
    flags = [f for f in tiny_flags(units=8, batch_size=8, seq_len=None) if f != "--no-export"]
    argv = ["--task", "tag", "--data", str(conll), "--run-dir", str(made["conll"])]
    assert train.cli([*argv, "--steps", "6", *flags]) == 0
    return made


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    """`{task: base URL}` of each run's page, served with COOP/COEP from a thread."""
    urls, servers = {}, []
    for task, run in runs.items():
        folder = web.build(run, tmp_path_factory.mktemp(f"site-{task}"))
        server = web.serve(folder, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[task] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield urls
    for server in servers:
        server.shutdown()


def open_page(browser, url, requests=None, missing=None):
    tab = browser.new_page()
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    if requests is not None:
        tab.on("request", lambda r: requests.append(r.url))
    if missing is not None:  # Chromium reports its own favicon.ico request only here
        tab.on("console", lambda m: m.type == "error" and missing.append(m.text))
    tab.goto(url)
    tab.wait_for_selector("body[data-ready]", timeout=30000)
    assert tab.get_attribute("body", "data-ready") == "1", tab.inner_text("#error")
    return tab, errors


CASES = [
    ("ROMEO:", dict(length=60, temperature=0.8, top_k=0, top_p=1.0, seed=0)),
    ("To be", dict(length=40, temperature=1.3, top_k=5, top_p=1.0, seed=7)),
    ("\n", dict(length=50, temperature=0.6, top_k=0, top_p=0.9, seed=123456789)),
]


def generate(tab, prime, settings):
    tab.fill("#prime", prime)
    for key, value in settings.items():
        tab.fill(f"#{key.replace('_', '-')}", str(value))
    tab.click("#generate")
    tab.wait_for_selector("#output[data-done='1']", timeout=60000)
    return tab.text_content("#output")


def test_the_page_generates_pythons_text_for_the_same_seed(browser, pages, runs):
    tab, errors = open_page(browser, pages["lm"])
    python = runtime.load(runs["lm"] / "step.onnx")
    for prime, settings in CASES:
        assert generate(tab, prime, settings) == python.generate(prime, **settings), prime
    assert tab.locator("#memory span").count() == CASES[-1][1]["length"]  # the memory, coloured
    assert tab.text_content("#hint").startswith("Generation: the model continues the prime")
    # a relu unit's states are unbounded: its largest is full colour, as in inspect's page
    styles = tab.evaluate("""() => {
      const L = Number($("layer").value || 0), U = Number($("unit").value || 0);
      const at = v => { const s = []; s[L] = []; s[L][U] = v; return s; };
      history = [4, -1, 0].map((v, i) => ({ char: "abc"[i], states: at(v) }));
      drawMemory();
      return [...document.querySelectorAll("#memory span")].map(e => e.style.background);
    }""")
    assert styles == ["rgb(220, 50, 40)", "rgba(40, 90, 220, 0.25)", "rgba(220, 50, 40, 0)"]
    assert re.match(r"\d+ chars/s", tab.text_content("#speed"))
    assert not errors and tab.text_content("#error") == ""


def test_bad_input_fills_error_and_stop_stops(browser, pages, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    tab, _ = open_page(browser, pages["lm"])
    generate(tab, "ROMEO: \u00a7\u00b6", dict(length=5))
    assert "2 character(s) the model was not trained on" in tab.text_content("#error")
    generate(tab, "", dict(length=5))
    assert "at least one character" in tab.text_content("#error")
    generate(tab, "A", dict(length=5, top_p=1.5))
    assert "top-p" in tab.text_content("#error")
    tab.fill("#prime", "A")
    tab.fill("#length", "100000")
    tab.click("#generate")
    tab.wait_for_timeout(300)
    tab.screenshot(path=str(shots / "mid-generation.png"))  # the README's kind of picture
    tab.click("#stop")
    tab.wait_for_selector("#output[data-done='1']", timeout=10000)
    assert len(tab.text_content("#output")) < 100000
    assert (shots / "mid-generation.png").stat().st_size > 10_000


def test_tagger_and_classifier_panels_answer_as_python(browser, pages, runs):
    tab, _ = open_page(browser, pages["tag"])
    tagger = runtime.load(runs["tag"] / "model.onnx")
    assert tagger.window == 20  # the run's --seq-len (lines were cut to it in training), not 64
    # spaces are the model's to place: the page drops a line's own, as Python does; lines stay
    for text in ("Tobeornottobethatisthequestion", "To be or not\ntobe, that is\n\nthe question\n"):
        tab.evaluate("document.getElementById('result').removeAttribute('data-done')")
        tab.fill("#text", text)
        tab.click("#run")
        tab.wait_for_selector("#result[data-done='1']")
        assert tab.text_content("#result") == tagger.tag(text)
    assert tagger.tag(text).count("\n") == 3 and " " in tagger.tag(text)
    assert "the model puts them back" in tab.text_content("#hint")  # what to type
    # an answer without spaces (a segmenter that places none) wraps inside its box
    wraps = "(e) => { e.textContent = 'x'.repeat(600); return e.scrollWidth <= e.clientWidth; }"
    assert tab.eval_on_selector("#result", wraps)
    tab, _ = open_page(browser, pages["classify"])
    passage = "Now is the winter of our discontent\nMade glorious summer by this sun of York"
    tab.fill("#text", passage)
    tab.click("#run")
    tab.wait_for_selector("#result[data-done='1']")
    label, probs = runtime.load(runs["classify"] / "model.onnx").classify(passage)
    assert tab.text_content("#result") == f"{label} ({probs[label]:.3f})"
    assert tab.locator(".bar").count() == min(10, len(probs))
    assert f"one of {len(probs)} labels (" in tab.text_content("#hint")
    long = (passage + "\n") * 8  # 640 characters: the page reads the first 384, as training
    tab.fill("#text", long)
    tab.evaluate("document.getElementById('result').removeAttribute('data-done')")
    tab.click("#run")
    tab.wait_for_selector("#result[data-done='1']")
    label, probs = runtime.load(runs["classify"] / "model.onnx").classify(long)
    assert tab.text_content("#result") == f"{label} ({probs[label]:.3f})"
    shown = [
        float(b.get_attribute("style").split(":")[1].strip(" %;"))
        for b in tab.query_selector_all(".bar")
    ]
    top = sorted(probs.values(), reverse=True)[: len(shown)]
    np.testing.assert_allclose(shown, [100 * p for p in top], atol=0.06)  # the widths: %.1f


def test_a_token_taggers_panel_tags_each_line_as_python(browser, pages, runs):
    tab, errors = open_page(browser, pages["conll"])
    tagger = runtime.load(runs["conll"])
    # an unseen token is <unk> on both sides; punctuation is peeled off alike
    text = "Bob runs home\n\n12 Anna  Zorro\n(Bob) «sees» Paris.?! e-mail\n"
    tab.fill("#text", text)
    tab.click("#run")
    tab.wait_for_selector("#result[data-done='1']")
    lines = [line for line in text.split("\n") if line]
    want = [" ".join(f"{t}/{y}" for t, y in tagger.tag(line)) for line in lines]
    assert "(/" in want[-1] and "»/" in want[-1]
    assert tab.text_content("#result") == "\n".join(want) and not errors
    labels = ", ".join(tagger.labels[:4])
    assert f"one sentence per line; each token gets one of {len(tagger.labels)} tags ({labels}" in (
        tab.text_content("#hint")
    )


def test_the_page_splits_words_as_python_does(browser, pages):
    from tests.test_data import WORD_CASES

    tab, errors = open_page(browser, pages["tag"])
    texts = [*WORD_CASES, "Ⅻ naïve O'Neill's \u00bd-day 'quoted'\tend_"]
    assert tab.evaluate("(texts) => texts.map(wordsOf)", texts) == [words(t) for t in texts]
    assert not errors


def test_the_page_fetches_nothing_from_other_hosts(browser, pages, tmp_path):
    requests, missing = [], []
    tab, _ = open_page(browser, pages["lm"], requests, missing)
    generate(tab, "ROMEO:", dict(length=5))
    assert requests and all(u.startswith(pages["lm"]) for u in requests), requests
    assert not missing, missing  # no 404 for a favicon.ico the site lacks, no script error
    assert tab.evaluate("self.crossOriginIsolated")  # the COOP/COEP headers are served
    tab.screenshot(path=str(tmp_path / "page.png"))
    for name in ("index.html", "app.js", "sampling.js", "style.css"):
        own = (web.HERE / "page" / name).read_text()
        assert not re.search(r"https?://", own), name


def test_the_cli_writes_a_static_site_and_refuses_a_run_without_export(runs, tmp_path, capsys):
    assert web_cli.cli([str(runs["tag"]), "--out", str(tmp_path / "site")]) == 0
    assert {"index.html", "models.json", "model.onnx", "ort.wasm.min.js"} <= {
        p.name for p in (tmp_path / "site").iterdir()
    }
    assert web_cli.cli([str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert web_cli.cli([str(runs["tag"]), "--out", str(tmp_path / "site")]) == 0  # updated


def test_the_page_of_a_run_trained_further_since_its_export_says_so(runs, tmp_path, capsys):
    run = shutil.copytree(runs["tag"], tmp_path / "run")  # copied: new file times, still quiet
    assert web_cli.cli([str(run), "--out", str(tmp_path / "site")]) == 0
    assert "note:" not in capsys.readouterr().err
    with open(run / "best.keras", "ab") as f:  # as if a new best model were saved, not exported
        f.write(b"\0")
    assert web_cli.cli([str(run), "--out", str(tmp_path / "site")]) == 0
    err = capsys.readouterr().err
    assert f"note: {run / 'model.onnx'} was exported from an earlier state of the run" in err


def test_a_static_site_opened_as_a_file_says_to_serve_it(browser, runs, tmp_path):
    site = web.build(runs["lm"], tmp_path / "site")  # a double-clicked index.html: file://
    tab = browser.new_page()
    tab.goto((site / "index.html").as_uri())
    tab.wait_for_selector("body[data-ready]", timeout=30000)
    assert tab.get_attribute("body", "data-ready") == "error"
    assert "must be served over HTTP, not opened as a file" in tab.inner_text("#error")
    assert "python -m http.server" in tab.inner_text("#error")  # not "Failed to fetch"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "out").write_text("mine"), "is a file"),
        (lambda d: (d / "out").mkdir() or (d / "out" / "index.html").write_text("mine"), "other"),
    ],
)
def test_the_page_never_writes_over_a_users_files(runs, tmp_path, capsys, make, message):
    make(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert web_cli.cli([str(runs["tag"]), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_page_that_cannot_be_built_leaves_no_half_page(runs, tmp_path, capsys, monkeypatch):
    """No npm (so no onnxruntime-web): nothing is written, so the folder stays usable."""
    from export import web

    def no_npm():
        raise web.WebError("The page needs onnxruntime-web from npm: install Node.js and npm.")

    monkeypatch.setattr(web, "ort_dist", no_npm)
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):
        assert web_cli.cli([str(runs["tag"]), "--out", str(out)]) == 2
        assert "install Node.js and npm" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not any((tmp_path / "empty").iterdir())
    monkeypatch.undo()
    assert web_cli.cli([str(runs["tag"]), "--out", str(tmp_path / "empty")]) == 0  # npm back


def test_an_out_folder_that_cannot_be_made_is_one_line(runs, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")  # a folder cannot be made under a file
    assert web_cli.cli([str(runs["tag"]), "--out", str(tmp_path / "file" / "site")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "cannot make the folder (Not a directory); choose a writable place."
    )


def test_a_port_out_of_range_is_refused(runs, capsys):
    with pytest.raises(SystemExit) as stop:
        web_cli.main([str(runs["tag"]), "--port", "99999"])
    assert stop.value.code == 2 and "--port must be in [0, 65535]" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--port", "8123"], ["--host", "0.0.0.0"]])
def test_serving_flags_with_out_are_refused(runs, tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as stop:  # --out serves nothing: the port would be ignored
        web_cli.main([str(runs["tag"]), "--out", str(tmp_path / "site"), *flag])
    assert stop.value.code == 2 and "--out writes it and serves nothing" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_an_onnx_file_that_is_not_ours_is_one_line(runs, tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    run = tmp_path / "foreign"
    shutil.copytree(runs["tag"], run)
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", io[:1], io[1:])
    onnx.save(helper.make_model(graph), run / "model.onnx")
    assert web_cli.cli([str(run), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no rnn-keras metadata" in err


def test_an_encoder_without_its_decoder_is_refused(runs, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(runs["translate"], run)
    (run / "decoder_step.onnx").unlink()
    assert web_cli.cli([str(run), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no decoder_step.onnx" in err[0]


def decode(tab, beam, nbest, source=None, image=None):
    """The panel's n best `[[text, score]]` per input after one click of Decode."""
    if source is not None:
        tab.fill("#source", source)
    if image is not None:
        tab.set_input_files("#image", str(image))
    tab.fill("#beam", str(beam))
    tab.fill("#nbest", str(nbest))
    click_decode(tab)
    assert not tab.inner_text("#error"), tab.inner_text("#error")
    return tab.evaluate("window.decoded")


def click_decode(tab):
    """Click Decode and wait for this click's end (not an earlier one's `data-done`)."""
    tab.evaluate("document.getElementById('decoded').removeAttribute('data-done')")
    tab.click("#decode")
    tab.wait_for_selector("#decoded[data-done='1']", timeout=30000)


def same_n_best(got, want, nbest):
    """Texts equal; beam scores to 1e-5 (onnxruntime-web's float32 kernels are not native's)."""
    want = [[(w, None)] for w in want] if nbest == 1 else want
    assert [[t for t, _ in h] for h in got] == [[t for t, _ in h] for h in want]
    if nbest > 1:
        np.testing.assert_allclose(
            [s for h in got for _, s in h], [s for h in want for _, s in h], atol=1e-5
        )


@pytest.mark.parametrize("beam, nbest", [(1, 1), (3, 3), (5, 2)])
def test_the_translator_panel_decodes_as_python(browser, pages, runs, beam, nbest):
    tab, errors = open_page(browser, pages["translate"])
    got = decode(tab, beam, nbest, source=" Hello  world\nQuizzically ")
    model = runtime.load(runs["translate"] / "encoder.onnx")
    same_n_best(got, model.translate(["hello", "world", "quizzically"], beam, nbest), nbest)
    lines = tab.inner_text("#decoded").splitlines()
    assert lines[0].startswith("hello") and not errors
    assert not tab.is_visible("#image") and tab.is_visible("#source")  # the translator's box only
    assert 'not trained on: "ü"' in decode_error(tab)  # lowercased first, as in Python
    assert "each word is decoded on its own" in tab.text_content("#hint")


def test_the_translator_panel_shows_the_attention_tensorflow_computes(browser, pages, runs):
    from export import api
    from rnn_keras.tasks.seq2seq import attention_maps

    tab, errors = open_page(browser, pages["translate"])
    decode(tab, 5, 1, source="Hello quizzically")  # a beam's best: forced, not re-decoded
    model, cfg, vocab, _ = api.load_run_model(runs["translate"])
    targets = runtime.load(runs["translate"] / "encoder.onnx").targets
    best = [targets.encode(h[0][0].split()) for h in tab.evaluate("window.decoded")]
    sources = [vocab.encode(w) for w in ("hello", "quizzically")]
    want = attention_maps(model, sources, cfg["max_output"], outputs=best)
    for alpha, (_, expected) in zip(tab.evaluate("window.attention"), want):
        np.testing.assert_allclose(np.array(alpha), expected, atol=1e-5)
    assert tab.locator("#attention table").count() == 2 and not errors


def test_a_users_translator_keeps_its_text_as_typed(browser, pages, runs):
    # its vocabulary has spaces and capitals: one source, not lowercased; targets are characters
    tab, errors = open_page(browser, pages["pairs"])
    model = runtime.load(runs["pairs"] / "encoder.onnx")
    for beam, nbest in ((1, 1), (3, 2)):
        got = decode(tab, beam, nbest, source="aB c")
        same_n_best(got, model.translate(["aB c"], beam, nbest), nbest)
    assert "the whole text is one source" in tab.text_content("#hint") and not errors


def decode_error(tab):
    tab.fill("#source", "Ünknown")
    click_decode(tab)
    return tab.inner_text("#error")


@pytest.mark.parametrize("beam, nbest", [(1, 1), (3, 2)])
def test_the_captioner_panel_captions_as_python(browser, pages, runs, tmp_path, beam, nbest):
    from PIL import Image

    from rnn_keras.data import scenes

    images, _ = scenes.scenes("test", 2)
    paths = [tmp_path / f"{i}.png" for i in range(2)]
    for image, path in zip(images, paths):
        Image.fromarray(image).save(path)  # 64x64: no resizing on either side
    tab, errors = open_page(browser, pages["caption"])
    model = runtime.load(runs["caption"] / "image_encoder.onnx")
    for path in paths:
        got = decode(tab, beam, nbest, image=path)
        same_n_best(got, model.caption(path, beam=beam, nbest=nbest), nbest)
    assert not errors and tab.is_visible("#picture") and not tab.is_visible("#source")
    assert tab.text_content("#hint").startswith("Captioning: pick a PNG or JPEG image")
    # where the decoder looked, word by word: TensorFlow's maps of the same output
    from export import api
    from rnn_keras.tasks.seq2seq import attention_maps

    keras_model, cfg, _, _ = api.load_run_model(runs["caption"])
    best = model.targets.encode(got[0][0][0].split())
    image = np.asarray(Image.open(paths[-1]).convert("RGB"), np.float32)
    [(_, want)] = attention_maps(keras_model, [image], cfg["max_output"], outputs=[best])
    np.testing.assert_allclose(np.array(tab.evaluate("window.attention[0]")), want, atol=1e-5)
    assert tab.locator("#attention figure").count() == len(best) + 1


@pytest.mark.parametrize("form", ["native", "loop"])
def test_the_other_export_forms_run_in_the_page_too(browser, runs, tmp_path, form):
    # the page runs whatever model.onnx holds: ONNX RNN nodes, or tf2onnx's Loop
    from export import api

    run = tmp_path / "run"
    shutil.copytree(runs["tag"], run)
    api.export_run(run, form)
    folder = web.build(run, tmp_path / "site")
    server = web.serve(folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tab, errors = open_page(browser, f"http://127.0.0.1:{server.server_address[1]}/")
        text = "Tobeornottobethatisthequestion"
        tab.fill("#text", text)
        tab.click("#run")
        tab.wait_for_selector("#result[data-done='1']")
        assert tab.text_content("#result") == runtime.load(run / "model.onnx").tag(text)
        assert runtime.read_metadata(run / "model.onnx")["path"] == form and not errors
    finally:
        server.shutdown()


def test_an_address_that_cannot_be_served_names_the_flag_to_change(runs, capsys):
    import socket
    import tempfile

    scratch = set(pathlib.Path(tempfile.gettempdir()).glob("rnn-keras-web-*"))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        assert web_cli.cli([str(runs["tag"]), "--port", port]) == 2
        assert "(Address already in use); pass another --port" in capsys.readouterr().err
    finally:
        taken.close()
    assert web_cli.cli([str(runs["tag"]), "--host", "999.1.1.1"]) == 2  # no such address
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pass another --host" in err[0], err
    assert (
        set(pathlib.Path(tempfile.gettempdir()).glob("rnn-keras-web-*")) == scratch
    )  # no 16 MB left
