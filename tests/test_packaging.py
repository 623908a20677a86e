"""The project as users install it: a wheel, console scripts, pins that agree, and
import habits (`import rnn_keras` registers the layers; inference never imports TensorFlow)."""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest
import tomllib

from tests.helpers import play_text

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pins(lines):
    """`{name: spec}` of requirement strings such as `onnx==1.23.2`."""
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("rnn-keras"):
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
            out[name.lower()] = spec.replace(" ", "")
    return out


def test_pyproject_pins_match_the_requirements_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = pins(project["dependencies"])
    for extra in ("infer", "gpu", "train", "openvino"):
        declared.update(pins(extras[extra]))
    files = ("requirements.txt", "requirements-infer.txt", "requirements-gpu.txt")
    dev = pins(extras["dev"])  # the test tools
    for name in (*files, "requirements-openvino.txt"):
        for pkg, spec in pins((ROOT / name).read_text().splitlines()).items():
            if pkg in dev:
                assert dev[pkg] == spec, f"{name}: {pkg}{spec} vs pyproject's dev"
                continue
            assert declared.get(pkg) == spec, f"{name}: {pkg}{spec} vs pyproject"


def run(args, cwd, env=None, timeout=300):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_import_rnn_keras_is_enough_to_load_a_model(tmp_path):
    """Keras habit: `import rnn_keras`, then `keras.models.load_model` (fresh process)."""
    import keras

    import rnn_keras as rk

    tokens = keras.Input((None,), dtype="int32")
    h = rk.OneHot(5, mask_zero=True)(tokens)
    h = rk.DeepBidirectional([3, 3])(rk.Bidirectional(rk.RNN(4, return_sequences=True))(h))
    keras.Model(tokens, h).save(tmp_path / "m.keras")
    code = (
        "import rnn_keras, keras, numpy as np\n"
        f"m = keras.models.load_model({str(tmp_path / 'm.keras')!r})\n"
        "print(m(np.array([[1, 2, 0]])).shape)"
    )
    out = run([sys.executable, "-c", code], cwd=ROOT)
    assert out.strip().endswith("(1, 3, 6)")


BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'rnn_keras'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
"""


def test_inference_runs_with_tensorflow_blocked(tmp_path):
    """export.runtime and export.infer with TensorFlow, Keras and rnn_keras unimportable."""
    from export import api
    from rnn_keras.tasks.lm import char_lm
    from rnn_keras_common.vocab import Vocab

    vocab = Vocab.from_text("abcd \n")
    model = char_lm(len(vocab), units=4)
    files = api.export_model(model, {"task": "lm", "text": None}, vocab, None, tmp_path)
    step = [p for p, _ in files if p.name == "step.onnx"][0]
    code = BLOCKER + (
        "from export import runtime, infer\n"
        f"print(repr(runtime.load({str(step)!r}).generate('ab', 5, seed=1)))\n"
        f"infer.main([{str(step)!r}, '--prime', 'ab', '--length', '3'])\n"
        "assert not any(m.startswith(('tensorflow', 'keras')) for m in sys.modules)\n"
    )
    out = run([sys.executable, "-c", code], cwd=ROOT)
    assert out.startswith("'ab") and len(out.splitlines()) >= 2


def test_help_answers_without_tensorflow():
    start = time.perf_counter()
    out = run([sys.executable, "-X", "importtime", "train.py", "--help"], cwd=ROOT)
    assert "--units" in out
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "train.py", "--units", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "error: --units" in done.stderr
    assert "tensorflow" not in done.stderr.split("error:")[0]
    assert time.perf_counter() - start < 20  # generous: two interpreters on a busy machine


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    """Build the wheel, install it into a fresh venv, train -> export -> infer from elsewhere.

    The venv sees this machine's site-packages for the heavy dependencies (TensorFlow is
    not downloaded again); the project itself comes only from the wheel.
    """
    source = tmp_path / "src"  # a copy: setuptools' build/ never lands in the checkout
    for name in ("rnn_keras", "rnn_keras_common", "export"):
        shutil.copytree(
            ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            str(source),
            "-w",
            str(tmp_path / "dist"),
        ],
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("rnn_keras-*.whl")
    run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(tmp_path / "venv")],
        cwd=tmp_path,
    )
    bin_dir = tmp_path / "venv" / "bin"
    run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        cwd=tmp_path,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    for script in ("rnn-keras-train", "rnn-keras-export", "rnn-keras-infer"):
        assert "usage:" in run([str(bin_dir / script), "--help"], cwd=work, env=env)
    where = run(
        [
            str(bin_dir / "python"),
            "-c",
            "import rnn_keras, rnn_keras_export.keras_model; print(rnn_keras.__file__)",
        ],
        cwd=work,
        env=env,
    )
    assert str(tmp_path / "venv") in where
    text = play_text(work, "hamlet", 3000)
    run(
        [
            str(bin_dir / "rnn-keras-train"),
            "--text",
            text,
            "--run-dir",
            "run",
            "--steps",
            "3",
            "--units",
            "8",
            "--layers",
            "1",
            "--batch-size",
            "2",
            "--seq-len",
            "10",
            "--no-jit-compile",
            "--no-progress",
            "--eval-every",
            "3",
            "--sample-every",
            "0",
            "--sample-length",
            "20",
            "--no-export",
        ],
        cwd=work,
        env=env,
    )
    run([str(bin_dir / "rnn-keras-export"), "run"], cwd=work, env=env)
    out = run(
        [str(bin_dir / "rnn-keras-infer"), "run/step.onnx", "--prime", "To", "--length", "20"],
        cwd=work,
        env=env,
    )
    assert out.startswith("To") and len(out.strip()) >= 10
