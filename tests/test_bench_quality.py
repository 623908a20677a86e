"""`bench.quality` scores every model by one protocol: the same characters, the state carried.

(Losses after a time budget are never asserted; see `python -m bench.quality`.)
"""

import importlib.util
import math

import numpy as np
import pytest

from bench import quality
from rnn_keras.tasks.lm import LMStreams


def streams(n=2 * 3 * 4 + 1, batch=2, seq_len=3, vocab=5, seed=0):
    return LMStreams(np.random.default_rng(seed).integers(0, vocab, n), batch, seq_len)


def test_evaluate_is_the_mean_cross_entropy_with_the_state_carried():
    val = streams()
    vocab = 5

    # a "model" whose logits at every step depend on all characters its stream has read
    # so far, through the state: a lost or reset state changes the loss
    def step(x, states):
        seen = np.zeros((x.shape[0], vocab)) if states is None else states
        logits = np.zeros((*x.shape, vocab))
        for t in range(x.shape[1]):
            seen = seen.copy()
            seen[np.arange(x.shape[0]), x[:, t]] += 1
            logits[:, t] = seen
        return logits, seen

    expected, count = 0.0, 0
    for b in range(val.batch_size):  # each stream read whole, in NumPy
        seen = np.zeros(vocab)
        for x, y in zip(val.inputs[b], val.targets[b]):
            seen[x] += 1
            expected += math.log(np.exp(seen).sum()) - seen[y]
            count += 1
    assert quality.evaluate(step, val) == pytest.approx(expected / count, rel=1e-12)


def test_our_stepper_matches_the_training_loops_evaluation(tmp_path):
    from rnn_keras.train import training
    from rnn_keras_common.config import TrainConfig

    text = "to be or not to be, that is the question. " * 40
    cfg = TrainConfig(units=8, layers=2, batch_size=4, seq_len=10, steps=3, progress=False)
    cfg = cfg.resolved()
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run", text=text)
    # Trainer.evaluate runs the compiled step functions; the stepper calls the Keras model
    reported = trainer.evaluate()["val_loss"]
    ours = quality.evaluate(quality.keras_stepper(trainer.model), trainer.task.val)
    assert ours == pytest.approx(reported, rel=1e-5)


@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="PyTorch is optional")
def test_a_pytorch_recipe_learns_and_is_scored_by_the_same_function():
    from bench import torch_lm

    train = streams(n=4 * 20 * 8 + 1, batch=4, seq_len=8, vocab=3)
    train.inputs[:] = np.arange(train.inputs.size).reshape(train.inputs.shape) % 3
    train.targets[:] = (train.inputs + 1) % 3  # next = this + 1 (mod 3): learnable
    model = torch_lm.make(3, units=16, layers=2)
    before = quality.evaluate(torch_lm.stepper(model), train)
    steps, seconds = torch_lm.train(model, train, seconds=2.0, lr=1e-2)
    after = quality.evaluate(torch_lm.stepper(model), train)
    assert steps > 11 and seconds > 0
    assert before > 0.9 and after < 0.1  # log 3 = 1.10 at chance


def test_an_unknown_model_is_one_error_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        quality.main(["--only", "ours,torch_9x9"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(
        "error: --only: unknown models ['torch_9x9']; choose from "
        "ours,torch_1x512,torch_2x256,torch_3x256"
    )
