"""export.quantize: `--int8` and `--fp16` copies keep the model's answers, metadata and API."""

import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from export import api, parity, quantize, runtime
from export.loop import _subgraphs
from export.tolerance import ParityError
from rnn_keras.data import plays as corpus
from rnn_keras.tasks.classify import classifier
from rnn_keras.tasks.lm import char_lm
from rnn_keras.tasks.tag import tagger
from rnn_keras_common import train_cli as train
from rnn_keras_common.vocab import Vocab
from tests.helpers import tiny_flags

VOCAB = Vocab.from_text(corpus.default_text())


def _exported(tmp_path, task, model, labels=None, path="scan"):
    """The files of `model` (Scan form by default) with its head scaled, so that, as in a
    trained model, its answers are not near-ties that any rounding flips."""
    head = model.get_layer("head")
    head.kernel.assign(20.0 * head.kernel)
    cfg = {"task": task, "text": None}
    return [f for f, _ in api.export_model(model, cfg, VOCAB, labels, tmp_path, path)]


def _tokens(task, kind="sequence"):
    return parity.real_inputs({"task": task, "text": None}, VOCAB, kind, batch=64)


def _graphs(path):
    """The file's graph and its nodes' subgraphs (the Scan bodies)."""
    graph = onnx.load(str(path)).graph
    return [graph, *_subgraphs(graph)]


def _ops(path):
    """Every node's op type, the Scan bodies' included."""
    return [n.op_type for g in _graphs(path) for n in g.node]


def test_an_int8_tagger_keeps_its_answers_metadata_and_api(tmp_path):
    model = tagger(len(VOCAB), 3, units=[32, 24], num_layers=2, bidirectional=True)
    [file] = _exported(tmp_path, "tag", model)
    tokens = _tokens("tag")
    diff, agreement, what = quantize.quantize_file(file, tokens)
    assert what == "real positions"
    int8 = quantize.int8_path(file)
    assert int8.name == "model.int8.onnx" and int8.stat().st_size < file.stat().st_size / 2
    assert "MatMulInteger" in _ops(int8) and "MatMul" not in _ops(int8)  # every one
    a, b = (runtime.load(f).run({"tokens": tokens})["logits"] for f in (file, int8))
    real = tokens != 0
    assert diff == pytest.approx(np.abs(a - b)[real].max())
    assert agreement == np.mean(a[real].argmax(-1) == b[real].argmax(-1)) >= 0.9
    assert 0 < diff < 0.05 * np.abs(a[real]).max()  # changed, a little
    loaded = runtime.load(int8)  # the float file's metadata: the same task, vocabulary, API
    assert loaded.meta["task"] == "tag" and loaded.vocab == VOCAB
    assert loaded.tag("Tobeornottobe") is not None


def test_int8_weights_use_seven_bits_so_cpus_without_vnni_do_not_saturate(tmp_path):
    # AVX2-only CPUs sum pairs of uint8 x int8 products in int16 (VPMADDUBSW): with 8-bit
    # weights a 256-unit tagger agreed with float at 57% of positions on such a CPU
    model = tagger(len(VOCAB), 3, units=[32, 24], num_layers=2, bidirectional=True)
    [file] = _exported(tmp_path, "tag", model)
    quantize.quantize_file(file, _tokens("tag"))
    weights = [
        numpy_helper.to_array(i)
        for g in _graphs(quantize.int8_path(file))
        for i in g.initializer
        if i.data_type == onnx.TensorProto.INT8 and i.dims  # matrices, not zero points
    ]
    assert len(weights) >= 6  # W of each direction and layer, the second layer's U, and V
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) == 64  # 7 bits, all used


def test_int8_language_model_files_generate_and_stay_close(tmp_path):
    model = char_lm(len(VOCAB), units=32, num_layers=2)
    files = _exported(tmp_path, "lm", model)
    for file, kind in zip(files, ("sequence", "step")):
        diff, agreement, _ = quantize.quantize_file(file, _tokens("lm", kind))
        assert diff > 0 and agreement >= 0.9
    step = runtime.load(tmp_path / "step.int8.onnx")
    assert "MatMulInteger" in _ops(tmp_path / "model.int8.onnx")  # inside the Scan body
    assert len(step.generate("\n", 40, seed=0)) == 1 + 40  # the prime, then 40 characters


def test_a_classifier_quantizes(tmp_path):
    model = classifier(len(VOCAB), 3, units=16, bidirectional=True)
    [file] = _exported(tmp_path, "classify", model, ["a", "b", "c"])
    _, agreement, what = quantize.quantize_file(file, _tokens("classify"))
    assert agreement >= 0.9 and what == "texts"  # one label per text, not per position
    assert runtime.load(quantize.int8_path(file)).classify("To be or not")[0] in "abc"


