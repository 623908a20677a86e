"""Every export form of every task gives TensorFlow's answers in onnxruntime, OpenVINO and
onnx.reference, on right-padded batches of mixed lengths (real positions, final states)."""

import onnx
import pytest

from export import api, parity, runtime
from export.metadata import MetadataError
from rnn_keras.tasks.classify import classifier
from rnn_keras.tasks.lm import char_lm
from rnn_keras.tasks.tag import tagger
from rnn_keras_common.vocab import Vocab

TEXT = ("To be, or not to be, that is the question: whether tis nobler in the mind " * 8).strip()
VOCAB = Vocab.from_text(TEXT)
FORMS = ("scan", "native", "loop")
MODELS = {  # name: (task, builder, labels)
    "lm": ("lm", lambda: char_lm(len(VOCAB), 8, 2), None),
    "lm_linear": ("lm", lambda: char_lm(len(VOCAB), 8, 2, activation="linear"), None),
    "tag_deep_bi": ("tag", lambda: tagger(len(VOCAB), 2, units=6, num_layers=2), ["i", "e"]),
    "tag_uni": ("tag", lambda: tagger(len(VOCAB), 2, units=6, bidirectional=False), ["i", "e"]),
    "classify_bi_last": (
        "classify",
        lambda: classifier(len(VOCAB), 3, units=6, pool="last"),
        ["a", "b", "c"],
    ),
    "classify_uni_max": (
        "classify",
        lambda: classifier(len(VOCAB), 3, units=6, bidirectional=False, pool="max"),
        ["a", "b", "c"],
    ),
}
# onnx.reference gaps, skipped with the reason rather than patched
REFERENCE_GAPS = {
    "scan": "onnx.reference's Scan does not implement scan_input_directions",
    "loop": "onnx.reference raises on tf2onnx's Loop files (a TypeError in a Mul of the body)",
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """`{(model name, form): (keras model, [(file, kind)], task)}`, exported once."""
    out = {}
    for name, (task, build, labels) in MODELS.items():
        model = build()
        for form in FORMS:
            folder = tmp_path_factory.mktemp(f"{name}-{form}")
            cfg = {"task": task, "text": None}
            files = api.export_model(model, cfg, VOCAB, labels, folder, form, sample=TEXT)
            kinds = ["sequence", "step"][: len(files)]
            out[name, form] = (model, [(f, k) for (f, _), k in zip(files, kinds)], task)
    return out


def cases():
    return [(name, form) for name in MODELS for form in FORMS]


def inputs(task, kind):
    return parity.real_inputs({"task": task, "text": None}, VOCAB, kind, text=TEXT)


@pytest.mark.parametrize("name,form", cases())
def test_files_pass_the_full_checker_and_strict_shape_inference(exports, name, form):
    for path, _ in exports[name, form][1]:
        proto = onnx.load(path)
        onnx.checker.check_model(proto, full_check=True)
        onnx.shape_inference.infer_shapes(proto, strict_mode=True)
        assert all(o.domain in ("", "ai.onnx") for o in proto.opset_import), proto.opset_import
        # what the README promises readers of the files (onnxruntime 1.13 on)
        assert [o.version for o in proto.opset_import] == [17] and proto.ir_version == 8


@pytest.mark.parametrize("name,form", cases())
def test_every_node_computes_something_the_outputs_need(exports, name, form):
    # onnxruntime runs a node whose outputs nobody reads (it kept a tagger's final states)
    for path, _ in exports[name, form][1]:
        graph = onnx.load(path).graph
        read = {o.name for o in graph.output} | {i for n in graph.node for i in n.input}
        read |= {i for n in graph.node for a in n.attribute if a.g for m in a.g.node
                 for i in m.input}  # fmt: skip
        dead = [n.op_type for n in graph.node if not read.intersection(n.output)]
        assert not dead, (path.name, dead)


@pytest.mark.parametrize("name,form", cases())
def test_no_identity_copies_a_computed_output(exports, name, form):
    # onnxruntime keeps (and copies through) an output's Identity when its input is also
    # read elsewhere, as the LM's states are; the producing node names the output instead
    for path, _ in exports[name, form][1]:
        graph = onnx.load(path).graph
        made = {o for n in graph.node for o in n.output}
        outputs = {o.name for o in graph.output}
        copies = [n.output[0] for n in graph.node if n.op_type == "Identity"
                  and n.input[0] in made and n.output[0] in outputs]  # fmt: skip
        assert not copies, (path.name, copies)


@pytest.mark.parametrize("name,form", cases())
def test_onnxruntime_and_openvino_agree_with_tensorflow(exports, name, form):
    pytest.importorskip("openvino", reason="optional: pip install -r requirements-openvino.txt")
    model, files, task = exports[name, form]
    for path, kind in files:
        tokens = inputs(task, kind)
        for name_ in ("onnxruntime", "openvino"):
            if (name, form, kind, name_) == ("lm_linear", "native", "sequence", "openvino"):
                with pytest.raises(MetadataError, match="Unknown activation function: affine"):
                    runtime.load(path, runtime="openvino")  # a gap of OpenVINO's, said plainly
                continue
            diff = parity.max_difference(model, path, tokens, runtime_name=name_)
            assert diff <= 1e-4, (path.name, name_, diff)


@pytest.mark.parametrize("name,form", cases())
def test_onnx_reference_agrees_where_it_implements_the_ops(exports, name, form):
    if form == "loop":
        pytest.skip(REFERENCE_GAPS[form])
    from onnx.reference import ReferenceEvaluator

    model, files, task = exports[name, form]
    for path, kind in files:
        if form == "scan" and _scans_in_reverse(path):  # padded models scan forward only
            pytest.skip(REFERENCE_GAPS[form])
        evaluator = ReferenceEvaluator(str(path))
        diff = parity.max_difference(model, path, inputs(task, kind), session=evaluator)
        assert diff <= 1e-4, (path.name, diff)


def _scans_in_reverse(path):
    scans = [n for n in onnx.load(path).graph.node if n.op_type == "Scan"]
    return any(1 in a.ints for n in scans for a in n.attribute if a.name.endswith("directions"))


def test_the_runtime_api_and_cli_take_openvino(exports, capsys):
    pytest.importorskip("openvino", reason="optional: pip install -r requirements-openvino.txt")
    from export import infer

    [(path, _)] = exports["tag_deep_bi", "native"][1]
    ours = runtime.load(path, runtime="openvino")
    assert ours.tag("Tobeornot") == runtime.load(path).tag("Tobeornot")
    assert infer.cli([str(path), "--text", "Tobeornot", "--runtime", "openvino"]) == 0
    for name in ("lm", "lm_linear"):  # linear: compiled, a state output has several names
        lm_step = exports[name, "scan"][1][1][0]
        a = runtime.load(lm_step, runtime="openvino").generate("To", 20, seed=3)
        assert a == runtime.load(lm_step).generate("To", 20, seed=3)


def test_openvino_missing_is_one_clear_error(monkeypatch, exports, capsys):
    import builtins

    from export import infer

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    [(path, _)] = exports["tag_uni", "scan"][1]
    assert infer.cli([str(path), "--text", "Tobe", "--runtime", "openvino"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "requirements-openvino.txt" in err
