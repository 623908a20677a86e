"""`rnn_keras.wavefront`: a stack of layers in one loop gives the layer-by-layer answers,
values and gradients (float64, TensorFlow's own autodiff and finite differences as references)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_keras import recurrence, wavefront
from rnn_keras.tasks import lm
from rnn_keras.train import steps
from rnn_keras.train.training import Trainer
from rnn_keras_common.config import TrainConfig
from tests.helpers import play_text, tiny

ACTIVATIONS = {"tanh": tf.tanh, "sigmoid": tf.sigmoid, "relu": tf.nn.relu}


def weights(rng, sizes, batch, time):
    """`xw, Ws, Us, bs, s0s` of a stack with `sizes` units, as float64 tensors."""
    t = lambda *shape: tf.constant(rng.normal(size=shape) * 0.6)  # noqa: E731
    Ws = [t(u, u) for u in sizes]
    Us = [t(a, b) for a, b in zip(sizes, sizes[1:])]
    bs = [t(u) for u in sizes[1:]]
    return t(time, batch, sizes[0]), Ws, Us, bs, [t(batch, u) for u in sizes]


def layer_by_layer(xw, Ws, Us, bs, s0s, name):
    """The same stack with `recurrence`'s plain loop, differentiated by TensorFlow itself."""
    h, lasts = xw, []
    for i, (W, s0) in enumerate(zip(Ws, s0s)):
        if i:
            h = tf.einsum("tbi,ij->tbj", h, Us[i - 1]) + bs[i - 1]
        h, last = recurrence.recurrence(h, W, s0, None, ACTIVATIONS[name], name, fused=False)
        lasts.append(last)
    return h, lasts


def loss_and_grads(fn, args, probes):
    flat = tf.nest.flatten(args)
    with tf.GradientTape() as tape:
        tape.watch(flat)
        top, lasts = fn(*tf.nest.pack_sequence_as(args, flat))
        loss = tf.reduce_sum(top * probes[0]) + sum(
            tf.reduce_sum(s * p) for s, p in zip(lasts, probes[1:])
        )
    return top, lasts, tape.gradient(loss, flat)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("sizes,time", [([3, 5, 4], 6), ([4, 4], 1), ([2, 3, 4, 3], 3)])
def test_the_wavefront_equals_the_layers_one_by_one(rng, name, sizes, time):
    args = weights(rng, sizes, 2, time)
    probes = [rng.normal(size=(time, 2, sizes[-1]))] + [rng.normal(size=(2, u)) for u in sizes]
    ours = loss_and_grads(lambda *a: wavefront.stack(*a, ACTIVATIONS[name], name), args, probes)
    theirs = loss_and_grads(lambda *a: layer_by_layer(*a, name), args, probes)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-12)  # top states
    for a, b in zip(ours[1], theirs[1]):  # every layer's final state
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(ours[2], theirs[2]):  # d xw, dW, dU, db, ds0 of every layer
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_the_wavefront_gradient_matches_finite_differences(rng):
    xw, Ws, Us, bs, s0s = weights(rng, [3, 4, 2], 2, 5)
    probe = rng.normal(size=(5, 2, 2))

    def loss(W1):
        top, _ = wavefront.stack(xw, [Ws[0], W1, Ws[2]], Us, bs, s0s)
        return tf.reduce_sum(top * probe)

    W1 = Ws[1]
    with tf.GradientTape() as tape:
        tape.watch(W1)
        value = loss(W1)
    grad = tape.gradient(value, W1).numpy()
    eps, numeric = 1e-6, np.zeros(W1.shape)
    for i, j in np.ndindex(*W1.shape):
        bump = np.zeros(W1.shape)
        bump[i, j] = eps
        numeric[i, j] = (loss(W1 + bump) - loss(W1 - bump)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def small_lm(units, **kw):
    return lm.char_lm(7, units, len(units), recurrent_gain=0.5, **kw)


@pytest.mark.parametrize("embedding", [0, 4])
def test_the_lm_trains_through_the_wavefront_with_the_models_values_and_gradients(
    float64, rng, embedding
):
    model = small_lm([5, 6, 4], embedding=embedding)
    outputs = lm.wavefront_outputs(lm.stacked_layers(model))
    tokens = tf.constant(rng.integers(0, 7, (3, 8)), tf.int32)
    states = [tf.constant(rng.normal(size=(3, u)) * 0.5) for u in (5, 6, 4)]
    targets = rng.integers(0, 7, (3, 8))
    found = []
    for forward in (steps.model_outputs, outputs):
        with tf.GradientTape() as tape:
            logits, new_states = forward(model, tokens, states, True)
            loss = steps.masked_cross_entropy(logits, targets, tf.ones((3, 8), tf.float64))[0]
        found.append(
            (logits, new_states, steps.dense_gradients(tape, loss, model.trainable_variables))
        )
    (want_logits, want_states, want_grads), (logits, new_states, grads) = found
    np.testing.assert_allclose(logits, want_logits, rtol=1e-12, atol=1e-12)
    for a, b in zip(new_states, want_states):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert len(grads) == len(want_grads) == 2 * 3 + 3 + 2 + (1 if embedding else 0)
    for a, b, v in zip(grads, want_grads, model.trainable_variables):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=v.path)


def test_what_the_wavefront_cannot_run_trains_through_the_model():
    assert lm.stacked_layers(small_lm([4])) is None  # one layer: nothing to overlap
    assert lm.stacked_layers(small_lm([4, 4], dropout=0.2)) is None  # a Dropout between
    assert lm.stacked_layers(small_lm([4, 4], activation="linear")) is not None
    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(5, 3, name="embedding")(tokens)
    h = lm.RNN(4, return_sequences=True, recurrent_dropout=0.1)(h)
    h = lm.RNN(4, return_sequences=True)(h)
    dropped = keras.Model(tokens, keras.layers.Dense(5, name="head")(h))
    assert lm.stacked_layers(dropped) is None  # recurrent dropout: the layer's own loop


def test_a_default_lm_run_takes_the_wavefront_and_its_losses_match_the_models(tmp_path):
    text = play_text(tmp_path, "hamlet", 6000)
    cfg = TrainConfig(text=text, steps=4, **tiny(layers=3, units=8)).resolved()
    losses = []
    for wave in (True, False):
        keras.utils.set_random_seed(0)
        task = lm.Task(cfg, open(text).read())
        trainer = Trainer(cfg, tmp_path / f"run{wave}", task, task.model())
        if not wave:
            trainer.fns.outputs = steps.model_outputs
        assert (trainer.fns.outputs is steps.model_outputs) != wave
        losses.append([trainer.train_one()[0] for _ in range(4)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=2e-5)
