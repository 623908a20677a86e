"""The exported models on a GPU: correct, never silently on the CPU, and timed (no TensorFlow).

    python -m bench.gpu KIT --device cuda            # on the GPU machine
    python -m bench.gpu KIT --device cpu --rows b1   # the same checks here, on the CPU

KIT is a folder from `python -m bench.gpu_kit`. Checks, each against what onnxruntime's
CPU provider gave when the kit was made: every file's outputs on its padded batch
(<= 1e-4, padded positions excluded; CUDA with `use_tf32=0`), the LM's text for the same
seed (plain and through `--fast`: IOBinding, and a CUDA graph on CUDA), the translator's
and captioner's n best (texts equal, scores to 1e-4); and that asking for CUDA with the GPU
hidden (`CUDA_VISIBLE_DEVICES=""`) raises `DeviceError` instead of running on the CPU.
Then speed, side by side in this one process: PyTorch's `nn.RNN` (cuDNN on CUDA) against
the benchmark model's native export in onnxruntime, plain and bound (IOBinding, with a
CUDA graph on CUDA), and its Scan form (the CPU's), median ms per call, NumPy in and out
for all; the LM's streaming characters per second; and its bound step with the states
copied through NumPy or carried in the runner's buffers. Writes KIT/results-DEVICE.json.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

from bench import cli
from export.tolerance import TOLERANCE, difference, worst
from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import positive_int

ROWS = {"b32": (32, 100), "b1": (1, 100), "step_b1": (1, 1), "b1024": (1024, 100)}


def case_difference(kit, case, device):
    """Max abs difference of a file's outputs on `device` to the CPU's (padding excluded)."""
    from export.session import make_session

    arrays = np.load(kit / case["arrays"])
    feeds = {k: arrays[k] for k in arrays.files if not k.startswith("out:")}
    session = make_session(kit / case["file"], device)
    names = [o.name for o in session.get_outputs()]
    diffs = []
    for name, got in zip(names, session.run(names, feeds)):
        want = arrays[f"out:{name}"]
        if name == "logits" and want.ndim == 3 and "tokens" in feeds:
            real = feeds["tokens"] != 0  # padded positions are not outputs
            want, got = want[real], got[real]
        diffs.append(difference(want, got))
    return worst(diffs)


def generation_matches(kit, item, device):
    """`{form: same text?}` for the LM's step file, plain and fast (a CUDA graph on CUDA)."""
    from export import runtime

    model = runtime.load(kit / item["file"], device)
    args = (item["prime"], item["length"])
    return {
        form: model.generate(*args, seed=item["seed"], **flags) == item["text"]
        for form, flags in generation_forms(device).items()
    }


def generation_forms(device):
    """`generate`'s keyword arguments: plain calls, and fast ones (a CUDA graph on CUDA)."""
    return {"plain": {}, "fast": {"fast": True, "cuda_graph": device == "cuda"}}


def decoding_difference(kit, item, device):
    """`(same texts?, max score difference)` of an encoder-decoder's n best."""
    from export import runtime

    model = runtime.load(kit / item["file"], device)
    decode = model.translate if item["task"] == "translate" else model.caption
    inputs = item["inputs"] if item["task"] == "translate" else [kit / i for i in item["inputs"]]
    found = decode(inputs, beam=item["beam"], nbest=item["beam"])
    texts = [[t for t, _ in h] for h in found] == [[t for t, _ in h] for h in item["nbest"]]
    scores = [s for h in found for _, s in h], [s for h in item["nbest"] for _, s in h]
    diff = float(np.max(np.abs(np.subtract(*scores)))) if texts else float("inf")
    return texts, diff


def hidden_gpu_refused(kit, file):
    """True when `device='cuda'` with no visible GPU raises DeviceError (in a child)."""
    code = (
        "import sys\nfrom export.errors import DeviceError\n"
        "from export.session import make_session\ntry:\n"
        f"    make_session({str(kit / file)!r}, 'cuda')\n"
        "except DeviceError:\n    sys.exit(0)\nsys.exit(1)"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    root = pathlib.Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=root).returncode == 0


