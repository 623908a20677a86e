"""onnxruntime sessions on a chosen device, never silently on another (no TensorFlow).

Shared by `export.runtime` (whole-model inference) and `export.bound` (the IOBinding
fast path), so neither imports the other.
"""

import contextlib
import functools
import io
import re
import sys

import onnxruntime as ort

from .errors import DeviceError
from .metadata import MetadataError

DEVICES = ("cpu", "cuda", "auto")


def _providers(device, cuda_options):
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {DEVICES}, got {device!r}.")
    available = ort.get_available_providers()
    cuda = ("CUDAExecutionProvider", {"use_tf32": "0", **(cuda_options or {})})
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise DeviceError(
            "device='cuda' but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {', '.join(available)}). Install onnxruntime-gpu "
            "(pip install -r requirements-gpu.txt) on a machine with an NVIDIA driver, "
            "or use device='cpu'."
        )
    if device == "cpu" or (device == "auto" and "CUDAExecutionProvider" not in available):
        return ["CPUExecutionProvider"]
    load_cuda_libraries()
    return [cuda, "CPUExecutionProvider"]


@functools.cache
def load_cuda_libraries():
    """Let onnxruntime-gpu find CUDA and cuDNN where pip put them (the nvidia-* packages that
    PyTorch or `onnxruntime-gpu[cuda,cudnn]` install): its documented `preload_dlls`, once.
    Without them its CUDA provider would not start, and `make_session` would refuse rather
    than run on the CPU; with the libraries on the system's path it changes nothing."""
    if not hasattr(ort, "preload_dlls"):
        return
    try:
        ort.preload_dlls()
    except Exception as err:  # the provider's own error follows if it matters
        print(f"note: onnxruntime.preload_dlls() failed ({err})", file=sys.stderr)


def make_session(path, device="cpu", cuda_options=None, threads=0, runtime="onnxruntime"):
    """An `InferenceSession` on `device`; `DeviceError` if CUDA was asked for and not used.

    `runtime="openvino"`: an OpenVINO session with the same interface (CPU).
    """
    if runtime == "openvino":
        from .openvino_session import OpenVINOSession

        return OpenVINOSession(path, device, threads)
    if runtime != "onnxruntime":
        raise ValueError(f"`runtime` must be 'onnxruntime' or 'openvino', got {runtime!r}.")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    providers = _providers(device, cuda_options)
    on_gpu = len(providers) > 1  # CUDA asked for, the CPU behind it
    printed = io.StringIO()  # onnxruntime prints a box of its own when CUDA fails to start
    try:  # (stdout is swapped only then: it is the whole process's)
        with contextlib.redirect_stdout(printed) if on_gpu else contextlib.nullcontext():
            session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as err:
        if device == "cuda" and "cuda" in str(err).lower():  # e.g. no visible GPU
            raise DeviceError(f"device='cuda' but CUDA cannot be used here ({err}).") from err
        raise MetadataError(f"{path}: onnxruntime cannot load it ({err}).") from err
    if on_gpu and "CUDAExecutionProvider" not in session.get_providers():
        why = _why_not_cuda(printed.getvalue())
        if device == "cuda":
            raise DeviceError(
                f"device='cuda' but onnxruntime could not start CUDA ({why}) and fell back "
                "to the CPU; check CUDA_VISIBLE_DEVICES, the driver (nvidia-smi) and the "
                "CUDA 13 / cuDNN 9 install, or use device='cpu'."
            )
        print(f"note: device='auto' runs on the CPU: CUDA did not start ({why}).", file=sys.stderr)
    else:
        sys.stdout.write(printed.getvalue())
    return session


def _why_not_cuda(printed):
    """The cause in onnxruntime's fallback box, e.g. 'CUDA failure 100: no CUDA-capable
    device is detected', or its first line when it has no such part."""
    found = re.search(r"CUDA failure \d+: [^;]*[^; ]", printed) or re.search(
        r"EP Error .{0,200}", printed
    )
    return " ".join(found.group(0).split()) if found else "no reason given"
