"""Bad inputs across the layers, the Python APIs and the CLIs: each a clear error, or it just works.

(More live beside the code they check: test_layers, test_bidirectional, test_cli, test_export.)
"""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import tensorflow as tf

import rnn_keras as rk
from export import api, metadata, runtime
from rnn_keras.tasks.generate import Generator
from rnn_keras.tasks.lm import char_lm
from rnn_keras.train import saving
from rnn_keras_common import decoding as sampling
from rnn_keras_common.vocab import Vocab, VocabularyError

VOCAB = Vocab.from_text("abcdefghij ROMEO:\n")


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    model = char_lm(len(VOCAB), units=8, num_layers=1)
    folder = tmp_path_factory.mktemp("lm")
    [(seq, _), (step, _)] = api.export_model(
        model, {"task": "lm", "text": None}, VOCAB, None, folder, check=False
    )
    return model, seq, step


def test_string_features_into_a_layer():
    with pytest.raises(ValueError, match="real-valued features.*dtype string"):
        rk.RNN(3)(tf.constant([[["a", "b"]]]))


def test_float_tokens_into_one_hot():
    with pytest.raises(ValueError, match="integer token ids"):
        rk.OneHot(5)(np.zeros((2, 3), np.float32))


def test_empty_batch_and_zero_length_sequences_just_work():
    layer = rk.Bidirectional(rk.RNN(3, return_sequences=True, return_state=True))
    y, s_fw, s_bw = layer(np.zeros((0, 4, 2), np.float32))
    assert y.shape == (0, 4, 6) and s_fw.shape == (0, 3)
    s0 = [np.ones((2, 3), np.float32), np.full((2, 3), 0.5, np.float32)]
    y, s_fw, s_bw = layer(np.zeros((2, 0, 2), np.float32), initial_state=s0)
    assert y.shape == (2, 0, 6)  # no steps: the state is the initial state
    np.testing.assert_array_equal(s_fw, s0[0])
    np.testing.assert_array_equal(s_bw, s0[1])


def test_sequence_longer_than_any_in_training_just_works(lm):
    model, seq, _ = lm
    text = ("ROMEO: " + "abcdefghij " * 300)[:3000]  # trained (here: built) for T=100
    logits = runtime.load(seq).step([VOCAB.encode(text)], runtime.load(seq).zero_states(1))[0]
    assert logits.shape == (1, 3000, len(VOCAB)) and np.isfinite(logits).all()
    assert Generator(model, VOCAB).generate(text, 5).startswith(text)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=0), "temperature"),
        (dict(temperature=-1.0), "temperature"),
        (dict(top_k=-1), "top_k"),
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
    ],
)
def test_sampling_arguments(lm, kwargs, message):
    model, _, step = lm
    for generate in (Generator(model, VOCAB).generate, runtime.load(step).generate):
        with pytest.raises(ValueError, match=message):
            generate("ROMEO:", 5, **kwargs)


def test_empty_prime_and_unknown_characters(lm):
    model, _, step = lm
    for generate in (Generator(model, VOCAB).generate, runtime.load(step).generate):
        with pytest.raises(ValueError, match="prime"):
            generate("", 5)
        with pytest.raises(VocabularyError, match="'Znosu'"):  # every unknown one, once
            generate("ROMEO: Zounds", 5)


def test_keras_files_that_are_not_ours_or_truncated(tmp_path, lm):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"\x00not a keras archive")
    with pytest.raises(saving.ModelFileError, match="not a .keras archive"):
        saving.load_model(junk)
    good = tmp_path / "good.keras"
    lm[0].save(good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(saving.ModelFileError):
        saving.load_model(truncated)
    with pytest.raises(saving.ModelFileError, match="no such"):
        saving.load_model(tmp_path / "missing.keras")


def test_truncated_onnx(tmp_path, lm):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(lm[1].read_bytes()[:500])
    with pytest.raises(metadata.MetadataError, match="not a readable ONNX"):
        runtime.load(cut)


def rewrite_metadata(src, dst, key, value):
    model = onnx.load(str(src))
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, str(dst))
    return dst


