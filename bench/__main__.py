"""Benchmark: our layers and exports against Keras, PyTorch and onnxruntime, side by side.

    python -m bench                 # quick: 10 repeats per cell
    python -m bench --full          # 30 repeats
    python -m bench --rows fwd_b32,train_b32 --columns ours_fused,keras

Every column runs in its own process (so its peak RSS is its own) on the same
weights; cells are median milliseconds and the ratio to PyTorch (or to Keras
when torch is not importable). Nothing here is asserted in tests.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

from bench import measure

COLUMNS = {
    "ours_tape": "ours (tape)",
    "ours_fused": "ours (fused)",
    "ours_xla": "ours (fused, XLA)",
    "keras": "Keras SimpleRNN",
    "torch": "PyTorch nn.RNN",
    "ort_loop": "ORT tf2onnx Loop",
    "ort_native": "ORT native RNN",
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


def table(results, rows):
    base = "torch" if "ms" in results.get("torch", {}) else "keras"
    cols = [c for c in COLUMNS if c in results]
    lines = [
        "| row | FLOPs | " + " | ".join(COLUMNS[c] for c in cols) + " |",
        "|---|---|" + "---|" * len(cols),
    ]
    for row in rows:
        cells = []
        for c in cols:
            ms = results[c].get("ms", {}).get(row)
            ref = results.get(base, {}).get("ms", {}).get(row)
            if ms is None:
                cells.append("-")
            else:
                ratio = f" ({ms / ref:.2f}x)" if ref else ""
                gflops = measure.flops(row) / ms / 1e6
                cells.append(f"{ms:.2f} ms{ratio}, {gflops:.0f} GF/s")
        lines.append(f"| {row} | {measure.flops(row) / 1e9:.2f} G | " + " | ".join(cells) + " |")
    rss = " | ".join(
        f"{results[c].get('peak_rss_mb', 0):.0f}"
        if "ms" in results[c]
        else results[c].get("error", "-")
        for c in cols
    )
    lines.append(f"| peak RSS (MB) | | {rss} |")
    return "\n".join(lines), base


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--full", action="store_true", help="30 repeats per cell instead of 10")
    p.add_argument("--no-lm", action="store_true", help="skip the train.py tokens/s measurement")
    p.add_argument("--rows", default=",".join(measure.ROWS), help=f"of {','.join(measure.ROWS)}")
    p.add_argument("--columns", default=",".join(COLUMNS), help=f"of {','.join(COLUMNS)}")
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in measure.ROWS]
    unknown += [c for c in args.columns.split(",") if c not in COLUMNS]
    if unknown:
        p.error(f"unknown rows/columns: {unknown}")
    repeats = 30 if args.full else 10
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; GEMM {measure.gemm_gflops():.0f} GFLOP/s (NumPy fp32)"
    )
    results = {}
    for column in args.columns.split(","):
        results[column] = run_column(column, rows, repeats)
        print(f"  measured {COLUMNS[column]}: {results[column].get('error', 'ok')}", flush=True)
    text, base = table(results, rows)
    print(f"\nMedian ms (ratio to {COLUMNS[base]}), achieved GFLOP/s:\n\n{text}")
    if not args.no_lm:
        lm = run_column("lm", [], 0)
        print(
            f"\ntrain.py's default LM training step (3x256, B=64, T=100, XLA): "
            f"{lm.get('chars_per_s', 0):,.0f} characters/s {lm.get('error', '')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
