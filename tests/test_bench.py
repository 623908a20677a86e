"""The benchmark compares like with like: every column computes the same function.

(Timings are never asserted; see `python -m bench`.)
"""

import importlib
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import bench
from bench import __main__ as bench_main
from bench import frameworks as fw
from bench import measure


@pytest.fixture(scope="module")
def weights():
    return fw.shared_weights()


def test_flops_formula():
    # layer 1: 2 dirs x (64*256 + 256*256); layer 2: 2 x (512*256 + 256*256); head 512*64
    per_step = 2 * (2 * (64 * 256 + 256 * 256) + 2 * (512 * 256 + 256 * 256) + 512 * 64)
    assert measure.flops("fwd_b1") == per_step * 100
    assert measure.flops("train_b32") == 3 * 32 * per_step * 100


def test_every_column_computes_the_same_forward(weights, tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 7, fw.FEATURES)).astype(np.float32)
    ours = fw.keras_model("ours", weights)
    reference = np.asarray(fw.keras_model("keras", weights)(x))
    outputs = {
        "ours": fw.tensorflow_fns(ours)[0](x),
        "ours_xla": fw.tensorflow_fns(ours, jit_compile=True)[0](x),
    }
    for path in ("scan", "native", "loop"):
        fw.export_onnx(ours, path, tmp_path / f"{path}.onnx")
        outputs[f"ort_{path}"] = fw.onnx_forward(tmp_path / f"{path}.onnx")(x)
    if importlib.util.find_spec("torch"):
        outputs["torch"] = fw.torch_fns(weights)[0](x)
    for name, out in outputs.items():
        np.testing.assert_allclose(out, reference, atol=1e-5, err_msg=name)


def test_the_users_path_column_is_the_same_network_on_token_ids(weights, tmp_path):
    tokens = np.random.default_rng(0).integers(1, fw.FEATURES, (3, 9)).astype(np.int32)
    tokens[1, 5:] = 0  # a right-padded row: the default file masks it
    one_hot = np.eye(fw.FEATURES, dtype=np.float32)[tokens]
    file = fw.export_user_file(fw.user_model(weights), tmp_path)
    got = fw.user_forward(file)(tokens)
    want = np.asarray(fw.keras_model("ours", weights)(one_hot))
    np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], atol=1e-5)
    short = np.asarray(fw.keras_model("ours", weights)(one_hot[1:2, :5]))
    np.testing.assert_allclose(got[1, :5], short[0], atol=1e-5)  # as if it had no padding


def test_the_int8_column_is_the_users_file_quantized(weights, tmp_path):
    tokens = np.random.default_rng(0).integers(1, fw.FEATURES, (3, 9)).astype(np.int32)
    file = fw.export_user_file(fw.user_model(weights), tmp_path)
    int8 = fw.quantize_user_file(file)
    assert int8.name == "model.int8.onnx"
    want, got = fw.user_forward(file)(tokens), fw.user_forward(int8)(tokens)
    assert 0 < np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_train_steps_reduce_the_same_loss(weights):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, fw.FEATURES)).astype(np.float32)
    y = rng.standard_normal((2, 5, fw.OUT)).astype(np.float32)
    tape = fw.tensorflow_fns(fw.keras_model("ours", weights), fused=False)[1]
    fused = fw.tensorflow_fns(fw.keras_model("ours", weights), fused=True)[1]
    losses = [(tape(x, y), fused(x, y)) for _ in range(3)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][1] < losses[0][1]


def test_ratios_are_taken_within_each_round():
    from bench.__main__ import table

    # the machine changed speed between rounds: within-round ratios 0.5, 1.0, 0.5 -> 0.5,
    # while the ratio of the two medians (5 / 5) would say 1.0
    results = {
        "torch": [{"ms": {"fwd_b1": 10.0}}, {"ms": {"fwd_b1": 5.0}}, {"ms": {"fwd_b1": 5.0}}],
        "ort_scan": [{"ms": {"fwd_b1": 5.0}}, {"ms": {"fwd_b1": 5.0}}, {"ms": {"fwd_b1": 2.5}}],
        "keras": [{"error": "boom"}] * 3,
    }
    text, base = table(results, ["fwd_b1", "fwd_b32"])
    assert base == "torch"
    row = next(line for line in text.splitlines() if line.startswith("| fwd_b1 "))
    assert "5.00 ms (1.00x)" in row and "5.00 ms (0.50x)" in row
    assert "| fwd_b32 | 3.77 G | - | - | - |" in text and text.endswith("| boom | 0 | 0 |")


