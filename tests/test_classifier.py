"""The classifier's model: pooled readouts against NumPy and Keras' own final states, their
exports against TensorFlow, `W`'s gain in every layer, and the defaults of the gain and the
embedding."""

import numpy as np
import pytest

from export import api
from rnn_keras.layers import RNN, Bidirectional, SequencePool
from rnn_keras.train import checkpoint
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import TrainConfig
from tests.helpers import LETTERS, cli_err, rule_tsv


def numpy_pool(x, lengths, mode, backward=0):
    out = []
    for row, n in zip(x, lengths):
        real = row[:n]
        if mode == "mean":
            out.append(real.mean(0))
        elif mode == "max":
            out.append(real.max(0))
        elif mode == "max_mean":
            out.append(np.concatenate([real.max(0), real.mean(0)]))
        else:
            split = row.shape[-1] - backward
            out.append(np.concatenate([real[-1, :split], row[0, split:]]))
    return np.stack(out)


@pytest.mark.parametrize("mode", ["last", "mean", "max", "max_mean"])
def test_pooling_matches_numpy_on_padded_batches(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 7, 6)).astype(np.float32)
    lengths = [7, 3, 1, 5]
    mask = np.arange(7)[None, :] < np.array(lengths)[:, None]
    got = np.asarray(SequencePool(mode, backward_units=2)(x, mask=mask))
    np.testing.assert_allclose(got, numpy_pool(x, lengths, mode, 2), rtol=1e-6)


def test_bidirectional_last_pool_is_keras_final_states_for_every_padded_length():
    rng = np.random.default_rng(2)
    layer = Bidirectional(RNN(5, return_sequences=True))
    final = Bidirectional(RNN(5))  # Keras' own last-state readout, same weights
    x = rng.standard_normal((6, 9, 3)).astype(np.float32)
    layer(x[:1])
    final(x[:1])
    final.set_weights(layer.get_weights())
    for n in range(1, 10):
        padded = np.concatenate([x[:, :n], np.zeros((6, 9 - n, 3), np.float32)], axis=1)
        mask = np.arange(9)[None, :] < n
        states = layer(padded, mask=np.repeat(mask, 6, 0))
        got = SequencePool("last", backward_units=5)(states, mask=np.repeat(mask, 6, 0))
        np.testing.assert_allclose(np.asarray(got), np.asarray(final(x[:, :n])), atol=1e-6)


@pytest.mark.parametrize("path", ["scan", "native"])
@pytest.mark.parametrize("mode", ["last", "max", "max_mean"])
def test_pooled_classifiers_export_equal_to_tensorflow(tmp_path, path, mode):
    from rnn_keras.tasks.classify import classifier
    from rnn_keras_common.vocab import Vocab

    vocab = Vocab(LETTERS + " x")
    model = classifier(len(vocab), 3, units=6, num_layers=2, pool=mode, dropout=0.3)
    text = " ".join(rule_tsv(tmp_path / "x.tsv").read_text().replace("\t", " ").split())
    cfg = {"task": "classify", "text": None}
    [(_, diff)] = api.export_model(model, cfg, vocab, ["a", "b", "c"], tmp_path, path, sample=text)
    assert diff <= 1e-4
    model.save(tmp_path / "m.keras")
    again = checkpoint.saving.load_model(tmp_path / "m.keras")
    assert again.get_layer("pool").mode == mode


@pytest.mark.parametrize("layers,bidirectional", [(2, True), (1, True), (2, False)])
def test_recurrent_gain_scales_every_orthogonal_w(layers, bidirectional):
    """W^T W = gain^2 I in every layer and direction, and no two W alike (one draw each)."""
    from rnn_keras.tasks.classify import classifier

    model = classifier(
        30,
        3,
        units=8,
        num_layers=layers,
        bidirectional=bidirectional,
        pool="max",
        recurrent_gain=0.5,
    )
    ws = [v.numpy() for v in model.weights if v.path.endswith("recurrent_kernel")]
    assert len(ws) == layers * (2 if bidirectional else 1)
    for w in ws:
        np.testing.assert_allclose(w.T @ w, 0.25 * np.eye(8), atol=1e-5)
    assert all(not np.allclose(a, b) for i, a in enumerate(ws) for b in ws[i + 1 :])


def test_recurrent_gain_defaults_and_refusal(capsys):
    assert TrainConfig(task="classify").resolved().recurrent_gain == 0.5
    assert TrainConfig(task="tag").resolved().recurrent_gain == 1.0
    assert TrainConfig(task="lm").resolved().recurrent_gain == 0.5
    assert TrainConfig(task="caption").resolved().recurrent_gain is None
    assert TrainConfig(task="translate").resolved().recurrent_gain == 0.5
    code, out = cli_err(["--task", "caption", "--recurrent-gain", "0.5", "--steps", "1"], capsys)
    assert code != 0 and "--recurrent-gain is for --task lm, tag, classify or translate" in out


def test_a_classifier_trains_a_step_count_unless_given_a_budget():
    def budget(**given):
        cfg = TrainConfig(task="classify", **given).resolved()
        return cfg.steps, cfg.minutes

    assert budget() == (2000, None)  # the same updates on every machine, as bench.classify
    assert budget(minutes=1.5) == (None, 1.5)  # your budget replaces the default count
    assert budget(steps=300) == (300, None)
    assert TrainConfig(task="classify").resolved().label_smoothing == 0.1  # see config.py
    cfg = train.build_config(train.parse_args(["--task", "classify", "--minutes", "2"]))
    assert (cfg.steps, cfg.minutes) == (None, 2.0)
    assert TrainConfig(task="lm").resolved().minutes == 5.0  # the others keep their budgets


def test_embedding_default_and_refusal(capsys):
    assert TrainConfig(task="translate").resolved().embedding == 64
    assert TrainConfig(task="lm").resolved().embedding == 128
    assert TrainConfig(task="translate", embedding=0).resolved().embedding == 0
    assert TrainConfig(task="lm", embedding=16).resolved().embedding == 16
    assert TrainConfig(task="classify").resolved().embedding is None
    code, out = cli_err(["--task", "classify", "--embedding", "8", "--steps", "1"], capsys)
    assert code != 0 and "--embedding is for --task lm or translate" in out