def test_malformed_and_oversized_metadata(tmp_path, lm):
    bad = rewrite_metadata(lm[1], tmp_path / "bad.onnx", "rnn_keras.vocab", '["a", ')
    with pytest.raises(metadata.MetadataError, match="not valid JSON"):
        runtime.load(bad)
    huge = json.dumps(["a"] * 400_000)
    big = rewrite_metadata(lm[1], tmp_path / "big.onnx", "rnn_keras.vocab", huge)
    with pytest.raises(metadata.MetadataError, match="larger than"):
        runtime.load(big)
    odd = rewrite_metadata(lm[1], tmp_path / "odd.onnx", "rnn_keras.task", "poetry")
    with pytest.raises(metadata.MetadataError, match="unknown task"):
        runtime.load(odd)


def test_wrong_input_shape_into_a_session(lm):
    session = runtime.load(lm[2])
    with pytest.raises(ValueError, match="must have shape"):
        session.run({"tokens": np.zeros((1, 1, 1), np.int32), **session.zero_states(1)})
    with pytest.raises(ValueError, match="needs input 'state_0'"):
        session.run({"tokens": np.zeros((1, 1), np.int32)})


def infer_cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "export.infer", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stderr


@pytest.mark.skipif(
    "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers(),
    reason="CUDA is available here",
)
def test_infer_cli_errors(tmp_path, lm):
    code, err = infer_cli(lm[2], "--device", "cuda")
    assert code == 2 and "error: device='cuda'" in err and "onnxruntime-gpu" in err
    junk = tmp_path / "junk.onnx"
    junk.write_text("hello")
    code, err = infer_cli(junk)
    assert code == 2 and "not a readable ONNX" in err and "Traceback" not in err
    code, err = infer_cli(lm[2], "--prime", "ROMEO: Zounds")
    assert code == 2 and "not trained on" in err
    code, err = infer_cli(lm[2], "--text", "ROMEO:", "--beam", "3")  # a tagger's, a decoder's
    assert code == 2 and err.count("\n") == 1
    assert "an lm model: it would ignore" in err
    assert "--text (for tag, classify and translate models)" in err
    assert "--beam (for translate and caption models)" in err
    code, err = infer_cli(lm[2], "--max-output", "9")
    assert code == 2 and "it would ignore --max-output (for translate and caption models)" in err


def test_a_run_folder_loads_its_main_file(tmp_path, lm):
    _, seq, step = lm
    model = runtime.load(step.parent)  # the LM's folder: step.onnx before model.onnx
    assert model.path == step and type(model) is type(runtime.load(step))
    want = runtime.load(step).generate("ab", 20, seed=4)
    assert model.generate("ab", 20, seed=4) == want
    code, err = infer_cli(tmp_path)  # a folder with nothing exported
    assert code == 2 and err.count("\n") == 1
    assert "holds no exported model" in err and f"python -m export {tmp_path}" in err


def test_export_cli_on_a_folder_that_is_not_a_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "export", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "not a run folder" in proc.stderr


def test_sampling_probabilities_respect_top_k_and_top_p():
    logits = np.log(np.array([1e-9, 0.5, 0.3, 0.15, 0.05]))
    assert np.count_nonzero(sampling.probabilities(logits, top_k=2)) == 2
    p = sampling.probabilities(logits, top_p=0.75)
    assert np.count_nonzero(p) == 2 and p[0] == 0.0  # 0.5 + 0.3 pass 0.75; padding never


def test_play_passages_too_long_for_the_held_out_split_are_refused(tmp_path, capsys):
    """--seq-len 50 lines left no play a held-out passage (a KeyError after the first
    steps); the largest that works is named, and it works."""
    from rnn_keras.tasks.classify import play_data
    from rnn_keras_common import train_cli

    code = train_cli.cli(
        ["--task", "classify", "--seq-len", "50", "--run-dir", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and not (tmp_path / "r").exists()
    longest = int(err[0].split("Pass --seq-len ")[1].split()[0])
    with pytest.raises(Exception, match=f"--seq-len {longest + 1}: "):
        play_data(longest + 1)
    train, val, labels = play_data(longest)
    assert {y for _, y in val} == set(range(len(labels)))  # every play held out


@pytest.mark.parametrize(
    "where, said", [("file/x", "cannot make the folder"), ("file", "is a file")]
)
def test_an_export_out_dir_that_cannot_be_a_folder_is_one_line(tmp_path, capsys, where, said):
    from export import __main__ as export_cli

    (tmp_path / "file").write_text("mine")
    assert export_cli.cli([str(tmp_path), "--out-dir", str(tmp_path / where)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and err[0].startswith(f"error: --out-dir {tmp_path / where}")
        and said in err[0]
    )
    assert (tmp_path / "file").read_text() == "mine"