def test_classification_baselines_score_the_held_out_passages():
    from bench import classify

    rng = np.random.default_rng(0)
    words = ["ox", "ab", "cd", "ef", "gh"]
    rows = [
        (" ".join(rng.choice(words[1:], 4)) + (" ox" if i % 2 else ""), i % 2) for i in range(80)
    ]
    scores = classify.baselines(rows[:60], rows[60:])
    assert scores["majority"][0] == 0.5  # half the held-out passages hold "ox"
    assert scores["char 1-4-gram LR"][:2] == (1.0, 1.0)
    assert scores["word 1-2-gram LR"][:2] == (1.0, 1.0)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--rounds", "0"], "--rounds: must be at least 1, got 0"),
        (["--rounds", "-1"], "--rounds: must be at least 1, got -1"),
        (["--rows", "nope"], "--rows: unknown ['nope']; choose from fwd_b32,fwd_b1,"),
        (["--columns", "torch,nope"], "--columns: unknown ['nope']; choose from ours_tape,"),
        (["--kit", "gpu_kit"], "--kit goes with --device cuda"),  # it would bench the CPU
        (["--device", "cuda", "--isa", "avx2"], "--isa: the CPU table's"),
        (["--device", "cuda", "--columns", "torch", "--no-lm"], "--columns and --no-lm"),
    ],
)
def test_bad_arguments_stop_before_any_measurement(flags, message, capsys, monkeypatch):
    def measured(*args, **kwargs):
        raise AssertionError("measured despite bad arguments")

    monkeypatch.setattr(measure, "gemm_gflops", measured)
    monkeypatch.setattr(bench_main.gpu, "main", measured)
    with pytest.raises(SystemExit) as stop:
        bench_main.main(flags)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_cuda_rows_go_to_bench_gpu(monkeypatch):
    calls = []
    monkeypatch.setattr(bench_main.gpu, "main", lambda argv: calls.append(argv) or 0)
    assert bench_main.main(["--device", "cuda", "--rows", "b1,step_b1", "--full"]) == 0
    assert calls == [["gpu_kit", "--device", "cuda", "--repeats", "30", "--rows", "b1,step_b1"]]


def lm_run(folder):
    from rnn_keras_common.config import TrainConfig

    (folder / "config.json").write_text(TrainConfig(task="lm", steps=5).resolved().to_json())
    return str(folder)


@pytest.mark.parametrize(
    "module, flags, message",
    [
        ("quality", lambda d: ["--minutes", "0"], "--minutes must be a number"),
        ("quality", lambda d: ["--out", lm_run(d) + "/config.json"], "is a file"),
        ("quality", lambda d: ["--out", lm_run(d) + "/config.json/x"], "cannot make the folder"),
        ("classify", lambda d: ["--out", lm_run(d) + "/config.json/x"], "cannot make the folder"),
        ("gpu_kit", lambda d: [lm_run(d) + "/config.json/kit"], "cannot make the folder"),
        ("quality", lambda d: ["--only", "torch_2x256", "--embedding", "0"], "--only leaves"),
        ("translate", lambda d: [str(d / "nowhere")], "not a run folder"),
        ("translate", lambda d: [lm_run(d)], "was trained with --task lm"),
        ("translate", lambda d: [lm_run(d), "--beam", "0"], "--beam: must be at least 1, got 0"),
        ("torch_g2p", lambda d: ["--minutes", "0"], "--minutes must be positive"),
        ("classify", lambda d: ["--steps", "0"], "--steps: must be at least 1, got 0"),
        ("gpu", lambda d: [str(d), "--repeats", "0"], "--repeats: must be at least 1, got 0"),
        ("gpu", lambda d: [str(d), "--device", "cpu"], "no manifest.json"),
        ("gpu_kit", lambda d: [str(d)], "exists; pass a new folder"),
        ("runtimes", lambda d: ["--forms", "scan,nope"], "unknown forms ['nope']"),
        ("torch_g2p", lambda d: ["--seed", "-1"], "--seed: must be an integer in [0, 4294967295]"),
        ("classify", lambda d: ["--seed", str(2**32)], "--seed: must be an integer in [0, "),
        ("quality", lambda d: ["--seed", "-1"], "--seed: must be an integer in [0, 4294967295]"),
        ("runtimes", lambda d: ["--repeats", "0"], "--repeats: must be at least 1, got 0"),
    ],
)
def test_the_bench_commands_answer_bad_input_with_one_error_line(
    module, flags, message, tmp_path, capsys
):
    main = importlib.import_module(f"bench.{module}").main
    try:
        code = bench.cli(main, flags(tmp_path))
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert "error: " in err.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["bench.quality", "bench.translate"])
def test_python_dash_m_goes_through_the_error_handler(module, tmp_path):
    flags = ["--minutes", "0"] if module == "bench.quality" else [str(tmp_path)]
    done = subprocess.run([sys.executable, "-m", module, *flags], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: "), done.stderr


def test_the_lm_line_gives_both_compilers_and_the_one_train_py_keeps():
    from bench.__main__ import lm_line

    line = lm_line({"chars_per_s": {"xla": 90_000.0, "no_xla": 95_500.0}})
    assert line.endswith("characters/s: XLA 90,000, without XLA 95,500; train.py keeps without XLA")
    assert "keeps XLA" in lm_line({"chars_per_s": {"xla": 2.0, "no_xla": 1.0}})
    assert lm_line({"error": "(failed: boom)"}).endswith("characters/s:  (failed: boom)")