@pytest.mark.parametrize("path", ["native", "scan"])
def test_an_fp16_bidirectional_tagger_on_a_padded_batch_keeps_its_answers(tmp_path, path):
    model = tagger(len(VOCAB), 3, units=[32, 24], num_layers=2, bidirectional=True)
    [file] = _exported(tmp_path, "tag", model, path=path)
    tokens = _tokens("tag")
    assert (tokens == 0).any()  # padded rows: the mask's Cast must become fp16 too
    diff, agreement, what = quantize.quantize_file(file, tokens, "fp16")
    fp16 = quantize.copy_path(file, "fp16")
    assert fp16.name == "model.fp16.onnx" and fp16.stat().st_size < 0.6 * file.stat().st_size
    graph = onnx.load(str(fp16)).graph
    assert {i.data_type for i in graph.initializer if i.name.startswith(("W", "R", "U"))} == {
        onnx.TensorProto.FLOAT16
    }
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 out
    a, b = (runtime.load(f).run({"tokens": tokens})["logits"] for f in (file, fp16))
    real = tokens != 0
    assert diff == pytest.approx(np.abs(a - b)[real].max())
    assert agreement == np.mean(a[real].argmax(-1) == b[real].argmax(-1)) >= 0.99
    assert 0 < diff < 0.01 * np.abs(a[real]).max()  # fp16's rounding, no more
    assert runtime.load(fp16).tag("Tobeornottobe") is not None


def test_an_fp16_language_model_step_generates(tmp_path):
    files = _exported(tmp_path, "lm", char_lm(len(VOCAB), units=32, num_layers=2), path="native")
    for file, kind in zip(files, ("sequence", "step")):
        diff, agreement, _ = quantize.quantize_file(file, _tokens("lm", kind), "fp16")
        assert 0 < diff and agreement >= 0.99
    assert len(runtime.load(tmp_path / "step.fp16.onnx").generate("\n", 40, seed=0)) == 41


@pytest.mark.parametrize("path", ["native", "scan"])
def test_an_fp16_max_pooling_classifier_is_quiet_and_keeps_its_answers(tmp_path, path):
    # the masked max's "lowest" sentinel (-3e38) is beyond fp16: the converter warned of it
    # (a Python warning in the CLI's output) and clipped it to -1e4 instead of fp16's -65504
    model = classifier(len(VOCAB), 3, units=16, bidirectional=True, pool="max")
    [file] = _exported(tmp_path, "classify", model, ["a", "b", "c"], path=path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, agreement, what = quantize.quantize_file(file, _tokens("classify"), "fp16")
    assert agreement >= 0.9 and what == "texts"
    graph = onnx.load(str(quantize.copy_path(file, "fp16"))).graph
    lowest = [numpy_helper.to_array(i) for i in graph.initializer]
    assert min(float(a.min()) for a in lowest if a.dtype == np.float16) == -65504.0


def test_an_int8_copy_that_changes_answers_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    model = tagger(len(VOCAB), 3, units=8)
    [file] = _exported(tmp_path, "tag", model)
    monkeypatch.setattr(quantize, "MIN_AGREEMENT", 1.01)
    with pytest.raises(ParityError, match="class at only .* of real positions"):
        quantize.quantize_file(file, _tokens("tag"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_export_int8_cli_on_a_run(tmp_path, capsys):
    from export import __main__ as export_cli

    text = tmp_path / "t.txt"
    text.write_text(corpus.default_text()[:20_000], encoding="utf-8")
    run = tmp_path / "run"
    flags = [*tiny_flags(units=16, batch_size=4, seq_len=16), "--steps", "3"]
    assert train.cli(["--text", str(text), "--run-dir", str(run), *flags]) == 0
    capsys.readouterr()
    assert export_cli.cli([str(run), "--int8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [
        str(run / name) for name in ("model.onnx", "step.onnx", "model.int8.onnx", "step.int8.onnx")
    ]
    assert "(int8 of model.onnx; max abs diff vs float" in out[2]
    assert "of real positions)" in out[2]
    assert export_cli.cli([str(run), "--int8", "--path", "native"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --int8 with --path native: int8 copies")
    assert export_cli.cli([str(run)]) == 0  # float files afresh: the int8 ones are stale
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"note: {run / 'model.int8.onnx'}, {run / 'step.int8.onnx'} are int8")
    assert (run / "model.int8.onnx").is_file()  # said, not deleted
    assert train.cli(["--resume", str(run), "--steps", "4", "--export"]) == 0
    assert "model.int8.onnx, " in capsys.readouterr().err  # trained further: stale again
    assert export_cli.cli([str(run), "--path", "native", "--fp16"]) == 0
    out, err = capsys.readouterr()
    assert "step.fp16.onnx  (fp16 of step.onnx; max abs diff vs float" in out
    assert "are int8 copies" in err and "RUN --int8` to write them" in err  # fp16: fresh
    assert export_cli.cli([str(run), "--path", "native"]) == 0
    err = capsys.readouterr().err
    assert "are int8 and fp16 copies" in err and "RUN --int8 --fp16` to write them" in err
    assert export_cli.cli([str(run), "--fp16", "--path", "loop"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --fp16 with --path loop: fp16 copies")


def test_the_stale_int8_note_reads_right_for_one_file(tmp_path):
    file = tmp_path / "model.onnx"
    assert api.stale_copies_note([(file, None)]) is None  # no int8 copy: nothing to say
    quantize.int8_path(file).write_bytes(b"")
    note = api.stale_copies_note([(file, None)])
    assert f"{quantize.int8_path(file)} is an int8 copy of an earlier export" in note
    assert note.endswith("`python -m export RUN --int8` to write it afresh, or delete it.")
    assert api.stale_copies_note([(file, None)], fresh=["int8"]) is None  # just written
