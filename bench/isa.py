"""The CPU's vector instructions, and capping them to AVX2 on an AVX-512 machine.

Users' 2-core machines come with AVX-512 or with AVX2 only. `cap("avx2")` asks every
library that picks its kernels at run time to stop at AVX2, so that an AVX-512 machine
can show how the AVX2-only kernels compare: oneDNN (TensorFlow's and PyTorch's),
XLA's code generation, PyTorch's ATen kernels, MKL (PyTorch's BLAS) and OpenBLAS
(NumPy's). They read it when they load, so `restart_capped` starts the command again
in a capped process (child processes inherit it). It is an emulation: the same cores,
caches and clock, fewer instructions. onnxruntime has no such switch, so its rows stay
AVX-512; `describe()` says so. Nor has YNNPACK, which XLA hands its dots to: it reads the
CPU's own flags through cpuinfo, whatever `--xla_cpu_max_isa` says, so the cap turns it off
and XLA's dots run in its Eigen kernels (built for the wheel's baseline, below AVX-512).
On a real AVX2 machine YNNPACK would run its AVX2 kernels instead, so the capped XLA column
is a lower bound there; left on, it would be an upper one, by how much depending on the core:
on one whose AVX-512 runs on 256-bit halves (AMD Zen 4) AVX2 kernels do about as many FLOPs
per cycle, on one with full 512-bit units (Zen 5, recent Intel) about half; `model()` names
the core.
"""

import os
import platform
import sys

from rnn_keras_common._quiet import use_onednn

CAPS = {  # library: (environment variable, value for AVX2)
    "oneDNN": ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    # YNNPACK (XLA's dots) has no cap of its own: off, so that nothing of XLA's runs AVX-512
    "XLA": ("XLA_FLAGS", "--xla_cpu_max_isa=AVX2 --xla_cpu_experimental_ynn_fusion_type="),
    "ATen": ("ATEN_CPU_CAPABILITY", "avx2"),
    "MKL": ("MKL_ENABLE_INSTRUCTIONS", "AVX2"),
    "OpenBLAS": ("OPENBLAS_CORETYPE", "Haswell"),
}
# TensorFlow's own default (`DefaultOneDnnPolicy`, tensorflow/core/util/port.cc): oneDNN's
# kernels only on CPUs with one of these; an AVX2-only CPU gets its Eigen kernels instead
TF_ONEDNN_FLAGS = {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}
CPUINFO = "/proc/cpuinfo"
MARK = "RNN_KERAS_BENCH_ISA"  # set by `cap`, read by `describe` (also in child processes)


def _cpuinfo():
    """The first core's fields in /proc/cpuinfo (CPUINFO), read once: {} where there is none."""
    try:
        with open(CPUINFO, encoding="utf-8") as f:
            first = f.read().split("\n\n")[0]
    except OSError:
        return {}
    pairs = (line.split(":", 1) for line in first.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def cpu_flags():
    """The flags /proc/cpuinfo lists (none where there is no such file)."""
    return set(_cpuinfo().get("flags", "").split())


def model():
    """The CPU as /proc/cpuinfo names it, with its family and model numbers (the same name
    covers generations whose vector units differ: AMD EPYC family 25 model 17 is Zen 4)."""
    info = _cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    family, number = info.get("cpu family"), info.get("model")
    return f"{name} (family {family}, model {number})" if family and number else name


def flags():
    """`AVX-512`, `AVX2` or `no AVX2`, from /proc/cpuinfo (the machine, not the cap)."""
    found = cpu_flags()
    if not found:
        return platform.machine()
    return "AVX-512" if "avx512f" in found else ("AVX2" if "avx2" in found else "no AVX2")


def onednn():
    """TensorFlow's oneDNN kernels as our processes run them (`_quiet.use_onednn`: on unless
    TF_ENABLE_ONEDNN_OPTS says otherwise), and TensorFlow's own default on this CPU."""
    use_onednn()  # what every process of ours does before TensorFlow loads
    chosen = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0").lower() in ("1", "true")
    native = bool(cpu_flags() & TF_ONEDNN_FLAGS)
    return f"TensorFlow oneDNN {'on' if chosen else 'off'} (TensorFlow's default here: " + (
        "on)" if native else "off, no VNNI/BF16/AMX)"
    )


def cap(isa):
    """Cap the libraries' kernels at `isa` (only "avx2"); call before importing them."""
    if isa != "avx2":
        raise ValueError(f"only 'avx2' can be capped to, not {isa!r}")
    for variable, value in CAPS.values():
        if variable == "XLA_FLAGS":
            value = f"{os.environ.get(variable, '')} {value}".strip()
        os.environ[variable] = value
    os.environ[MARK] = isa


def describe():
    """The CPU as the tables name it, with the cap when there is one."""
    if os.environ.get(MARK) == "avx2" and flags() == "AVX-512":
        return (
            "AVX-512 capped to AVX2 (oneDNN, XLA with YNNPACK off, ATen, MKL, OpenBLAS; "
            "not onnxruntime)"
        )
    return flags()


def restart_capped(isa, module, argv):
    """Run `python -m module argv` again with the cap (NumPy is loaded already); no return.

    Does nothing in the capped process itself.
    """
    if os.environ.get(MARK) == isa:
        return
    cap(isa)
    args = sys.argv[1:] if argv is None else list(argv)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", module, *args])


if __name__ == "__main__":  # python -m bench.isa: what the tables would name, and the caps set
    print(model())
    print(describe())
    print(onednn())
    for library, (variable, _) in CAPS.items():
        print(f"{library}: {variable}={os.environ.get(variable, '')}")
