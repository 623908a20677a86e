"""Bidirectional and DeepBidirectional against Keras' Bidirectional(SimpleRNN) and NumPy."""

import keras
import numpy as np
import pytest

import rnn_keras as rk
from tests.numpy_reference import bidirectional_forward

TOL = 1e-6
MASK = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 1 + [0] * 5], bool)


def keras_pair(units, merge_mode, x, **kwargs):
    ours = rk.Bidirectional(rk.RNN(units, **kwargs), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(units, **kwargs), merge_mode=merge_mode
    )
    ours(x), theirs(x)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def assert_outputs_close(a, b):
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=TOL)


def test_basics():
    layer = rk.Bidirectional(rk.RNN(3, return_sequences=True))
    y = layer(np.arange(24, dtype="float32").reshape(2, 3, 4) / 24)
    assert y.shape == (2, 3, 6)
    assert len(layer.weights) == 6
    assert layer.forward_layer.go_backwards is False and layer.backward_layer.go_backwards is True
    clone = rk.Bidirectional.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("masked", [False, True])
def test_equals_keras_bidirectional(rng, merge_mode, masked):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    ours, theirs = keras_pair(5, merge_mode, x, return_sequences=True)
    mask = MASK if masked else None
    assert_outputs_close(ours(x, mask=mask), theirs(x, mask=mask))


@pytest.mark.parametrize("return_sequences", [False, True])
def test_return_state_and_initial_state_equal_keras(rng, return_sequences):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    ours, theirs = keras_pair(5, "concat", x, return_sequences=return_sequences, return_state=True)
    states = [rng.normal(size=(3, 5)).astype("float32") for _ in range(2)]
    assert_outputs_close(
        ours(x, initial_state=states, mask=MASK), theirs(x, initial_state=states, mask=MASK)
    )


def test_equals_numpy_and_backward_starts_at_last_real_element(rng):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    layer = rk.Bidirectional(rk.RNN(5, return_sequences=True))
    layer(x)
    w = [v.numpy() for v in layer.weights]
    ref = bidirectional_forward(x, w[:3], w[3:], mask=MASK)
    np.testing.assert_allclose(layer(x, mask=MASK).numpy(), ref, atol=TOL)
    alone = layer(x[1:2, :4]).numpy()
    np.testing.assert_allclose(layer(x, mask=MASK).numpy()[1, :4], alone[0], atol=TOL)


def test_deep_equals_hand_stacked_keras(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    deep = rk.DeepBidirectional([4, 6], merge_mode="concat")
    deep(x)
    inputs = keras.Input((None, 3))
    h = keras.layers.Bidirectional(keras.layers.SimpleRNN(4, return_sequences=True))(inputs)
    h = keras.layers.Bidirectional(keras.layers.SimpleRNN(6, return_sequences=True))(h)
    stacked = keras.Model(inputs, h)
    stacked.set_weights(deep.get_weights())
    np.testing.assert_allclose(deep(x).numpy(), stacked(x).numpy(), atol=TOL)
    np.testing.assert_allclose(
        deep(x, mask=MASK[:2, :5]).numpy(), stacked(x, mask=MASK[:2, :5]).numpy(), atol=TOL
    )


def test_deep_layers_units_and_top_sequences():
    deep = rk.DeepBidirectional(4, num_layers=3, return_sequences=False, merge_mode="sum")
    y = deep(np.zeros((2, 5, 3), "float32"))
    assert y.shape == (2, 4)
    assert len(deep.layers) == 3 and all(isinstance(b, rk.Bidirectional) for b in deep.layers)
    assert [b.return_sequences for b in deep.layers] == [True, True, False]


def test_deep_dropout_only_in_training(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    deep = rk.DeepBidirectional(8, num_layers=2, dropout=0.5)
    np.testing.assert_allclose(deep(x).numpy(), deep(x, training=False).numpy())
    assert not np.allclose(deep(x, training=True).numpy(), deep(x).numpy())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rk.Bidirectional(rk.RNN(3), merge_mode="max"), "merge_mode"),
        (lambda: rk.Bidirectional(keras.layers.Dense(3)), "layer"),
        (lambda: rk.DeepBidirectional(0), "units"),
        (lambda: rk.DeepBidirectional([4, 0]), "units"),
        (lambda: rk.DeepBidirectional(4, num_layers=0), "num_layers"),
        (lambda: rk.DeepBidirectional([4, 4], num_layers=3), "2 layer sizes but `num_layers=3`"),
        (lambda: rk.DeepBidirectional(4, dropout=1.5), "dropout"),
        (lambda: rk.DeepBidirectional(4, merge_mode=None), "merge_mode"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    layer = rk.Bidirectional(rk.RNN(3))
    with pytest.raises(ValueError, match="3D input"):
        layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="initial_state"):
        layer(np.zeros((2, 3, 4), "float32"), initial_state=[np.zeros((2, 3), "float32")])


def test_a_list_of_sizes_sets_the_layer_count():
    assert len(rk.DeepBidirectional([3, 4, 5]).layers) == 3  # not the default 2
    assert len(rk.DeepBidirectional([3, 4], num_layers=2).layers) == 2
    assert len(rk.DeepBidirectional(3).layers) == 2
    assert rk.DeepBidirectional(3, num_layers=4).get_config()["units"] == [3] * 4
