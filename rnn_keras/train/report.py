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


def finish(trainer, result, run_dir):
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
