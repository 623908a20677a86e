"""The end of `train.py`: where the artefacts are, the final numbers, a sample."""

import hashlib
import pathlib

import numpy as np


def weights_fingerprint(model):
    """A short hash of every weight: replicas and workers that agree print the same one."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()[:16]


def finish(trainer, result, run_dir, export=True):
    run_dir = pathlib.Path(run_dir)
    print(f"Weights fingerprint: {weights_fingerprint(trainer.model)}")
    print(
        "\nFinal:",
        " | ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()
        ),
    )
    print(
        f"Artefacts in {run_dir}/: config.json, vocab.json, best.keras, checkpoints/, "
        "metrics.csv, loss.png, tensorboard/"
    )
    if trainer.task.name == "lm":
        sample = trainer.sample(trainer.cfg.sample_length)
        print(f"\nSample (TensorFlow, temperature {trainer.cfg.temperature:.2g}):\n{sample}")
    if export:
        _export(run_dir, trainer)


def _export(run_dir, trainer):
    try:
        from export import api
    except ImportError as err:
        print(f"(ONNX export skipped: {err})")
        return
    results = api.export_run(run_dir)
    print("\nONNX (Scan form; max abs difference to TensorFlow on real inputs):")
    for path, diff in results:
        print(f"  {path}  {diff:.2g}")
    if trainer.task.name == "lm":
        from export import runtime

        lm = runtime.load(results[-1][0])
        text = lm.generate(
            "\n", trainer.cfg.sample_length, trainer.cfg.temperature, seed=trainer.cfg.seed
        )
        print("\nSample (onnxruntime, same seed):\n" + text)
