"""int8 copies of the exported files (`python -m export RUN --int8`), checked against float.

onnxruntime's dynamic quantization (`quantize_dynamic`): every MatMul's weights (`U`, `W`,
`V`, the Scan body's too) are stored as int8, one scale per tensor, and each call
quantizes its activations on the fly (`DynamicQuantizeLinear`), so the matmuls run as
`MatMulInteger`. No calibration data is needed, and the file is a quarter of the size.
The copy keeps the float file's metadata, so `export.runtime.load`, `export.infer` and
the page read it as they read the float one. It is compared with the float file on the
run's own text before it is renamed into place: the largest difference in the logits,
and the share of real positions (of texts, for a classifier) where both pick the same class.
"""

import contextlib
import logging
import os
import pathlib

import numpy as np

from rnn_keras.train import checkpoint

from . import runtime
from .tolerance import ParityError

MIN_AGREEMENT = 0.9  # below this, int8 changes the model's answers: the copy is refused


def int8_path(path):
    """`model.onnx` -> `model.int8.onnx`."""
    path = pathlib.Path(path)
    return path.with_name(path.stem + ".int8.onnx")


def quantize_file(path, tokens):
    """Write `int8_path(path)`; returns `(max abs difference, agreement, what agreed)` on
    `tokens`, what agreed being "real positions" or, for a classifier, "texts"."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    final = int8_path(path)
    fd, tmp = checkpoint.temp_file(final, ".onnx")
    os.close(fd)
    try:
        with _quiet_root_logger():  # its advice on pre-processing, and a proto per int input
            quantize_dynamic(
                path, tmp, weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True}
            )  # the Scan body's matmuls too
        diff, agreement, what = compare(path, tmp, tokens)
        if agreement < MIN_AGREEMENT:
            raise ParityError(
                f"{final}: int8 picks the float model's class at only {agreement:.1%} of "
                f"{what} (at least {MIN_AGREEMENT:.0%} wanted); use the float file."
            )
        os.replace(tmp, final)
        return diff, agreement, what
    finally:
        pathlib.Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_root_logger():
    """onnxruntime.quantization warns through the root logger (`logging.warning`, which
    would also install a handler there for the rest of the process)."""
    root = logging.getLogger()
    level, quiet = root.level, logging.NullHandler()
    root.addHandler(quiet)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(quiet)


def compare(float_path, int8_path_, tokens):
    """The largest logit difference, the share with the same argmax, and what shares it: the
    real positions of per-step logits, the texts of a classifier's."""
    outputs = []
    for path in (float_path, int8_path_):
        model = runtime.load(path, device="cpu")
        states = model.zero_states(len(tokens)) if hasattr(model, "zero_states") else {}
        outputs.append(model.run({"tokens": tokens, **states})["logits"])
    a, b = outputs
    what = "texts"  # a classifier's (batch, classes)
    if a.ndim == 3:  # (batch, time, classes): padding (id 0) is not an output
        real = tokens != 0
        a, b, what = a[real], b[real], "real positions"
    same = float(np.mean(a.argmax(-1) == b.argmax(-1)))
    return float(np.max(np.abs(a - b))), same, what
