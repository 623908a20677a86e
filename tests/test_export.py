"""ONNX export: TensorFlow vs onnxruntime on real, padded inputs, both lowering paths."""

import math
import subprocess
import sys

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import rnn_keras as rk
from export import api, infer, metadata, parity, runtime
from rnn_keras.data import plays as corpus
from rnn_keras.tasks.classify import classifier
from rnn_keras.tasks.generate import Generator
from rnn_keras.tasks.lm import char_lm
from rnn_keras.tasks.tag import tagger
from rnn_keras_common.vocab import Vocab, VocabularyError

VOCAB = Vocab.from_text(corpus.default_text())
LABELS = ["a", "b", "c"]


def cfg(task):
    return {"task": task, "text": None}


def tagger_with(encoder, vocab=VOCAB):
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    h = encoder(rk.OneHot(len(vocab), mask_zero=True, name="one_hot")(tokens))
    return keras.Model(tokens, keras.layers.Dense(2, name="head")(h))


def export(model, task, tmp_path, path, labels=None):
    return api.export_model(model, cfg(task), VOCAB, labels, tmp_path, path)


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_cell_activations(tmp_path, path, activation):
    model = tagger_with(rk.RNN(6, activation=activation, return_sequences=True))
    [(file, diff)] = export(model, "tag", tmp_path, path)
    assert file.name == "model.onnx" and diff < 1e-5


@pytest.mark.parametrize("path", ["scan", "native"])
def test_a_linear_language_model_exports_both_files(tmp_path, path):
    # train.py accepts --activation linear; its export at the end of the run raised before
    model = char_lm(len(VOCAB), units=6, num_layers=2, activation="linear")
    files = export(model, "lm", tmp_path, path)
    assert [f.name for f, _ in files] == ["model.onnx", "step.onnx"]
    assert all(diff < 1e-5 for _, diff in files)
    bi = tagger_with(rk.Bidirectional(rk.RNN(5, activation="linear", return_sequences=True)))
    assert export(bi, "tag", tmp_path, path)[0][1] < 1e-5


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
def test_bidirectional_every_merge_mode_on_padded_batch(tmp_path, path, merge_mode):
    model = tagger_with(rk.Bidirectional(rk.RNN(5, return_sequences=True), merge_mode=merge_mode))
    [(_, diff)] = export(model, "tag", tmp_path, path)
    assert diff < 1e-5


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
def test_deep_bidirectional_and_classifier(tmp_path, path):
    deep = tagger(len(VOCAB), 2, units=[6, 4], num_layers=2, bidirectional=True)
    assert export(deep, "tag", tmp_path, path)[0][1] < 1e-5
    clf = classifier(len(VOCAB), 3, units=5, bidirectional=True)
    assert export(clf, "classify", tmp_path, path, LABELS)[0][1] < 1e-5


def test_scan_form_one_scan_per_layer_and_one_padding_mask(tmp_path):
    deep = tagger(len(VOCAB), 2, units=5, num_layers=2, bidirectional=True)
    [(file, _)] = export(deep, "tag", tmp_path, "scan")
    ops = [n.op_type for n in onnx.load(str(file)).graph.node]
    assert ops.count("Scan") == 2 and ops.count("Range") == ops.count("ConstantOfShape") == 1


@pytest.fixture(scope="module")
def lm_files(tmp_path_factory):
    out = {}
    model = char_lm(len(VOCAB), units=[8, 6], num_layers=2)
    for path in ("scan", "native", "loop"):
        folder = tmp_path_factory.mktemp(path)
        out[path] = (model, export(model, "lm", folder, path))
    return out


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
def test_lm_sequence_and_step_models(lm_files, path):
    _, [(seq, d_seq), (step, d_step)] = lm_files[path]
    assert (seq.name, step.name) == ("model.onnx", "step.onnx")
    assert d_seq < 1e-5 and d_step < 1e-5
    lm_seq, lm_step = runtime.load(seq), runtime.load(step)
    tokens = np.array([VOCAB.encode("ROMEO: But soft")], np.int32)
    whole, _ = lm_seq.step(tokens, lm_seq.zero_states(1))
    states, stepped = lm_step.zero_states(1), []
    for t in range(tokens.shape[1]):
        logits, states = lm_step.step(tokens[:, t : t + 1], states)
        stepped.append(logits[:, 0])
    np.testing.assert_allclose(np.stack(stepped, 1), whole, atol=1e-5)


