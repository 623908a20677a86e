"""Benchmark: our layers and exports against Keras, PyTorch and onnxruntime, side by side.

    python -m bench                 # quick: 10 repeats per cell, one round
    python -m bench --full          # 30 repeats, 3 rounds
    python -m bench --rows fwd_b32,train_b32 --columns ours_fused,keras --rounds 5
    python -m bench --isa avx2      # AVX-512 machine, libraries capped at AVX2 (bench.isa)
    python -m bench --device cuda --kit gpu_kit   # GPU rows: PyTorch cuDNN vs ORT CUDA (bench.gpu)

Every column runs in its own process (so its peak RSS is its own) on the same
weights; cells are median milliseconds and the ratio to PyTorch (or to Keras
when torch is not importable). A shared machine's speed drifts by tens of
percent within minutes, so with several rounds the columns run in turn, each
round in a rotated order: a cell's ms is the median over rounds, and its ratio
the median of the ratios measured within each round. Nothing here is asserted
in tests.
"""

import json
import os
import platform
import statistics
import subprocess
import sys

from bench import cli, gpu, isa, measure
from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import positive_int

COLUMNS = {
    "ours_tape": "ours (tape)",
    "ours_fused": "ours (fused)",
    "ours_xla": "ours (fused, XLA)",
    "keras": "Keras SimpleRNN",
    "torch": "PyTorch nn.RNN",
    "ort_loop": "ORT tf2onnx Loop",
    "ort_native": "ORT native RNN",
    "ort_scan": "ORT Scan (ours)",
    "ort_user": "ORT default file, tokens (users' path)",
    "ort_int8": "ORT default file, int8 (--int8)",
}


