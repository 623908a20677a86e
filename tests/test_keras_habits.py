"""What Keras users do with SimpleRNN / Bidirectional, done with our layers and checked
against Keras' own layers (same initializers, seeds and copied weights)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnn_keras as rk

X = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
LENGTHS = [6, 4, 2]
MASK = np.arange(6)[None, :] < np.array(LENGTHS)[:, None]


def pair(**kwargs):
    """Our RNN and Keras' SimpleRNN with the same arguments and weights, built."""
    ours = rk.RNN(5, return_sequences=True, **kwargs)
    theirs = keras.layers.SimpleRNN(5, return_sequences=True, **kwargs)
    ours.build(X.shape)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("dropout, recurrent_dropout", [(0.5, 0.0), (0.0, 0.4), (0.3, 0.3)])
def test_dropout_draws_the_masks_keras_draws(dropout, recurrent_dropout):
    ours, theirs = pair(dropout=dropout, recurrent_dropout=recurrent_dropout, seed=7)
    for _ in range(2):  # new masks each call, the same as Keras' each time
        np.testing.assert_allclose(
            ours(X, mask=MASK, training=True), theirs(X, mask=MASK, training=True), atol=1e-6
        )
    np.testing.assert_allclose(ours(X, training=False), theirs(X, training=False), atol=1e-6)


def test_dropout_changes_training_outputs_only():
    layer = rk.RNN(5, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    a, b = layer(X, training=True), layer(X, training=True)
    assert np.abs(a - b).max() > 1e-3
    np.testing.assert_array_equal(layer(X), layer(X))


def test_fused_gradient_is_exact_with_dropout(float64):
    """Fused BPTT == autodiff through the loop, with the same dropout masks (float64)."""
    x = X.astype("float64")
    grads, weights = [], None
    for fused in (True, False):
        layer = rk.RNN(
            5,
            dropout=0.3,
            recurrent_dropout=0.4,
            seed=3,
            return_sequences=True,
            return_state=True,
            fused_gradient=fused,
            kernel_initializer="glorot_normal",
        )
        layer.build(x.shape)
        if weights is not None:
            layer.set_weights(weights)
        weights = layer.get_weights()
        xv = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xv)
            y, s = layer(xv, mask=MASK, training=True)
            loss = tf.reduce_sum(y * np.linspace(-1, 1, 5)) + tf.reduce_sum(s**2)
        grads.append(tape.gradient(loss, [xv, *layer.trainable_weights]))
    for g_fused, g_auto in zip(*grads):
        np.testing.assert_allclose(g_fused, g_auto, rtol=1e-10, atol=1e-12)
    assert np.abs(grads[0][2]).max() > 0  # W got a gradient


def test_stateful_continues_the_sequence_and_resets():
    inputs = keras.Input((3, 4), batch_size=3)
    layer = rk.RNN(5, stateful=True, return_sequences=True)
    model = keras.Model(inputs, layer(inputs))
    whole = rk.RNN(5, return_sequences=True)
    whole.build(X.shape)
    whole.set_weights(layer.get_weights()[:3])
    expected = whole(X)
    np.testing.assert_allclose(
        np.concatenate([model(X[:, :3]), model(X[:, 3:])], axis=1), expected, atol=1e-6
    )
    layer.reset_states()
    np.testing.assert_allclose(model(X[:, :3]), expected[:, :3], atol=1e-6)


def test_stateful_needs_a_batch_size():
    with pytest.raises(ValueError, match="fixed batch size"):
        rk.RNN(5, stateful=True)(keras.Input((3, 4)))


def test_stateful_matches_keras_and_bidirectional_resets():
    ours, theirs = pair(stateful=True)
    for _ in range(2):
        np.testing.assert_allclose(ours(X), theirs(X), atol=1e-6)
    ours.reset_states()
    theirs.reset_states()
    np.testing.assert_allclose(ours(X), theirs(X), atol=1e-6)
    bi = rk.Bidirectional(rk.RNN(3, stateful=True))
    first = bi(X)
    assert np.abs(bi(X) - first).max() > 1e-4
    bi.reset_states()
    np.testing.assert_allclose(bi(X), first, atol=1e-6)


def test_backward_layer_matches_keras(tmp_path):
    fw = dict(return_sequences=True)
    bw = dict(activation="relu", go_backwards=True, return_sequences=True)
    ours = rk.Bidirectional(rk.RNN(4, **fw), backward_layer=rk.RNN(3, **bw))
    theirs = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(4, **fw), backward_layer=keras.layers.SimpleRNN(3, **bw)
    )
    ours.build(X.shape)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(X, mask=MASK), theirs(X, mask=MASK), atol=1e-6)
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, ours(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(X), model(X), atol=1e-7)
    assert loaded.layers[-1].backward_layer.cell.activation_name == "relu"


@pytest.mark.parametrize(
    "backward, message",
    [
        (dict(return_sequences=True), "go_backwards=True"),
        (dict(go_backwards=True), "return_sequences"),
    ],
)
def test_backward_layer_must_fit(backward, message):
    with pytest.raises(ValueError, match=message):
        rk.Bidirectional(rk.RNN(3, return_sequences=True), backward_layer=rk.RNN(3, **backward))


def test_unroll_false_accepted_true_refused_with_the_reason():
    assert rk.RNN(3, unroll=False).unroll is False
    with pytest.raises(ValueError, match="unroll=True.*tf.while_loop"):
        rk.RNN(3, unroll=True)


