"""GradientTape on our layers == explicit BPTT (rnn_keras.bptt) == finite differences (float64)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnn_keras as rk
from rnn_keras import bptt

B, T, D, H, K = 2, 5, 3, 4, 6  # batch, time, input features, units, vocabulary


def rel_error(a, b):
    """`|a - b| / (|a| + |b|)` over the whole array (entry-wise ratios blow up near 0)."""
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def finite_differences(loss_fn, params, eps=1e-5):
    """Central differences of `loss_fn(params)` for every entry of every array."""
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            up = loss_fn(params)
            value[idx] = old - eps
            down = loss_fn(params)
            value[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def tape_gradients(model, rnn_layers, x, y, s0):
    watched = [tf.constant(s) for s in s0]
    with tf.GradientTape() as tape:
        tape.watch(watched)
        logits = model([tf.constant(x), *watched])
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    cells = [layer.cell for layer in rnn_layers]
    head = model.get_layer("head")
    targets = [v for c in cells for v in (c.kernel, c.recurrent_kernel, c.bias)]
    targets += [head.kernel, head.bias, *watched]
    return float(loss), [g.numpy() for g in tape.gradient(loss, targets)]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_single_layer_tape_equals_explicit_bptt_equals_finite_differences(rng, float64, activation):
    x_in = keras.Input((T, D))
    s_in = keras.Input((H,))
    rnn = rk.RNN(H, activation=activation, return_sequences=True, bias_initializer="random_normal")
    model = keras.Model(
        [x_in, s_in], keras.layers.Dense(K, name="head")(rnn(x_in, initial_state=s_in))
    )
    x = rng.normal(size=(B, T, D))
    y = rng.integers(0, K, size=(B, T))
    s0 = rng.normal(size=(B, H)) * 0.5
    loss_tf, (dU, dW, db, dV, dc, ds0) = tape_gradients(model, [rnn], x, y, [s0])

    U, W, b = (w.numpy() for w in rnn.cell.weights)
    V, c = (w.numpy() for w in model.get_layer("head").weights)
    params = {"U": U, "W": W, "b": b, "V": V, "c": c, "s0": s0}
    loss, explicit = bptt.loss_and_gradients(params, x, y, activation)
    numeric = finite_differences(lambda p: bptt.loss_and_gradients(p, x, y, activation)[0], params)

    assert abs(loss - loss_tf) < 1e-9
    for name, tape_grad in zip("U W b V c s0".split(), (dU, dW, db, dV, dc, ds0)):
        assert rel_error(tape_grad, explicit[name]) < 1e-6, name
        assert rel_error(explicit[name], numeric[name]) < 1e-6, name


def test_bidirectional_tape_equals_explicit_bptt_equals_finite_differences(rng, float64):
    x_in = keras.Input((T, D))
    states = [keras.Input((H,)), keras.Input((H,))]
    bi = rk.Bidirectional(rk.RNN(H, return_sequences=True, bias_initializer="random_normal"))
    h = bi(x_in, initial_state=states)
    model = keras.Model([x_in, *states], keras.layers.Dense(K, name="head")(h))
    x = rng.normal(size=(B, T, D))
    y = rng.integers(0, K, size=(B, T))
    s0 = [rng.normal(size=(B, H)) * 0.5 for _ in range(2)]
    loss_tf, grads_tf = tape_gradients(model, [bi.forward_layer, bi.backward_layer], x, y, s0)

    def direction(layer, s):
        return dict(zip("UWb", (w.numpy() for w in layer.cell.weights)), s0=s)

    fw, bw = direction(bi.forward_layer, s0[0]), direction(bi.backward_layer, s0[1])
    V, c = (w.numpy() for w in model.get_layer("head").weights)
    loss, explicit = bptt.bidirectional_loss_and_gradients(fw, bw, V, c, x, y)
    flat = {f"fw_{k}": v for k, v in fw.items()} | {f"bw_{k}": v for k, v in bw.items()}
    flat |= {"V": V, "c": c}

    def loss_fn(p):
        unpack = {d: {k: p[f"{d}_{k}"] for k in ("U", "W", "b", "s0")} for d in ("fw", "bw")}
        return bptt.bidirectional_loss_and_gradients(
            unpack["fw"], unpack["bw"], p["V"], p["c"], x, y
        )[0]

    numeric = finite_differences(loss_fn, flat)
    assert abs(loss - loss_tf) < 1e-9
    names = ["fw_U", "fw_W", "fw_b", "bw_U", "bw_W", "bw_b", "V", "c", "fw_s0", "bw_s0"]
    for name, tape_grad in zip(names, grads_tf):
        d, _, k = name.partition("_")
        ours = explicit[d][k] if k else explicit[name]
        assert rel_error(tape_grad, ours) < 1e-6, name
        assert rel_error(ours, numeric[name]) < 1e-6, name