def test_onnxruntime_runs_each_layer_of_the_lm_step_as_one_fused_gemm(lm_files, tmp_path):
    # s W + (U x + b) then f: the MatMuls fuse with their Adds and the last Gemm with f,
    # 2 kernels a layer (the Gather or the U x + b Gemm, and the FusedGemm) instead of 4
    _, [_, (step, _)] = lm_files["native"]
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(step), options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert ops.count("FusedGemm") == 2 and "Tanh" not in ops and "Add" not in ops, ops


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
def test_an_embedded_lm_exports_in_every_form(tmp_path, path):
    # the hand-built forms fold E into the first U (row `token` of E U); tf2onnx gathers E
    model = char_lm(len(VOCAB), units=[8, 6], num_layers=2, embedding=5)
    [(seq, d_seq), (step, d_step)] = export(model, "lm", tmp_path, path)
    assert d_seq < 1e-5 and d_step < 1e-5  # the export's own TF-vs-ORT gate, on random tokens
    want = Generator(model, VOCAB).generate("ROMEO:", 60, temperature=0.9, top_k=30, seed=3)
    assert runtime.load(step).generate("ROMEO:", 60, temperature=0.9, top_k=30, seed=3) == want


@pytest.mark.parametrize("path", ["scan", "native", "loop"])
def test_an_lm_trained_with_dropout_exports_without_it(tmp_path, path):
    # dropout is training-only: every form is the model at inference, Dropout layers skipped
    model = char_lm(len(VOCAB), units=[8, 6], num_layers=2, dropout=0.5)
    [(_, d_seq), (step, d_step)] = export(model, "lm", tmp_path, path)
    assert d_seq < 1e-5 and d_step < 1e-5
    want = Generator(model, VOCAB).generate("ROMEO:", 60, temperature=0.9, top_k=30, seed=3)
    assert runtime.load(step).generate("ROMEO:", 60, temperature=0.9, top_k=30, seed=3) == want


def test_same_seed_same_text_tensorflow_and_onnxruntime(lm_files):
    model, [_, (step, _)] = lm_files["native"]
    tf_text = Generator(model, VOCAB).generate("ROMEO:", 120, temperature=0.9, top_k=30, seed=3)
    ort_text = runtime.load(step).generate("ROMEO:", 120, temperature=0.9, top_k=30, seed=3)
    assert tf_text == ort_text


