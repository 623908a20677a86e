"""One benchmark column, measured in its own process: `python -m bench.measure COLUMN ROWS N`.

Prints one JSON line: `{"ms": {row: median_ms}, "peak_rss_mb": ...}`. The ORT
columns get their file from a child process, so their peak RSS is that of an
inference process (onnxruntime, no TensorFlow).
"""

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench import frameworks as fw

# row: (batch, time, what)
ROWS = {
    "fwd_b32": (32, 100, "forward"),
    "fwd_b1": (1, 100, "forward"),
    "step_b1": (1, 1, "forward"),
    "train_b32": (32, 100, "train"),
}


def flops(row):
    """Multiply-adds x 2 of the model for a row (training counted as 3x forward)."""
    batch, time_, what = ROWS[row]
    per_step = 0
    width = fw.FEATURES
    for _ in range(fw.LAYERS):
        per_step += 2 * 2 * (width * fw.HIDDEN + fw.HIDDEN * fw.HIDDEN)  # 2 directions
        width = 2 * fw.HIDDEN
    per_step += 2 * width * fw.OUT
    return per_step * batch * time_ * (3 if what == "train" else 1)


def gemm_gflops(n=1024, repeats=10):
    """This machine's fp32 matmul speed, the physical reference for the table."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a @ a
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def weight_pass_us(repeats=2000):
    """Microseconds for one core to read all the model's weights once (a NumPy dot over as
    many floats), and their bytes.

    A one-step forward at batch 1 must read every weight at least once: this
    is the scale of the `step_b1` row's floor (two cores can at best halve it).
    """
    layers, head = fw.shared_weights()
    n = sum(w.size for triple in layers for w in triple) + sum(w.size for w in head)
    a = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    np.dot(a, a)
    t0 = time.perf_counter()
    for _ in range(repeats):
        np.dot(a, a)
    return (time.perf_counter() - t0) / repeats * 1e6, a.nbytes


def median_ms(fn, args, repeats):
    for _ in range(3):  # warm-up: tracing, compiling, allocator
        fn(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def column_fns(column, weights, folder):
    """`(forward, train_step)` for a column; either may be None."""
    if column == "torch":
        return fw.torch_fns(weights)
    if column in ("ort_user", "ort_int8"):  # python -m export's file, runtime.load, tokens
        int8 = column == "ort_int8"  # its --int8 copy
        subprocess.run(
            [sys.executable, "-m", "bench.measure", "export", "user", folder, *["int8"] * int8],
            check=True,
        )
        return fw.user_forward(f"{folder}/model{'.int8' * int8}.onnx"), None
    if column.startswith("ort_"):  # exported by a child, so this process holds only the session
        file = f"{folder}/bench_{column}.onnx"
        subprocess.run(
            [sys.executable, "-m", "bench.measure", "export", column[4:], file], check=True
        )
        return fw.onnx_forward(file), None
    model = _keras_model("keras" if column == "keras" else "ours", weights)
    return fw.tensorflow_fns(model, jit_compile=column == "ours_xla", fused=column != "ours_tape")


def _keras_model(kind, weights):
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    return fw.keras_model(kind, weights)


def main(column, rows, repeats):
    weights = fw.shared_weights()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        forward, train_step = column_fns(column, weights, folder)
        result = {}
        for row in rows:
            batch, time_, what = ROWS[row]
            x = rng.standard_normal((batch, time_, fw.FEATURES)).astype(np.float32)
            if column in ("ort_user", "ort_int8"):  # token ids (1..63: none is padding)
                x = rng.integers(1, fw.FEATURES, (batch, time_)).astype(np.int32)
            y = rng.standard_normal((batch, time_, fw.OUT)).astype(np.float32)
            fn, args = (forward, (x,)) if what == "forward" else (train_step, (x, y))
            if fn is not None:
                result[row] = median_ms(fn, args, repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms": result, "peak_rss_mb": peak}))


def lm_tokens_per_second(steps=20):
    """Characters per second of `python train.py`'s default model and step, with XLA and
    without (a timed run keeps the faster: `rnn_keras.train.autojit`)."""
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from rnn_keras.tasks.lm import char_lm
    from rnn_keras.train.steps import StepFunctions, make_optimizer
    from rnn_keras_common.config import LM_LR, TrainConfig

    cfg = TrainConfig(lr=LM_LR).resolved()  # a timed run's lr waits for its plan
    model = char_lm(
        80, cfg.units, cfg.layers, cfg.activation, cfg.recurrent_gain, cfg.embedding
    )  # the default run's model (its embedding too)
    optimizer = make_optimizer(cfg)
    optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 80, (cfg.batch_size, cfg.seq_len)).astype(np.int32)
    w = np.ones(x.shape, np.float32)
    states = [np.zeros((cfg.batch_size, cfg.units), np.float32)] * cfg.layers
    speeds = {}
    for name, jit in (("xla", True), ("no_xla", False)):
        fns = StepFunctions(model, optimizer, cfg.clip_norm, jit)

        def step(fns=fns):  # train.py's step: one call, the update applied if finite
            return float(fns.step(x, x, w, states, np.float32(cfg.lr))[0])

        speeds[name] = x.size / (median_ms(step, (), steps) / 1e3)
    return speeds


if __name__ == "__main__":
    if sys.argv[1] == "lm":
        print(json.dumps({"chars_per_s": lm_tokens_per_second()}))  # {"xla": .., "no_xla": ..}
    elif sys.argv[1:3] == ["export", "user"]:  # python -m bench.measure export user FOLDER
        from rnn_keras_common._quiet import import_tensorflow

        import_tensorflow()
        file = fw.export_user_file(fw.user_model(fw.shared_weights()), sys.argv[3])
        if sys.argv[4:] == ["int8"]:
            fw.quantize_user_file(file)
    elif sys.argv[1] == "export":  # python -m bench.measure export PATH FILE
        fw.export_onnx(_keras_model("ours", fw.shared_weights()), sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]))