def load_cuda_libraries():
    """PyTorch imported first (it loads its CUDA and cuDNN, which onnxruntime then finds),
    then `export.session`'s `preload_dlls`, as the sessions would do anyway."""
    from export.session import load_cuda_libraries as preload

    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    preload()


def checks(kit, manifest, device):
    """Every check of the kit on `device`: `{name: (value, passed)}`."""
    if device == "cuda":
        load_cuda_libraries()
    out = {}
    for case in manifest["cases"]:
        diff = case_difference(kit, case, device)
        out[f"outputs {case['file']}"] = (diff, diff <= case.get("tolerance", TOLERANCE))
    for item in manifest["generate"]:
        for form, same in generation_matches(kit, item, device).items():
            out[f"text {item['file']} ({form})"] = (same, same)
    for item in manifest["decode"]:
        same, diff = decoding_difference(kit, item, device)
        out[f"n best {item['file']}"] = (diff, same and diff <= TOLERANCE)
    refused = hidden_gpu_refused(kit, manifest["speed"]["native"])
    out["CUDA asked for with the GPU hidden raises DeviceError"] = (refused, refused)
    return out


def median_ms(fn, x, repeats):
    for _ in range(3):  # warm-up: allocations, cuDNN plans, graph capture
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def speed_columns(kit, manifest, device):
    """`{column: forward(x)}`, each made once for every row. The bound columns are fixed
    to one input shape, so each makes (and keeps) a runner per shape it is given."""
    from bench import frameworks as fw
    from export.session import make_session

    file = kit / manifest["speed"]["native"]
    columns = {}
    try:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 on both sides, as use_tf32=0
        torch.backends.cudnn.allow_tf32 = False
        name = "PyTorch nn.RNN" + (" (cuDNN)" if device == "cuda" else "")
        columns[name] = fw.torch_fns(fw.shared_weights(), device)[0]
    except ImportError:  # torch is optional: the onnxruntime columns alone
        pass
    session = make_session(file, device)
    columns["onnxruntime"] = lambda x: session.run(None, {"x": x})[0]
    scan = make_session(kit / manifest["speed"]["scan"], device)  # the CPU's form, for contrast
    columns["onnxruntime, Scan form"] = lambda x: scan.run(None, {"x": x})[0]
    graph = " + CUDA graph" if device == "cuda" else ""
    columns[f"onnxruntime bound{graph}"] = bound_runner(file, device)
    if half := manifest["speed"].get("native_fp16"):  # kits made before fp16 copies lack it
        columns[f"onnxruntime fp16 bound{graph}"] = bound_runner(kit / half, device)
    return columns


def bound_runner(file, device):
    """`forward(x)` through a `BoundRunner` of `file` per input shape (kept), with a CUDA
    graph on CUDA."""
    from export.bound import BoundRunner

    runners = {}

    def forward(x):
        if x.shape not in runners:
            runners[x.shape] = BoundRunner(file, {"x": x}, device, cuda_graph=device == "cuda")
        return next(iter(runners[x.shape].run({"x": x}).values()))

    return forward


def speed(kit, manifest, device, rows, repeats):
    """`{row: {column: {"ms", "diff"}}}`; diff: max abs to the first column's output."""
    from bench import frameworks as fw

    rng = np.random.default_rng(1)
    columns = speed_columns(kit, manifest, device)
    table = {}
    for row in rows:
        batch, steps = ROWS[row]
        x = rng.standard_normal((batch, steps, fw.FEATURES)).astype(np.float32)
        first = None
        table[row] = {}
        for name, forward in columns.items():
            y = forward(x)
            first = y if first is None else first
            diff = float(np.max(np.abs(y - first)))
            table[row][name] = {"ms": median_ms(forward, x, repeats), "diff": diff}
    return table


