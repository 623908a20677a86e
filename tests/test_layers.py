"""RNNCell and RNN against NumPy code of the equations and Keras' SimpleRNN."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnn_keras as rk
from tests.numpy_reference import rnn_forward

TOL = 1e-6


def weights(layer):
    cell = layer.cell
    b = None if cell.bias is None else cell.bias.numpy()
    return cell.kernel.numpy(), cell.recurrent_kernel.numpy(), b


def test_basics():
    layer = rk.RNN(4, return_sequences=True)
    y = layer(np.arange(24, dtype="float32").reshape(2, 3, 4) / 24)
    assert y.shape == (2, 3, 4)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert layer.cell.kernel.shape == (4, 4) and layer.cell.recurrent_kernel.shape == (4, 4)
    clone = rk.RNN.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_correctness_constant_weights():
    """All-ones U, W and b = 0: s_1 = tanh(sum x_1), s_2 = tanh(sum x_2 + 2 s_1) per unit."""
    layer = rk.RNN(
        2, kernel_initializer="ones", recurrent_initializer="ones", return_sequences=True
    )
    x = np.arange(12, dtype="float32").reshape(2, 3, 2) / 10
    y = layer(x).numpy()
    s1 = np.tanh(x[:, 0].sum(-1))
    s2 = np.tanh(x[:, 1].sum(-1) + 2 * s1)
    np.testing.assert_allclose(y[:, 0, 0], s1, atol=TOL)
    np.testing.assert_allclose(y[:, 1, 1], s2, atol=TOL)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_forward_equals_numpy(rng, activation, use_bias):
    x = rng.normal(size=(3, 5, 4)).astype("float32")
    s0 = rng.normal(size=(3, 6)).astype("float32")
    layer = rk.RNN(
        6,
        activation=activation,
        use_bias=use_bias,
        return_sequences=True,
        return_state=True,
        bias_initializer="random_normal",
    )
    y, s_last = layer(x, initial_state=s0)
    y_ref, s_ref = rnn_forward(x, *weights(layer), s0=s0, activation=activation)
    np.testing.assert_allclose(y.numpy(), y_ref, atol=TOL)
    np.testing.assert_allclose(s_last.numpy(), s_ref, atol=TOL)


def test_go_backwards_equals_numpy(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = rk.RNN(5, go_backwards=True, return_sequences=True)
    y = layer(x)
    y_ref, _ = rnn_forward(x, *weights(layer), go_backwards=True)
    np.testing.assert_allclose(y.numpy(), y_ref, atol=TOL)


def test_cell_step_equals_equation(rng):
    cell = rk.RNNCell(3, bias_initializer="random_normal")
    x = rng.normal(size=(2, 4)).astype("float32")
    s = rng.normal(size=(2, 3)).astype("float32")
    out, [state] = cell(x, [s])
    U, W, b = cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()
    np.testing.assert_allclose(out.numpy(), np.tanh(x @ U + s @ W + b), atol=TOL)
    np.testing.assert_allclose(state.numpy(), out.numpy())


def test_cell_inside_keras_generic_rnn_equals_our_loop(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    ours = rk.RNN(4, return_sequences=True)
    y = ours(x)
    generic = keras.layers.RNN(rk.RNNCell(4), return_sequences=True)
    generic(x)
    generic.set_weights(ours.get_weights())
    np.testing.assert_allclose(generic(x).numpy(), y.numpy(), atol=TOL)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_equals_keras_simple_rnn(rng, activation, go_backwards):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    kwargs = dict(
        activation=activation, return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    ours = rk.RNN(5, **kwargs)
    keras_layer = keras.layers.SimpleRNN(5, **kwargs)
    ours(x), keras_layer(x)
    keras_layer.set_weights(ours.get_weights())
    for a, b in zip(ours(x), keras_layer(x)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=TOL)


def test_masked_equals_keras_simple_rnn(rng):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], bool)
    for zero in (False, True):
        ours = rk.RNN(5, return_sequences=True, zero_output_for_mask=zero)
        keras_layer = keras.layers.SimpleRNN(5, return_sequences=True, zero_output_for_mask=zero)
        ours(x), keras_layer(x)
        keras_layer.set_weights(ours.get_weights())
        np.testing.assert_allclose(
            ours(x, mask=mask).numpy(), keras_layer(x, mask=mask).numpy(), atol=TOL
        )


def test_padded_sequence_equals_sequence_alone(rng):
    x = rng.normal(size=(1, 4, 3)).astype("float32")
    padded = np.concatenate([x, np.full((1, 3, 3), 7.0, "float32")], axis=1)
    mask = np.array([[1, 1, 1, 1, 0, 0, 0]], bool)
    layer = rk.RNN(5, return_sequences=True, return_state=True, zero_output_for_mask=True)
    y, s = layer(x)
    y_pad, s_pad = layer(padded, mask=mask)
    np.testing.assert_allclose(y_pad.numpy()[:, :4], y.numpy(), atol=TOL)
    np.testing.assert_array_equal(y_pad.numpy()[:, 4:], 0.0)  # padding does not leak
    np.testing.assert_allclose(s_pad.numpy(), s.numpy(), atol=TOL)


def test_mask_from_embedding_is_used(rng):
    tokens = np.array([[3, 1, 2, 0, 0], [1, 2, 0, 0, 0]])
    inputs = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(5, 3, mask_zero=True)(inputs)
    model = keras.Model(inputs, rk.RNN(4)(h))
    short = model(tokens[:, :3]).numpy()
    np.testing.assert_allclose(model(tokens).numpy()[1], short[1], atol=TOL)


def test_unknown_batch_and_time_in_tf_function_and_xla(rng):
    layer = rk.RNN(4, return_sequences=True)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    eager = layer(x).numpy()
    spec = tf.TensorSpec((None, None, 3), tf.float32)
    traced = tf.function(layer, input_signature=[spec])
    np.testing.assert_allclose(traced(x).numpy(), eager, atol=TOL)
    np.testing.assert_allclose(traced(x[:1, :2]).numpy(), eager[:1, :2], atol=TOL)
    xla = tf.function(layer, jit_compile=True)
    np.testing.assert_allclose(xla(x).numpy(), eager, atol=1e-5)


def test_loop_is_symbolic_not_unrolled():
    layer = rk.RNN(3)
    fn = tf.function(layer).get_concrete_function(tf.TensorSpec((None, 50, 2), tf.float32))
    ops = [op.type for op in fn.graph.get_operations()]
    assert "While" in ops or "StatelessWhile" in ops
    assert ops.count("MatMul") < 10  # one projection + the loop body, not 50 steps


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(units=0), "units"),
        (dict(units=-3), "units"),
        (dict(units=4, activation="no_such_fn"), "activation"),
    ],
)
def test_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        rk.RNN(**bad)


def test_bad_inputs(rng):
    layer = rk.RNN(4)
    with pytest.raises(ValueError, match="3D input"):
        layer(np.zeros((2, 3), "float32"))
    layer(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="axis -1"):
        layer(np.zeros((2, 3, 6), "float32"))
    with pytest.raises(ValueError, match="initial_state"):
        layer(np.zeros((2, 3, 5), "float32"), initial_state=np.zeros((2, 7), "float32"))
    with pytest.raises(ValueError, match="mask"):
        layer(np.zeros((2, 3, 5), "float32"), mask=np.ones((2, 4), bool))


def _one_hot_model(dropout=0.0):
    tokens = keras.Input((None,), dtype="int32")
    h = rk.OneHot(40, mask_zero=True)(tokens)
    h = rk.Bidirectional(rk.RNN(5, return_sequences=True, dropout=dropout))(h)
    h = rk.RNN(4, return_sequences=True)(h)
    return keras.Model(tokens, keras.layers.Dense(3)(h))


def _loss_and_gradients(model, tokens):
    with tf.GradientTape() as tape:
        y = model(tokens, training=True)
        loss = tf.reduce_sum(y * tf.sin(y))
    return y, tape.gradient(loss, model.trainable_variables)


def _op_types(function, *args):
    return [op.type for op in function.get_concrete_function(*args).graph.get_operations()]


def test_one_hot_inputs_in_a_graph_gather_rows_of_u_with_the_matmuls_values(float64):
    model = _one_hot_model()
    tokens = np.array([[3, 1, 4, 1, 5, 9], [2, 39, 6, 0, 0, 0]], np.int32)
    want_y, want_g = _loss_and_gradients(model, tokens)  # eager: the one-hot matmul
    graph = tf.function(_loss_and_gradients)
    got_y, got_g = graph(model, tokens)
    np.testing.assert_allclose(got_y, want_y, rtol=1e-12, atol=1e-14)
    for got, want in zip(got_g, want_g):
        assert isinstance(got, tf.Tensor)  # dense, as the matmul's: never IndexedSlices
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert _op_types(graph, model, tokens).count("UnsortedSegmentSum") == 2  # both directions
    dropped = _one_hot_model(dropout=0.5)  # x_t times a dropout mask: no longer one-hot
    assert "UnsortedSegmentSum" not in _op_types(graph, dropped, tokens)


def test_ids_outside_the_vocabulary_are_zero_rows_as_tf_one_hot_makes_them(float64):
    from rnn_keras.layers.onehot import rows_of

    U = tf.constant(np.random.default_rng(3).normal(size=(5, 4)))
    ids = tf.constant([[0, -1, 4], [5, 2, 2]])  # -1 and 5: outside [0, 5)
    upstream = tf.constant(np.random.default_rng(4).normal(size=(2, 3, 4)))

    def value_and_gradient(rows):
        with tf.GradientTape() as tape:
            tape.watch(U)
            y = rows(U)
        return y, tape.gradient(y, U, output_gradients=upstream)

    want = value_and_gradient(
        lambda u: tf.einsum("btv,vu->btu", tf.one_hot(ids, 5, dtype=u.dtype), u)
    )
    for rows in (
        lambda u: rows_of(u, ids),
        tf.function(lambda u: rows_of(u, ids), jit_compile=True),
    ):
        for got, expected in zip(value_and_gradient(rows), want):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_only_a_plain_one_hot_counts_as_rows_of_u():
    from rnn_keras.layers.onehot import ids_behind

    ids = tf.constant([[1, 2]])
    assert ids_behind(tf.one_hot(ids, 4)) is None  # eager: no graph op to read

    @tf.function
    def found(t):
        plain = ids_behind(tf.one_hot(t, 4))
        others = (tf.one_hot(t, 4, on_value=2.0), tf.one_hot(t, 4, axis=1), tf.one_hot(t, 4) * 1)
        assert plain is not None and plain.op.type in ("Placeholder", "Identity")
        assert all(ids_behind(x) is None for x in others)
        return tf.constant(0)

    found(ids)
