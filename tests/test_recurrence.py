"""The fused BPTT gradient equals TensorFlow's autodiff through the loop (float64)."""

import numpy as np
import pytest
import tensorflow as tf

import rnn_keras as rk
from rnn_keras import recurrence

MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)


def gradients(layer, x, s0, mask, upstream):
    variables = layer.trainable_variables
    with tf.GradientTape() as tape:
        tape.watch([x, s0])
        y, s = layer(x, initial_state=s0, mask=mask)
        loss = tf.reduce_sum(y * upstream[0]) + tf.reduce_sum(s * upstream[1])
    return tape.gradient(loss, [x, s0, *variables])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked, zero_output", [(False, False), (True, False), (True, True)])
def test_fused_equals_autodiff(rng, float64, activation, go_backwards, masked, zero_output):
    kwargs = dict(
        activation=activation,
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
        zero_output_for_mask=zero_output,
        bias_initializer="random_normal",
    )
    fused = rk.RNN(4, fused_gradient=True, dtype="float64", **kwargs)
    plain = rk.RNN(4, fused_gradient=False, dtype="float64", **kwargs)
    x = tf.constant(rng.normal(size=(3, 5, 2)))
    s0 = tf.constant(rng.normal(size=(3, 4)))
    fused(x), plain(x)
    plain.set_weights(fused.get_weights())
    upstream = (tf.constant(rng.normal(size=(3, 5, 4))), tf.constant(rng.normal(size=(3, 4))))
    mask = MASK if masked else None
    for a, b in zip(
        gradients(fused, x, s0, mask, upstream), gradients(plain, x, s0, mask, upstream)
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_fused_is_used_only_where_derivative_is_known():
    assert recurrence.supports_fused("tanh") and recurrence.supports_fused("relu")
    assert not recurrence.supports_fused("softplus")
    layer = rk.RNN(3, activation="softplus")  # falls back to autodiff, still trains
    x = tf.ones((1, 2, 2))
    with tf.GradientTape() as tape:
        y = layer(x)
    assert all(g is not None for g in tape.gradient(y, layer.trainable_variables))


def test_fused_backward_loop_runs(monkeypatch):
    """Guards the comparison above: the fused layer really takes the fused path."""
    calls = []
    original = recurrence._backward_loop
    monkeypatch.setattr(recurrence, "_backward_loop", lambda *a: calls.append(1) or original(*a))
    for fused in (False, True):
        layer = rk.RNN(3, fused_gradient=fused)
        x = tf.ones((1, 4, 2))
        with tf.GradientTape() as tape:
            y = layer(x)
        tape.gradient(y, layer.trainable_variables)
        assert len(calls) == int(fused)