def streaming(kit, manifest, device, length=2000):
    """The LM's generated characters per second, plain and fast."""
    from export import runtime

    out = {}
    for item in manifest["generate"][:1]:
        model = runtime.load(kit / item["file"], device)
        for form, flags in generation_forms(device).items():
            model.generate("\n", 20, **flags)  # warm-up (graph capture on CUDA)
            t0 = time.perf_counter()
            model.generate("\n", length, **flags)
            out[form] = length / (time.perf_counter() - t0)
    return out


def lm_step(kit, manifest, device, repeats=500):
    """The LM step file's median us per call through a `BoundRunner` (a CUDA graph on
    CUDA): its states copied through NumPy every call (`--fast` until session 21) and
    carried in the runner's buffers (`--fast` now)."""
    from export import runtime
    from export.bound import BoundRunner

    path = kit / manifest["generate"][0]["file"]
    states = runtime.load(path, device).zero_states(1)
    feeds, graph = {"tokens": np.ones((1, 1), np.int32), **states}, device == "cuda"
    copied = BoundRunner(path, feeds, device, graph)
    carried = BoundRunner(path, feeds, device, graph, runtime.state_outputs(states))

    def copy_states(tokens):
        out = copied.run({"tokens": tokens, **states})
        states.update({name: out[o] for o, name in runtime.state_outputs(states).items()})

    calls = {"states copied": copy_states, "states carried": lambda t: carried.run({"tokens": t})}
    return {k: 1e3 * median_ms(call, feeds["tokens"], repeats) for k, call in calls.items()}


def report(found, table, chars, step_us, device):
    lines = [f"Checks on {device}:"]
    lines += [
        f"  {'ok  ' if ok else 'FAIL'} {name}: {value}" for name, (value, ok) in found.items()
    ]
    for row, columns in table.items():
        base = next(iter(columns.values()))["ms"]
        cells = ", ".join(
            f"{c} {v['ms']:.3f} ms ({v['ms'] / base:.2f}x, diff {v['diff']:.1e})"
            for c, v in columns.items()
        )
        lines.append(f"{row} {ROWS[row]}: {cells}")
    lines += [f"LM generation ({form}): {rate:,.0f} chars/s" for form, rate in chars.items()]
    lines.append("LM step, bound: " + ", ".join(f"{k} {v:.1f} us" for k, v in step_us.items()))
    return "\n".join(lines)


def main(argv=None):
    p = cli_parser("python -m bench.gpu", __doc__)
    p.add_argument("kit", help="a folder written by `python -m bench.gpu_kit`")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--rows", default=",".join(ROWS), help=f"of {','.join(ROWS)}")
    p.add_argument("--repeats", type=positive_int, default=50)
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    if unknown := [r for r in rows if r not in ROWS]:
        p.error(f"unknown rows {unknown}; choose from {','.join(ROWS)}")
    kit = pathlib.Path(args.kit)
    if not (kit / "manifest.json").is_file():
        raise FileNotFoundError(
            f"{kit}: no manifest.json; make the kit with python -m bench.gpu_kit."
        )
    manifest = json.loads((kit / "manifest.json").read_text())
    found = checks(kit, manifest, args.device)
    table = speed(kit, manifest, args.device, rows, args.repeats)
    chars = streaming(kit, manifest, args.device)
    step_us = lm_step(kit, manifest, args.device)
    print(report(found, table, chars, step_us, args.device), flush=True)
    results = {
        "checks": {k: [v, ok] for k, (v, ok) in found.items()},
        "speed": table,
        "chars_per_s": chars,
        "lm_step_us": step_us,
    }
    (kit / f"results-{args.device}.json").write_text(json.dumps(results, indent=1, default=float))
    return 0 if all(ok for _, ok in found.values()) else 1


if __name__ == "__main__":
    raise SystemExit(cli(main))
