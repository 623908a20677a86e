"""On a machine with an NVIDIA GPU and onnxruntime-gpu (no TensorFlow needed): every check of
a kit from `python -m bench.gpu_kit` on CUDA. Run there as

    RNN_KERAS_GPU_KIT=KIT python -m pytest -q -m gpu tests/test_gpu.py
"""

import json
import os
import pathlib

import onnxruntime as ort
import pytest

from bench import gpu

KIT = os.environ.get("RNN_KERAS_GPU_KIT")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        "CUDAExecutionProvider" not in ort.get_available_providers(),
        reason="needs onnxruntime-gpu and an NVIDIA GPU",
    ),
    pytest.mark.skipif(not KIT, reason="set RNN_KERAS_GPU_KIT to a kit from bench.gpu_kit"),
]


@pytest.fixture(scope="module")
def found():
    kit = pathlib.Path(KIT)
    return gpu.checks(kit, json.loads((kit / "manifest.json").read_text()), "cuda")


@pytest.mark.parametrize("kind", ["outputs", "text", "n best", "CUDA asked for"])
def test_cuda_agrees_with_the_cpu_and_is_never_silently_the_cpu(found, kind):
    mine = {k: v for k, v in found.items() if k.startswith(kind)}
    assert mine and all(ok for _, ok in mine.values()), mine