def test_streamed_characters_are_the_generated_text_and_bad_arguments_fail_at_once(
    lm_files, capsys
):
    step = lm_files["native"][1][1][0]
    lm = runtime.load(step)
    pieces = list(lm.stream("ROMEO:", 50, temperature=0.9, top_k=30, seed=3))
    assert len(pieces) == 50 and all(len(c) == 1 for c in pieces)
    assert "ROMEO:" + "".join(pieces) == lm.generate("ROMEO:", 50, 0.9, 30, seed=3)
    with pytest.raises(ValueError, match="temperature"):
        lm.stream("ROMEO:", 5, temperature=0)  # no iteration needed
    with pytest.raises(VocabularyError, match="not trained on"):
        lm.stream("☃", 5)
    assert infer.cli([str(step), "--prime", "ROMEO:", "--length", "50", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert printed == lm.generate("ROMEO:", 50, 0.8, seed=3) + "\n"
    assert infer.cli([str(step), "--temperature", "0", "--length", "5"]) == 2
    err = capsys.readouterr().err  # the flag a user typed, and its fix, as flags
    assert err.startswith("error: temperature (--temperature) must be > 0") and "--top-k 1" in err
    assert infer.cli([str(step), "--prime", ""]) == 2
    assert "error: prime (--prime) must hold a character" in capsys.readouterr().err


def test_metadata_round_trip(lm_files):
    _, [(seq, _), _] = lm_files["native"]
    meta = runtime.read_metadata(seq)
    assert meta["task"] == "lm" and meta["kind"] == "sequence" and meta["path"] == "native"
    assert meta["vocab"] == VOCAB.chars and meta["state_sizes"] == [8, 6]
    assert set(meta["versions"]) == {"tensorflow", "keras", "tf2onnx", "onnx"}
    names = [o.name for o in ort.InferenceSession(str(seq)).get_outputs()]
    assert names == ["logits", "state_0_out", "state_1_out"]


def test_each_path_lowers_the_recurrence_as_it_says(lm_files):
    graphs = {p: onnx.load(str(lm_files[p][1][0][0])).graph for p in ("scan", "native", "loop")}
    ops = {p: {n.op_type for n in g.node} for p, g in graphs.items()}
    assert "Scan" in ops["scan"] and not {"RNN", "Loop"} & ops["scan"]
    # the scan form gathers rows of U for the tokens instead of multiplying one-hot vectors
    assert not [i for i in graphs["scan"].initializer if i.name.startswith("one_hot")]
    assert "RNN" in ops["native"] and not {"Scan", "Loop"} & ops["native"]
    assert "Loop" in ops["loop"]


def test_parity_check_fails_loudly(tmp_path, monkeypatch):
    model = tagger_with(rk.RNN(4, return_sequences=True))
    monkeypatch.setattr(parity, "TOLERANCE", 0.0)
    monkeypatch.setattr(parity, "max_difference", lambda *a, **k: 0.5)
    with pytest.raises(parity.ParityError, match="0.5"):
        export(model, "tag", tmp_path, "native")
    assert not list(tmp_path.glob("*.onnx"))  # nothing half-checked under the final name


def test_a_nan_or_a_shape_mismatch_anywhere_fails_the_parity_check():
    # Python's max([1e-6, nan]) is 1e-6: a NaN output after the first would pass
    assert math.isnan(parity.worst([1e-6, float("nan")]))
    assert parity.difference(np.zeros((2, 3, 0)), np.zeros((2, 3, 0))) == 0.0  # empty keys
    with pytest.raises(parity.ParityError, match="shape"):
        parity.difference(np.zeros((2, 3)), np.zeros((2, 1)))


def test_importing_the_inference_path_does_not_import_tensorflow():
    code = (
        "import sys, export.runtime, export.infer; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_bad_inputs(tmp_path, lm_files):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model at all")
    with pytest.raises(metadata.MetadataError, match="not a readable ONNX"):
        runtime.load(junk)
    bare = onnx.load(str(lm_files["native"][1][0][0]))
    del bare.metadata_props[:]
    onnx.save(bare, tmp_path / "bare.onnx")
    with pytest.raises(metadata.MetadataError, match="no rnn-keras metadata"):
        runtime.load(tmp_path / "bare.onnx")
    lm = runtime.load(lm_files["native"][1][1][0])
    with pytest.raises(VocabularyError, match="not trained on"):
        lm.generate("ROMEO: ☃", 5)
    with pytest.raises(ValueError, match="temperature"):
        lm.generate("ROMEO:", 5, temperature=0)
    with pytest.raises(Exception, match="(?i)rank|dimension"):
        lm.step(np.zeros((1, 1, 1), np.int32), lm.zero_states(1))


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(),
    reason="CUDA is available here; this checks the no-CUDA error",
)
def test_cuda_requested_without_cuda_is_a_clear_error(lm_files):
    with pytest.raises(runtime.DeviceError, match="onnxruntime-gpu"):
        runtime.load(lm_files["native"][1][1][0], device="cuda")


def test_cuda_sessions_preload_the_pip_cuda_libraries_once_cpu_ones_never(monkeypatch, capsys):
    from export import session

    calls = []
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(session, "load_cuda_libraries", lambda: calls.append(1))
    assert session._providers("cpu", None) == ["CPUExecutionProvider"] and not calls
    assert session._providers("cuda", None)[0][0] == "CUDAExecutionProvider" and calls == [1]
    session._providers("auto", None)
    assert calls == [1, 1]
    monkeypatch.undo()

    def broken():
        raise OSError("libcudnn.so.9: cannot open shared object file")

    monkeypatch.setattr(ort, "preload_dlls", broken, raising=False)
    session.load_cuda_libraries.__wrapped__()  # a failure is a note; the provider's error follows
    assert "preload_dlls() failed (libcudnn.so.9" in capsys.readouterr().err


def test_a_cuda_session_that_cannot_start_is_a_device_error(lm_files, monkeypatch):
    # onnxruntime-gpu with no usable GPU (CUDA_VISIBLE_DEVICES="") raises from the session
    def no_gpu(*args, **kwargs):
        raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", no_gpu)
    with pytest.raises(runtime.DeviceError, match="no CUDA-capable device"):
        runtime.load(lm_files["native"][1][1][0], device="cuda")


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_a_cuda_session_that_falls_back_says_why_in_one_line(lm_files, monkeypatch, capsys, device):
    # what onnxruntime-gpu 1.31.1 did on the H200 with CUDA_VISIBLE_DEVICES="": no
    # exception, a box of its own on stdout, and a session on the CPU
    real = ort.InferenceSession

    def falls_back(path, options, providers):
        print("*************** EP Error ***************")
        print("EP Error /onnxruntime_src/cuda_call.cc:154 CudaCall CUDA failure 100: no")
        print(f"CUDA-capable device is detected ; GPU=-1 ; hostname=vm when using {providers}")
        print("Falling back to ['CPUExecutionProvider'] and retrying.")
        return real(path, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", falls_back)
    file = lm_files["native"][1][1][0]
    if device == "cuda":
        with pytest.raises(
            runtime.DeviceError, match="could not start CUDA .CUDA failure 100: no"
        ) as e:
            runtime.load(file, device="cuda")
        assert "\n" not in str(e.value) and "is detected)" in str(e.value)
    else:
        assert runtime.load(file, device="auto").generate("R", 3, seed=1)
    out, err = capsys.readouterr()
    assert "EP Error" not in out + err  # only our line, which names the cause
    assert device == "cuda" or "CUDA did not start (CUDA failure 100: no" in err


@pytest.mark.gpu
@pytest.mark.skipif(
    "CUDAExecutionProvider" not in ort.get_available_providers(),
    reason="needs onnxruntime-gpu and an NVIDIA GPU",
)
@pytest.mark.parametrize("path", ["scan", "native"])
def test_cuda_matches_cpu(lm_files, path):
    model, [(seq, _), _] = lm_files[path]
    tokens = parity.real_inputs(cfg("lm"), VOCAB, "sequence")
    assert parity.max_difference(model, seq, tokens, device="cuda") < 1e-4


def test_infer_points_cuda_users_of_step_by_step_forms_to_native(lm_files, monkeypatch):
    from export.infer import form_note

    models = {p: runtime.load(lm_files[p][1][0][0]) for p in ("scan", "native")}
    assert form_note(models["scan"]) is None  # on the CPU the Scan form is the fast one
    for m in models.values():
        monkeypatch.setattr(m.session, "get_providers", lambda: ["CUDAExecutionProvider"])
    assert "--path native" in form_note(models["scan"]) and form_note(models["native"]) is None


def test_bound_fast_path_gives_the_same_text(lm_files):
    step = runtime.load(lm_files["native"][1][1][0])
    slow = step.generate("ROMEO:", 60, temperature=0.9, seed=5)
    assert step.generate("ROMEO:", 60, temperature=0.9, seed=5, fast=True) == slow
    with pytest.raises(ValueError, match="CUDA graphs need device='cuda'"):
        step.generate("ROMEO:", 5, fast=True, cuda_graph=True)


@pytest.fixture
def graph_sessions(monkeypatch):
    """The sessions `export.bound` makes, as CPU sessions standing in for CUDA ones that
    record how they are run: `.graph` (asked for a CUDA graph), `.calls`, `.graph_ids`."""
    from export import bound

    made, real = [], bound.make_session

    class Spy:
        def __init__(self, path, device, options=None):
            self.graph, self.calls, self.graph_ids = bool(options), [], []
            self.session = real(path, "cpu")
            made.append(self)

        def __getattr__(self, name):
            self.calls.append(name)
            return getattr(self.session, name)

        def run_with_iobinding(self, binding, run_options=None):
            self.graph_ids.append(run_options and run_options.get_run_config_entry("gpu_graph_id"))
            self.calls.append("run_with_iobinding")
            return self.session.run_with_iobinding(binding, run_options)

    monkeypatch.setattr(bound, "make_session", Spy)
    return made


def step_feeds():
    feeds = {"tokens": np.ones((1, 1), np.int32), "state_0": np.zeros((1, 8), np.float32)}
    return {**feeds, "state_1": np.zeros((1, 6), np.float32)}


def test_a_cuda_graph_session_only_ever_runs_on_its_bound_buffers(lm_files, graph_sessions):
    # onnxruntime captures the CUDA graph in a session's first runs, whatever they are
    # given: a plain `run` there (for the output shapes) captured its temporary buffers, and
    # every replay on the H200 read freed memory (text differed, outputs off by 1e34).
    from export import bound

    path, feeds = lm_files["native"][1][1][0], step_feeds()
    runner = bound.BoundRunner(path, feeds, "cuda", cuda_graph=True)
    [graph] = [s for s in graph_sessions if s.graph]
    assert "run" not in graph.calls and "run_with_iobinding" in graph.calls
    expected = runtime.make_session(path, "cpu").run(None, feeds)
    assert np.allclose(runner.run(feeds)["logits"], expected[0])
    assert graph.graph_ids == [None, None]  # one binding: onnxruntime's own graph


def test_carried_states_take_turns_in_two_cuda_graphs(lm_files, graph_sessions):
    from export import bound

    path, feeds = lm_files["native"][1][1][0], step_feeds()
    carry = {f"{k}_out": k for k in feeds if k != "tokens"}
    runner = bound.BoundRunner(path, feeds, "cuda", cuda_graph=True, carry=carry)
    [graph] = [s for s in graph_sessions if s.graph]
    session, states = runtime.make_session(path, "cpu"), feeds
    for _ in range(3):
        logits, *new = session.run(None, states)
        assert np.allclose(runner.run({"tokens": feeds["tokens"]})["logits"], logits)
        states = {**feeds, **dict(zip(carry.values(), new))}
    assert "run" not in graph.calls and graph.graph_ids == ["1", "2", "1", "2", "1"]


def test_carried_states_stay_in_the_runner_and_match_plain_runs(lm_files):
    from export import bound

    path = lm_files["native"][1][1][0]
    rng = np.random.default_rng(0)
    start = {f"state_{i}": rng.standard_normal((1, u)).astype(np.float32) for i, u in
             enumerate((8, 6))}  # fmt: skip
    given = {k: v.copy() for k, v in start.items()}
    carry = {f"{k}_out": k for k in start}
    runner = bound.BoundRunner(path, {"tokens": np.ones((1, 1), np.int32), **start}, carry=carry)
    session = runtime.make_session(path, "cpu")

    def plain(tokens, states):
        logits, *new = session.run(None, {"tokens": tokens, **states})
        return logits, dict(zip(states, new))

    states = start
    for token in (3, 5, 7, 2, 9):  # odd and even turns: the buffers swap sides each call
        tokens = np.full((1, 1), token, np.int32)
        logits, states = plain(tokens, states)
        out = runner.run({"tokens": tokens})
        assert set(out) == {"logits"} and np.allclose(out["logits"], logits, atol=1e-6)
        assert all(np.allclose(runner.carried()[k], v, atol=1e-6) for k, v in states.items())
    assert all(np.array_equal(given[k], v) for k, v in start.items())  # the caller's arrays
    logits, _ = plain(tokens, given)  # a carried input that is fed is this call's value
    assert np.allclose(runner.run({"tokens": tokens, **given})["logits"], logits, atol=1e-6)
    with pytest.raises(ValueError, match=r"carry \{'state_0': 'state_0'\}: each must map"):
        bound.BoundRunner(path, {"tokens": tokens, **start}, carry={"state_0": "state_0"})


@pytest.mark.gpu
@pytest.mark.skipif(
    "CUDAExecutionProvider" not in ort.get_available_providers(),
    reason="needs onnxruntime-gpu and an NVIDIA GPU",
)
def test_cuda_graph_generation_matches_cpu(lm_files):
    path = lm_files["native"][1][1][0]
    cpu = runtime.load(path).generate("ROMEO:", 60, seed=5)
    gpu = runtime.load(path, device="cuda")
    assert gpu.generate("ROMEO:", 60, seed=5, fast=True, cuda_graph=True) == cpu


def users_model(head=None):
    """A model as README's "The layers" builds it, with Keras' own layer names."""
    tokens = keras.Input((None,), dtype="int32")
    h = rk.OneHot(12, mask_zero=True)(tokens)
    h = rk.RNN(6, return_sequences=True)(h)
    h = rk.Bidirectional(rk.RNN(5, return_sequences=True))(h)
    h = rk.DeepBidirectional([4, 4], dropout=0.2)(h)
    return keras.Model(tokens, (head or keras.layers.Dense(3))(h))


@pytest.mark.parametrize("form", ["scan", "native", "loop"])
def test_a_users_own_model_exports_in_every_form(tmp_path, form):
    import onnxruntime as ort

    from export import keras_model

    model = users_model()
    diff = keras_model.to_onnx(model, tmp_path / "mine.onnx", form=form)
    assert diff < 1e-5
    with pytest.raises(runtime.MetadataError, match="a model of your own.*InferenceSession"):
        runtime.load(tmp_path / "mine.onnx")  # no task to load it by: onnxruntime directly
    session = ort.InferenceSession(str(tmp_path / "mine.onnx"))
    tokens = np.array([[3, 1, 4, 1, 5, 9, 2], [6, 5, 3, 0, 0, 0, 0]], np.int32)  # right-padded
    [got] = session.run(["logits"], {"tokens": tokens})
    np.testing.assert_allclose(got, model(tokens).numpy(), atol=1e-5)  # padded steps too


def unidirectional_model(head=True, activation="tanh"):
    """A unidirectional RNN last: at padded steps Keras repeats its last state."""
    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(12, 5, mask_zero=True)(tokens)
    h = rk.Bidirectional(rk.RNN(4, return_sequences=True))(h)
    h = rk.RNN(6, return_sequences=True, activation=activation)(h)
    h = keras.layers.Dropout(0.3)(h)
    return keras.Model(tokens, keras.layers.Dense(3)(h) if head else h)


@pytest.mark.parametrize("form", ["scan", "native", "loop"])
@pytest.mark.parametrize("head", [True, False], ids=["dense", "states"])
def test_padded_steps_give_what_keras_gives(tmp_path, form, head):
    import onnxruntime as ort

    from export import keras_model

    model = unidirectional_model(head, "relu" if form == "scan" else "tanh")
    assert keras_model.to_onnx(model, tmp_path / "u.onnx", form=form) < 1e-5
    tokens = np.array([[3, 1, 4, 1, 5, 9, 2], [6, 5, 3, 0, 0, 0, 0]], np.int32)
    [got] = ort.InferenceSession(str(tmp_path / "u.onnx")).run(None, {"tokens": tokens})
    want = model(tokens).numpy()
    assert got.shape == want.shape == (2, 7, 3 if head else 6)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got[1, 3:], np.repeat(want[1, 2:3], 4, axis=0), atol=1e-6)


@pytest.mark.parametrize("form", ["scan", "native"])
def test_a_users_feature_model_and_a_dense_without_bias(tmp_path, form):
    from export import keras_model

    x = keras.Input((None, 3))
    h = rk.Bidirectional(rk.RNN(4, return_sequences=True))(x)
    model = keras.Model(x, keras.layers.Dense(2, use_bias=False)(h))
    assert keras_model.to_onnx(model, tmp_path / "f.onnx", form=form) < 1e-5


@pytest.mark.parametrize("head", [True, False], ids=["dense", "none"])
def test_native_deep_bidirectional_features_take_one_transpose_per_layer(tmp_path, head):
    # the benchmark model's shape: each layer's two directions are one RNN node whose
    # output is transposed once, to time-major for the next layer, batch-major for the last
    from export import keras_model

    x = keras.Input((None, 3))
    h = rk.Bidirectional(rk.RNN(4, return_sequences=True))(x)
    h = rk.Bidirectional(rk.RNN(5, return_sequences=True))(h)
    model = keras.Model(x, keras.layers.Dense(2)(h) if head else h)
    assert keras_model.to_onnx(model, tmp_path / "b.onnx", form="native") < 1e-5
    ops = [n.op_type for n in onnx.load(str(tmp_path / "b.onnx")).graph.node]
    layer = ["RNN", "Transpose", "Reshape"]
    assert ops == ["Transpose", *layer, *layer] + (["MatMul", "Add"] if head else [])


@pytest.mark.parametrize("form", ["scan", "native"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_keras_own_bidirectional_around_our_rnn_exports_as_ours(
    tmp_path, form, merge_mode, sequences
):
    from export import keras_model

    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(12, 5, mask_zero=True)(tokens)
    wrapped = keras.layers.Bidirectional(rk.RNN(4, return_sequences=True), merge_mode="concat")
    h = wrapped(h)  # a deep one: the next layer reads both directions of this one
    h = keras.layers.Bidirectional(rk.RNN(4, return_sequences=sequences), merge_mode=merge_mode)(h)
    model = keras.Model(tokens, keras.layers.Dense(3)(h))
    assert keras_model.to_onnx(model, tmp_path / "k.onnx", form=form) < 1e-5  # padded rows too
    simple = keras.layers.Bidirectional(keras.layers.SimpleRNN(4))(
        keras.layers.Embedding(12, 5, mask_zero=True)(tokens)
    )
    with pytest.raises(ValueError, match="around a SimpleRNN, not an rnn_keras.RNN.*'loop'"):
        keras_model.to_onnx(keras.Model(tokens, simple), tmp_path / "s.onnx", form=form)
    looped = keras.layers.RNN(rk.RNNCell(4))(keras.layers.Embedding(12, 5, mask_zero=True)(tokens))
    with pytest.raises(ValueError, match=r"\(RNN around a RNNCell\).*rnn_keras.RNN\("):
        keras_model.to_onnx(keras.Model(tokens, looped), tmp_path / "r.onnx", form=form)
    lstm = keras.layers.LSTM(4)(keras.layers.Embedding(12, 5)(tokens))  # not ours to name
    with pytest.raises(ValueError, match=r"'lstm\w*' \(LSTM\) natively; form='loop'"):
        keras_model.to_onnx(keras.Model(tokens, lstm), tmp_path / "l.onnx", form=form)


@pytest.mark.parametrize("form", ["scan", "native"])
def test_float_features_masked_by_keras_masking_export_with_their_padding(tmp_path, form):
    import onnxruntime as ort

    from export import keras_model

    x = keras.Input((None, 3))
    h = keras.layers.Masking(mask_value=-1.0)(x)  # a step of all -1 is padding
    h = rk.RNN(5, return_sequences=True)(h)  # at padding Keras repeats the last state
    h = rk.Bidirectional(rk.RNN(4, return_sequences=True))(h)
    model = keras.Model(x, keras.layers.Dense(2)(h))
    assert keras_model.to_onnx(model, tmp_path / "m.onnx", form=form) < 1e-5
    features = np.random.default_rng(5).standard_normal((3, 7, 3)).astype(np.float32)
    features[1, 4:], features[2, 1:] = -1.0, -1.0  # lengths 7, 4, 1
    features[0, 2, 0] = -1.0  # one feature at the value: a real step still
    [got] = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"x": features})
    np.testing.assert_allclose(got, np.asarray(model(features)), atol=1e-5)
    tokens = keras.Input((None,), dtype="int32")
    late = keras.layers.Masking()(keras.layers.Embedding(12, 3)(tokens))
    late = keras.Model(tokens, keras.layers.Dense(2)(rk.RNN(4)(late)))
    with pytest.raises(ValueError, match="Masking is read on the float features"):
        keras_model.to_onnx(late, tmp_path / "late.onnx", form=form)


def test_what_the_hand_built_forms_cannot_take_is_refused_and_nothing_written(
    tmp_path, monkeypatch
):
    from export import keras_model, parity

    softmax = users_model(keras.layers.Dense(3, activation="softmax"))
    with pytest.raises(ValueError, match="activation 'softmax'.*form='loop'"):
        keras_model.to_onnx(softmax, tmp_path / "s.onnx", form="scan")
    assert keras_model.to_onnx(softmax, tmp_path / "s.onnx", form="loop") < 1e-5  # tf2onnx
    with pytest.raises(ValueError, match="`form` must be one of"):
        keras_model.to_onnx(users_model(), tmp_path / "x.onnx", form="fast")
    tokens = keras.Input((None,), dtype="int32")  # reversed outputs: the hand-built forms' gap
    h = rk.RNN(4, return_sequences=True, go_backwards=True)(rk.OneHot(12, mask_zero=True)(tokens))
    backwards = keras.Model(tokens, keras.layers.Dense(3)(h))
    with pytest.raises(ValueError, match="standalone RNN with go_backwards=True"):
        keras_model.to_onnx(backwards, tmp_path / "b.onnx", form="native")
    assert keras_model.to_onnx(backwards, tmp_path / "b.onnx", form="loop") < 1e-5
    monkeypatch.setattr(parity, "max_difference", lambda *a, **k: 0.5)
    with pytest.raises(parity.ParityError, match="0.5"):
        keras_model.to_onnx(users_model(), tmp_path / "bad.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.onnx", "s.onnx"]


def test_a_tagger_and_a_classifier_take_one_text(tmp_path):
    # a list reached str methods deep inside (AttributeError on 'splitlines'): now named
    (tmp_path / "t").mkdir()
    (tmp_path / "c").mkdir()
    [(tag_file, _)] = export(tagger(len(VOCAB), 2, units=4), "tag", tmp_path / "t", "scan")
    clf = classifier(len(VOCAB), 3, units=4)
    [(clf_file, _)] = export(clf, "classify", tmp_path / "c", "scan", LABELS)
    model = runtime.load(tag_file)
    assert isinstance(model.tag("Tobe"), str)
    with pytest.raises(TypeError, match="`text` must be a string .several lines"):
        model.tag(["To", "be"])
    with pytest.raises(TypeError, match="one call per passage; classify_many takes a list"):
        runtime.load(clf_file).classify(["To be", "or not"])
    with pytest.raises(TypeError, match="classify takes one passage"):
        runtime.load(clf_file).classify_many("To be")