def test_simple_rnn_attributes():
    kwargs = dict(activation="relu", use_bias=False, dropout=0.25, recurrent_dropout=0.5, seed=4)
    ours, theirs = rk.RNN(6, **kwargs), keras.layers.SimpleRNN(6, **kwargs)
    for name in ("units", "activation", "use_bias", "dropout", "recurrent_dropout"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        assert type(getattr(ours, name)) is type(getattr(theirs, name)), name
    with pytest.raises(AttributeError):
        ours.no_such_thing  # noqa: B018
    [s0], [k0] = ours.get_initial_state(3), theirs.get_initial_state(3)
    assert s0.shape == k0.shape == (3, 6) and not np.any(s0) and s0.dtype == k0.dtype


def test_new_arguments_round_trip(tmp_path):
    layer = rk.RNN(4, dropout=0.2, recurrent_dropout=0.1, seed=9, return_sequences=True)
    config = rk.RNN.from_config(layer.get_config()).get_config()
    assert config == layer.get_config()
    assert {config["dropout"], config["recurrent_dropout"], config["seed"]} == {0.2, 0.1, 9}


def test_fit_with_dropout_learns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 8, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    inputs = keras.Input((8, 3))
    h = rk.Bidirectional(rk.RNN(8, dropout=0.1, recurrent_dropout=0.1, seed=0))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    model.compile(
        keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


def test_float64_layer_makes_float64_weights():
    layer = rk.RNN(4, dtype="float64")
    y = layer(X.astype("float64"))
    assert layer.cell.kernel.dtype == "float64" and y.dtype == tf.float64
    theirs = keras.layers.SimpleRNN(4, dtype="float64")
    theirs.build(X.shape)
    theirs.set_weights(layer.get_weights())
    np.testing.assert_allclose(y, theirs(X.astype("float64")), rtol=1e-12)


def test_mixed_precision_as_keras():
    ours = rk.Bidirectional(rk.RNN(4, return_sequences=True), dtype="mixed_float16")
    theirs = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(4, return_sequences=True), dtype="mixed_float16"
    )
    ours.build(X.shape)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    a, b = ours(X), theirs(X)
    assert a.dtype == b.dtype
    np.testing.assert_allclose(np.float32(a), np.float32(b), atol=1e-5)
    layer = rk.RNN(4, dtype="mixed_float16")
    out = layer(X)
    assert out.dtype == tf.float16 and layer.cell.kernel.dtype == "float32"


def test_one_hot_refuses_ids_out_of_range():
    layer = rk.OneHot(3)
    for bad in ([[0, 3]], [[-1, 1]]):
        with pytest.raises(ValueError, match=r"outside \[0, 3\)"):
            layer(np.array(bad))
    graph = tf.function(lambda t: layer(t))
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside"):
        graph(tf.constant([[0, 5]]))
    np.testing.assert_array_equal(layer(np.array([[2]]))[0, 0], [0, 0, 1])


def test_another_keras_backend_is_named_with_the_fix(monkeypatch):
    from rnn_keras_common import _quiet
    from rnn_keras_common.cli import run_cli

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(_quiet.BackendError, match="'jax' backend.*KERAS_BACKEND=tensorflow"):
        _quiet.check_backend()

    def main():
        _quiet.check_backend()

    assert run_cli(main, lambda: ()) == 2  # a CLI's one error: line, not a traceback


def test_keras_own_onnx_export_takes_our_layers_with_two_inputs(tmp_path):
    import onnxruntime as ort

    from export import keras_model

    source, target = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    _, state = rk.RNN(6, return_state=True)(keras.layers.Embedding(9, 4, mask_zero=True)(source))
    h = keras.layers.Embedding(9, 4, mask_zero=True)(target)
    h = rk.Bidirectional(rk.RNN(5, return_sequences=True))(h)
    h = rk.RNN(6, return_sequences=True)(h, initial_state=state)  # keras-io's seq2seq, ours
    model = keras.Model([source, target], keras.layers.Dense(3)(h))
    with pytest.raises(ValueError, match=r"has 2 and 1; Keras' own model.export\(path, format="):
        keras_model.to_onnx(model, tmp_path / "refused.onnx")
    a = np.array([[3, 1, 4, 1, 5], [2, 6, 0, 0, 0]], np.int32)  # right-padded
    b = np.array([[8, 2, 7, 1], [5, 3, 3, 0]], np.int32)
    want = model([a, b]).numpy()  # Keras exports only a model that has been called
    model.export(str(tmp_path / "s2s.onnx"), format="onnx", verbose=False)
    session = ort.InferenceSession(str(tmp_path / "s2s.onnx"))
    got = session.run(None, dict(zip([i.name for i in session.get_inputs()], [a, b])))[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("chosen, on", [(None, True), ("0", False)])
def test_importing_rnn_keras_turns_on_tensorflows_onednn_unless_the_user_chose(chosen, on):
    # TensorFlow leaves oneDNN off on AVX2-only CPUs (slower kernels: bench.isa); ours turn it
    # on, in a fresh process since TensorFlow reads the variable once, when it loads
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update({"TF_ENABLE_ONEDNN_OPTS": chosen} if chosen else {})
    code = (
        "import os, rnn_keras\n"
        "from tensorflow.python.util import _pywrap_util_port as port\n"
        "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], port.IsMklEnabled())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [chosen or "1", str(on)]
