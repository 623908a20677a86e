"""`bench.gpu_kit` here and `bench.gpu` there: the GPU check's two halves, run on the CPU.

On the CPU the kit's checks compare onnxruntime with its own earlier answers, so they must
pass exactly; a doctored answer must fail them. (Timings are never asserted.)
"""

import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from bench import cli, gpu, gpu_kit
from rnn_keras_common import train_cli as train
from tests.helpers import cli_flags, play_text, tiny_flags


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu")
    text = play_text(folder, "hamlet", 6000)
    runs = {}
    for task in ("lm", "tag"):
        runs[task] = folder / task
        flags = cli_flags(text, runs[task], 2, units=8, layers=2, seq_len=20)
        assert train.cli([*flags, "--task", task]) == 0
    for task, extra in (("translate", ["--embedding", "4"]), ("caption", [])):
        runs[task] = folder / task
        flags = [*tiny_flags(units=8, batch_size=8, seq_len=None), "--max-output", "8", *extra]
        assert (
            train.cli(["--task", task, "--run-dir", str(runs[task]), "--steps", "2", *flags]) == 0
        )
    gpu_kit.make(folder / "kit", runs)
    return folder / "kit"


def manifest(kit):
    return json.loads((kit / "manifest.json").read_text())


def test_every_check_passes_against_the_cpu_answers(kit):
    found = gpu.checks(kit, manifest(kit), "cpu")
    assert len([k for k in found if k.startswith("outputs")]) == 9  # lm x2, step x2, tag x2
    assert len([k for k in found if k.endswith(".fp16.onnx")]) == 3  # and native's in fp16
    assert len([k for k in found if k.startswith("text")]) == 4  # native, scan; plain, fast
    assert len([k for k in found if k.startswith("n best")]) == 2
    assert all(ok for _, ok in found.values()), found


def doctored(kit, tmp_path):
    copy = tmp_path / "kit"
    shutil.copytree(kit, copy)
    return copy, manifest(copy)


def test_a_doctored_answer_fails_its_check(kit, tmp_path):
    copy, m = doctored(kit, tmp_path)
    arrays = dict(np.load(copy / m["cases"][0]["arrays"]))
    arrays["out:logits"] = arrays["out:logits"] + 2e-4  # over the 1e-4 tolerance
    np.savez(copy / m["cases"][0]["arrays"], **arrays)
    m["generate"][0]["text"] += "x"
    m["decode"][0]["nbest"][0][0][1] += 1e-3
    [half] = [c for c in m["cases"] if c["file"] == "tag/native/model.fp16.onnx"]
    half["tolerance"] = 1e-7  # fp16 is further than that from the float32 answers
    (copy / "manifest.json").write_text(json.dumps(m))
    found = gpu.checks(copy, m, "cpu")
    failed = {k for k, (_, ok) in found.items() if not ok}
    assert failed == {
        f"outputs {m['cases'][0]['file']}",
        f"text {m['generate'][0]['file']} (plain)",
        f"text {m['generate'][0]['file']} (fast)",
        f"n best {m['decode'][0]['file']}",
        "outputs tag/native/model.fp16.onnx",
    }


def test_the_speed_columns_compute_the_same_function(kit):
    table = gpu.speed(kit, manifest(kit), "cpu", ["step_b1", "b1"], repeats=2)
    for row in table.values():
        assert {"onnxruntime", "onnxruntime bound", "onnxruntime, Scan form"} <= set(row)
        assert ("PyTorch nn.RNN" in row) == (importlib.util.find_spec("torch") is not None)
        half = row.pop("onnxruntime fp16 bound")
        assert all(cell["diff"] < 1e-5 and cell["ms"] > 0 for cell in row.values())
        assert 1e-6 < half["diff"] < 1e-2  # float16's rounding, and no more


def test_the_command_writes_its_results_and_answers_bad_input(kit, tmp_path, capsys):
    copy, _ = doctored(kit, tmp_path)
    assert gpu.main([str(copy), "--device", "cpu", "--rows", "step_b1", "--repeats", "2"]) == 0
    results = json.loads((copy / "results-cpu.json").read_text())
    assert results["chars_per_s"]["fast"] > 0 and "step_b1" in results["speed"]
    assert set(results["lm_step_us"]) == {"states copied", "states carried"}
    assert all(us > 0 for us in results["lm_step_us"].values())
    assert "ok   CUDA asked for with the GPU hidden" in capsys.readouterr().out
    assert cli(gpu.main, [str(tmp_path / "nowhere"), "--device", "cpu"]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert cli(gpu_kit.main, [str(copy)]) == 2  # a kit is never written over
    assert "exists" in capsys.readouterr().err


def test_the_gpu_side_runs_without_tensorflow(kit):
    code = (
        "import sys, json, pathlib\n"
        "for m in ('tensorflow', 'keras', 'tf2onnx'): sys.modules[m] = None  # not installed\n"
        "from bench import gpu\n"
        f"kit = pathlib.Path({str(kit)!r})\n"
        "found = gpu.checks(kit, json.loads((kit / 'manifest.json').read_text()), 'cpu')\n"
        "gpu.speed(kit, json.loads((kit / 'manifest.json').read_text()), 'cpu', ['step_b1'], 2)\n"
        "sys.exit(0 if all(ok for _, ok in found.values()) else 1)"
    )
    root = pathlib.Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(), reason="CUDA is available here"
)
def test_bench_device_cuda_without_a_gpu_says_so(kit, capsys):
    from bench import __main__ as bench_main

    assert cli(bench_main.main, ["--device", "cuda", "--kit", str(kit)]) == 2
    assert "no CUDAExecutionProvider" in capsys.readouterr().err
