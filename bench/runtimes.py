"""The export forms in onnxruntime and OpenVINO: max difference to TensorFlow and latency.

    python -m bench.runtimes                 # deep bidirectional tagger 2x128, T=100
    python -m bench.runtimes --repeats 50

One model (a tagger of the default shape, random weights) is exported in every
form; each file runs in every runtime on the same right-padded token batches
(B=1 and B=32 of lengths 50..100). Cells: median milliseconds, and the max abs
difference to TensorFlow at real positions. Nothing here is asserted in tests.
"""

import pathlib
import statistics
import tempfile
import time

import numpy as np

from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import positive_int

FORMS = ("scan", "native", "loop")
RUNTIMES = ("onnxruntime", "openvino")


def batch(vocab_size, size, time_steps=100, seed=0):
    """Right-padded tokens, lengths spread over [time/2, time]."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(time_steps // 2, time_steps, size).astype(int)[::-1]
    tokens = np.zeros((size, time_steps), np.int32)
    for i, n in enumerate(lengths):
        tokens[i, :n] = rng.integers(1, vocab_size, n)
    return tokens


def median_ms(session, feeds, repeats):
    session.run(None, feeds)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main(argv=None):
    p = cli_parser("python -m bench.runtimes", __doc__)
    p.add_argument("--repeats", type=positive_int, default=30)
    p.add_argument("--forms", default=",".join(FORMS), help=f"of {','.join(FORMS)}")
    args = p.parse_args(argv)
    if unknown := [f for f in args.forms.split(",") if f not in FORMS]:
        p.error(f"unknown forms {unknown}; choose from {','.join(FORMS)}")
    from bench import frameworks, isa
    from export import parity
    from export.session import make_session
    from rnn_keras.tasks.tag import tagger

    ids = 64  # token ids, 0 the padding
    model = tagger(ids, 2, units=128, num_layers=2)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-runtimes-"))
    print(f"tagger 2x128 deep bidirectional, T=100, {isa.describe()}, median of {args.repeats}")
    print("| form | runtime | max diff (B=32) | B=1 ms | B=32 ms |\n|---|---|---|---|---|")
    for form in args.forms.split(","):
        out = folder / form
        out.mkdir()
        path = frameworks.export_user_file(model, out, form)
        for runtime in RUNTIMES:
            try:
                session = make_session(path, runtime=runtime)
            except Exception as err:  # e.g. OpenVINO 2026's ONNX frontend and tf2onnx's Loop
                print(f"| {form} | {runtime} | cannot load: {str(err).splitlines()[0][:80]} | | |")
                continue
            big = batch(ids, 32)
            diff = parity.max_difference(model, path, big, session=session)
            one = median_ms(session, {"tokens": batch(ids, 1)}, args.repeats)
            many = median_ms(session, {"tokens": big}, args.repeats)
            print(f"| {form} | {runtime} | {diff:.1e} | {one:.2f} | {many:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