def run_column(column, rows, repeats):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.measure", column, ",".join(rows) or "-", str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["failed"]
        return {"error": tail[0][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_rounds(columns, rows, repeats, rounds):
    """`{column: [result per round]}`, the column order rotated each round."""
    results = {c: [] for c in columns}
    for r in range(rounds):
        for column in columns[r % len(columns) :] + columns[: r % len(columns)]:
            results[column].append(run_column(column, rows, repeats))
            status = results[column][-1].get("error", "ok")
            print(f"  round {r + 1}: {COLUMNS[column]}: {status}", flush=True)
    return results


def _cell(results, column, base, row):
    """Median ms over rounds and the median within-round ratio to `base` (or None)."""
    ms = [r["ms"][row] for r in results[column] if row in r.get("ms", {})]
    if not ms:
        return None, None
    ratios = [
        r["ms"][row] / b["ms"][row]
        for r, b in zip(results[column], results.get(base, []))
        if row in r.get("ms", {}) and row in b.get("ms", {})
    ]
    return statistics.median(ms), statistics.median(ratios) if ratios else None


def table(results, rows):
    ok = {c for c, rounds in results.items() if any("ms" in r for r in rounds)}
    base = "torch" if "torch" in ok else "keras"
    cols = [c for c in COLUMNS if c in results]
    lines = [
        "| row | FLOPs | " + " | ".join(COLUMNS[c] for c in cols) + " |",
        "|---|---|" + "---|" * len(cols),
    ]
    for row in rows:
        cells = []
        for c in cols:
            ms, ratio = _cell(results, c, base, row)
            if ms is None:
                cells.append("-")
            else:
                shown = f" ({ratio:.2f}x)" if ratio else ""
                gflops = measure.flops(row) / ms / 1e6
                cells.append(f"{ms:.2f} ms{shown}, {gflops:.0f} GF/s")
        lines.append(f"| {row} | {measure.flops(row) / 1e9:.2f} G | " + " | ".join(cells) + " |")
    rss = " | ".join(
        f"{max(r.get('peak_rss_mb', 0) for r in results[c]):.0f}"
        if c in ok
        else results[c][-1].get("error", "-")
        for c in cols
    )
    lines.append(f"| peak RSS (MB) | | {rss} |")
    return "\n".join(lines), base


def _cuda(p, args):
    """`bench.gpu` on the kit: the CPU table's own flags are refused, not ignored."""
    given = {
        "--columns": args.columns != ",".join(COLUMNS),
        "--rounds": args.rounds is not None,
        "--isa": args.isa is not None,
        "--no-lm": args.no_lm,
    }
    ignored = [flag for flag, there in given.items() if there]
    if ignored:
        p.error(
            f"{' and '.join(ignored)}: the CPU table's; --device cuda runs bench.gpu's fixed "
            "columns (PyTorch cuDNN, onnxruntime native plain/bound, Scan) in one round"
        )
    rows = ["--rows", args.rows] if args.rows else []
    repeats = str(30 if args.full else 10)
    return gpu.main([args.kit or "gpu_kit", "--device", "cuda", "--repeats", repeats, *rows])


def _describe_machine():
    """What the timings depend on: CPU flags, cores, GEMM speed, one pass over the weights."""
    print(
        f"Machine: {isa.model()} ({isa.describe()}), "
        f"{os.cpu_count()} cores, "
        f"Python {platform.python_version()}; GEMM {measure.gemm_gflops():.0f} GFLOP/s (NumPy fp32)"
    )
    print(isa.onednn())
    floor_us, nbytes = measure.weight_pass_us()
    print(
        f"Weights {nbytes / 1e6:.1f} MB: one core reads them once in {floor_us:.0f} us "
        "(NumPy dot), the scale of the one-step row's floor"
    )


def _parser():
    p = cli_parser("python -m bench", __doc__)
    p.add_argument("--full", action="store_true", help="30 repeats per cell and 3 rounds")
    p.add_argument(
        "--rounds", type=positive_int, help="rounds of all columns (default 1, --full 3)"
    )
    p.add_argument("--no-lm", action="store_true", help="skip the train.py tokens/s measurement")
    p.add_argument(
        "--rows", help=f"of {','.join(measure.ROWS)} (--device cuda: of {','.join(gpu.ROWS)})"
    )
    p.add_argument("--columns", default=",".join(COLUMNS), help=f"of {','.join(COLUMNS)}")
    p.add_argument("--isa", choices=["avx2"], help="cap the libraries' kernels (bench.isa)")
    p.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="cuda: bench.gpu on --kit"
    )
    p.add_argument("--kit", help="--device cuda: from python -m bench.gpu_kit (default gpu_kit)")
    return p


def main(argv=None):
    p = _parser()
    args = p.parse_args(argv)
    if args.device == "cuda":  # the GPU machine has no TensorFlow: files exported beforehand
        return _cuda(p, args)
    if args.kit:
        p.error("--kit goes with --device cuda; the CPU rows build their own models")
    args.rows = args.rows or ",".join(measure.ROWS)
    if args.isa:
        isa.restart_capped(args.isa, "bench", argv)  # the columns' processes inherit it
    rows = [r for r in args.rows.split(",") if r]
    columns = [c for c in args.columns.split(",") if c]
    for flag, given, known in (("--rows", rows, measure.ROWS), ("--columns", columns, COLUMNS)):
        if unknown := [name for name in given if name not in known]:
            p.error(f"{flag}: unknown {unknown}; choose from {','.join(known)}")
    repeats = 30 if args.full else 10
    rounds = (3 if args.full else 1) if args.rounds is None else args.rounds
    _describe_machine()
    results = run_rounds(columns, rows, repeats, rounds)
    text, base = table(results, rows)
    print(f"\nMedian ms (ratio to {COLUMNS[base]}), achieved GFLOP/s, {rounds} round(s):\n\n{text}")
    if not args.no_lm:
        print(f"\n{lm_line(run_column('lm', [], 0))}")
    return 0


NAMES = {"xla": "XLA", "no_xla": "without XLA"}


def lm_line(lm):
    """train.py's LM step both ways; its timed runs keep the faster (`rnn_keras.train.autojit`)."""
    speeds = lm.get("chars_per_s") or {}
    both = ", ".join(f"{NAMES[k]} {v:,.0f}" for k, v in speeds.items())
    best = f"; train.py keeps {NAMES[max(speeds, key=speeds.get)]}" if speeds else ""
    return (
        f"train.py's default LM training step (3x256, B=64, T=100), characters/s: {both}{best} "
        f"{lm.get('error', '')}"
    ).rstrip()


if __name__ == "__main__":
    sys.exit(cli(main))
