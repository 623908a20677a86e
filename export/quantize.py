"""int8 and fp16 copies of the exported files (`python -m export RUN --int8` / `--fp16`),
checked against float.

onnxruntime's dynamic quantization (`quantize_dynamic`): every MatMul's weights (`U`, `W`,
`V`, the Scan body's too) are stored as int8, one scale per tensor, and each call
quantizes its activations on the fly (`DynamicQuantizeLinear`), so the matmuls run as
`MatMulInteger`. No calibration data is needed, and the file is a quarter of the size.
The weights use 7 of the 8 bits (`reduce_range`): x86 CPUs without VNNI (AVX2-only ones)
multiply uint8 activations by int8 weights with `VPMADDUBSW`, whose int16 pair sums
saturate with full-range weights (a 2-core AVX2 EPYC picked the float model's class at 56.8%
of positions, and the copy was refused); 7 bits keep every sum in range on every CPU, so a
file made on one machine is right on the others.
The copy keeps the float file's metadata, so `export.runtime.load`, `export.infer` and
the page read it as they read the float one. It is compared with the float file on the
run's own text before it is renamed into place: the largest difference in the logits,
and the share of real positions (of texts, for a classifier) where both pick the same class.

fp16 (for GPUs: cuDNN runs an fp16 RNN node on tensor cores) is onnxconverter-common's
`convert_float_to_float16` with float inputs and outputs kept, so callers feed and read
float32 as before; half the size.
"""

import contextlib
import logging
import os
import pathlib
import warnings

import numpy as np

from rnn_keras.train import checkpoint

from . import runtime
from .tolerance import ParityError

MIN_AGREEMENT = 0.9  # below this, the copy changes the model's answers: it is refused


def copy_path(path, kind):
    """`model.onnx` -> `model.int8.onnx` or `model.fp16.onnx`, by `kind`."""
    path = pathlib.Path(path)
    return path.with_name(f"{path.stem}.{kind}.onnx")


def int8_path(path):
    """`model.onnx` -> `model.int8.onnx`."""
    return copy_path(path, "int8")


def quantize_file(path, tokens, kind="int8"):
    """Write `copy_path(path, kind)`; returns `(max abs difference, agreement, what agreed)`
    on `tokens`, what agreed being "real positions" or, for a classifier, "texts"."""
    final = copy_path(path, kind)
    fd, tmp = checkpoint.temp_file(final, ".onnx")
    os.close(fd)
    try:
        {"int8": _int8, "fp16": fp16_copy}[kind](path, tmp)
        diff, agreement, what = compare(path, tmp, tokens)
        if agreement < MIN_AGREEMENT:
            raise ParityError(
                f"{final}: {kind} picks the float model's class at only {agreement:.1%} of "
                f"{what} (at least {MIN_AGREEMENT:.0%} wanted); use the float file."
            )
        os.replace(tmp, final)
        return diff, agreement, what
    finally:
        pathlib.Path(tmp).unlink(missing_ok=True)


def _int8(path, out):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():  # its advice on pre-processing, and a proto per int input
        quantize_dynamic(
            path,
            out,
            weight_type=QuantType.QInt8,
            reduce_range=True,  # 7-bit weights: see the module's docstring
            extra_options={"EnableSubgraph": True},  # the Scan body's matmuls too
        )


def fp16_copy(path, out):
    """`path` in float16 at `out`, float32 inputs and outputs kept (unchecked)."""
    import onnx
    from onnxconverter_common import float16

    with warnings.catch_warnings():
        # it warns of each float constant beyond its bound, clipped to it: here only the
        # masked max's "lowest" sentinel (-3e38), which any fp16 bound serves as well
        warnings.filterwarnings("ignore", "the float32 number", UserWarning)
        model = float16.convert_float_to_float16(
            onnx.load(str(path)), keep_io_types=True, max_finite_val=65504.0
        )  # fp16's largest finite value, not the converter's default of 1e4
    _mend_fp16(model)
    onnx.checker.check_model(model)
    onnx.save(model, out)


def _mend_fp16(model):
    """Two mends to onnxconverter-common 1.16's fp16 graph."""
    import onnx

    # It types a `Cast(to=FLOAT)` output as fp16 (the padding mask's, which multiplies fp16
    # outputs) but leaves the node casting to float: cast to what it says.
    half = model.graph.value_info
    half = {v.name for v in half if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.output[0] in half:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == onnx.TensorProto.FLOAT:
                    attr.i = onnx.TensorProto.FLOAT16
    # It casts each graph output back to float32 but leaves the nodes that also read it (the
    # LM step's states feed the next layer) reading the float32 name: they read the fp16 one.
    outputs = {o.name for o in model.graph.output}
    fp16_of = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Cast"}
    fp16_of = {name: source for name, source in fp16_of.items() if name in outputs}
    for node in model.graph.node:
        node.input[:] = [fp16_of.get(name, name) for name in node.input]


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
