"""The same exported files in OpenVINO, behind onnxruntime's session interface.

`python -m export.infer MODEL.onnx --runtime openvino` and
`runtime.load(path, runtime="openvino")` use it. OpenVINO is optional
(`pip install -r requirements-openvino.txt`); it runs on the CPU here, with the
f32 inference precision hint, so it computes what onnxruntime computes (its
default on CPUs with bf16 units would round activations to bfloat16).
"""

import dataclasses

import numpy as np

from .errors import DeviceError
from .metadata import MetadataError


@dataclasses.dataclass
class Port:
    """What `get_inputs()` / `get_outputs()` give: a name and a shape (None where dynamic)."""

    name: str
    shape: list


def _core():
    try:
        import openvino as ov
    except ImportError as err:
        raise DeviceError(
            "--runtime openvino needs the openvino package: "
            "pip install -r requirements-openvino.txt (or use --runtime onnxruntime)."
        ) from err
    return ov


class OpenVINOSession:
    """`run(output_names, feeds)`, `get_inputs()`, `get_outputs()`, `get_providers()`."""

    def __init__(self, path, device="cpu", threads=0):
        ov = _core()
        if device not in ("cpu", "auto"):
            raise DeviceError(f"--runtime openvino runs on the CPU here, not {device!r}.")
        config = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        try:
            model = ov.Core().read_model(str(path))
            self.compiled = ov.Core().compile_model(model, "CPU", config)
        except Exception as err:  # OpenVINO raises RuntimeError subclasses of its own
            raise MetadataError(f"{path}: OpenVINO cannot load it ({err}).") from err
        self.request = self.compiled.create_infer_request()
        # the file's own output names: once compiled, an output an Identity fed (a linear
        # model's state) also answers to that node's names, and any_name may be one of them
        self.output_names = [p.get_any_name() for p in model.outputs]

    def get_inputs(self):
        return [Port(p.get_any_name(), _shape(p)) for p in self.compiled.inputs]

    def get_outputs(self):
        return [Port(n, _shape(p)) for n, p in zip(self.output_names, self.compiled.outputs)]

    def get_providers(self):
        return ["OpenVINO CPU"]

    def run(self, output_names, feeds):
        results = self.request.infer({k: np.asarray(v) for k, v in feeds.items()})
        by_name = {n: np.asarray(v) for port, v in results.items() for n in port.get_names()}
        names = output_names or [p.name for p in self.get_outputs()]
        return [by_name[n].copy() for n in names]  # the request reuses its buffers


def _shape(port):
    return [d.get_length() if d.is_static else None for d in port.get_partial_shape()]
