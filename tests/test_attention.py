"""Additive attention and the attentive decoder against NumPy, finite differences and themselves."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_keras.layers import RNN, AdditiveAttention, AttentionDecoder, Bidirectional, OneHot
from rnn_keras.tasks import seq2seq


def numpy_attention(query, memory, mask, W_a, U_a, v):
    """`e_j = v^T tanh(W_a s + U_a h_j)`, softmax over real positions, `c = sum alpha_j h_j`."""
    e = np.tanh((query @ W_a)[:, None, :] + memory @ U_a) @ v  # (batch, positions)
    e = np.where(mask > 0, e, -np.inf)
    alpha = np.exp(e - e.max(axis=1, keepdims=True))
    alpha /= alpha.sum(axis=1, keepdims=True)
    return (alpha[..., None] * memory).sum(axis=1), alpha


def _inputs(rng, batch=3, positions=5, state=4, features=6):
    query = rng.normal(size=(batch, state))
    memory = rng.normal(size=(batch, positions, features))
    mask = np.ones((batch, positions))
    mask[1, 3:] = 0
    mask[2, 1:] = 0
    return query, memory, mask


def test_weights_sum_to_one_over_real_positions_and_match_numpy(rng):
    query, memory, mask = (a.astype(np.float32) for a in _inputs(rng))
    layer = AdditiveAttention(7)
    context, alpha = layer([query, memory], mask=[None, mask])
    alpha = alpha.numpy()
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(alpha[mask == 0] == 0.0)  # exactly zero, not just small
    weights = [w.numpy() for w in (layer.query_kernel, layer.key_kernel, layer.score_kernel)]
    want_c, want_a = numpy_attention(query, memory, mask, *weights)
    np.testing.assert_allclose(alpha, want_a, atol=1e-6)
    np.testing.assert_allclose(context.numpy(), want_c, atol=1e-5)


def _finite_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def test_attention_gradient_equals_finite_differences(rng, float64):
    query, memory, mask = _inputs(rng)
    layer = AdditiveAttention(5, dtype="float64")
    layer.build([query.shape, memory.shape])
    r_c, r_a = rng.normal(size=(3, 6)), rng.normal(size=(3, 5))

    def loss():
        c, a = layer([tf.constant(query), tf.constant(memory)], mask=[None, tf.constant(mask)])
        return tf.reduce_sum(c * r_c) + tf.reduce_sum(a * r_a)

    variables = [layer.query_kernel, layer.key_kernel, layer.score_kernel]
    with tf.GradientTape() as tape:
        tape.watch([v.value for v in variables])
        q, m = tf.constant(query), tf.constant(memory)
        tape.watch([q, m])
        c, a = layer([q, m], mask=[None, tf.constant(mask)])
        total = tf.reduce_sum(c * r_c) + tf.reduce_sum(a * r_a)
    got = tape.gradient(total, [q, m, *[v.value for v in variables]])
    np.testing.assert_allclose(got[0], _finite_difference(lambda: float(loss()), query), atol=1e-7)
    np.testing.assert_allclose(got[1], _finite_difference(lambda: float(loss()), memory), atol=1e-7)
    for variable, g in zip(variables, got[2:]):
        value = variable.numpy()

        def at(variable=variable, value=value):
            variable.assign(value)
            return float(loss())

        np.testing.assert_allclose(g, _finite_difference(at, value), atol=1e-7)
        variable.assign(value)  # the difference left its last element moved by -eps


def _translator(attention=True, source_vocab=7, target_vocab=9, embedding=0, dropout=0.0):
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    memory = Bidirectional(RNN(5, return_sequences=True))(
        OneHot(source_vocab, mask_zero=True)(source)
    )
    summary = seq2seq.summary_of(memory, 5)
    logits = seq2seq.attentive_decoder(
        memory, summary, target_in, target_vocab, 6, 4 if attention else 0, "tanh", None,
        embedding, dropout,
    )  # fmt: skip
    return keras.Model([source, target_in], logits)


SOURCE = np.array([[1, 2, 3, 4, 0], [4, 5, 0, 0, 0], [6, 0, 0, 0, 0]], np.int32)
TARGET = np.array([[1, 2, 3, 4], [1, 5, 6, 0], [1, 8, 0, 0]], np.int32)


@pytest.mark.parametrize("attention,embedding", [(True, 0), (False, 0), (True, 3), (False, 3)])
def test_padding_never_changes_the_output(attention, embedding):
    model = _translator(attention, embedding=embedding)
    out = model([SOURCE, TARGET]).numpy()
    longer = np.pad(SOURCE, ((0, 0), (0, 4)))
    np.testing.assert_array_equal(model([longer, TARGET]).numpy(), out)
    alone = model([SOURCE[2:, :1], TARGET[2:, :2]]).numpy()  # the batch's padding plays no part
    np.testing.assert_allclose(alone[0], out[2, :2], atol=1e-6)


@pytest.mark.parametrize("attention,embedding", [(True, 0), (False, 0), (True, 3), (False, 3)])
def test_teacher_forcing_equals_step_by_step_decoding(attention, embedding):
    model = _translator(attention, embedding=embedding)
    want = model([SOURCE, TARGET]).numpy()
    decoding = seq2seq.KerasDecoding(model)
    memory, keys, mask, state = decoding.encode(SOURCE)
    step = decoding.step_for(memory, keys, mask)
    rows = np.arange(len(SOURCE))
    for t in range(TARGET.shape[1]):
        logits, state = step(TARGET[:, t], state, rows)
        np.testing.assert_allclose(logits, want[:, t], atol=1e-5)


@pytest.mark.parametrize("embedding", [0, 2])
def test_decoder_gradient_through_the_attentive_loop_equals_finite_differences(
    rng, float64, embedding
):
    decoder = AttentionDecoder(3, 5, attention_units=2, embedding_dim=embedding, dtype="float64")
    tokens = np.array([[1, 2, 3], [1, 4, 0]], np.int32)
    s0, memory = rng.normal(size=(2, 3)), rng.normal(size=(2, 4, 3))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    decoder.build([tokens.shape, s0.shape, memory.shape])
    r = rng.normal(size=(2, 3, 5))

    def loss():
        out = decoder([tokens, tf.constant(s0), tf.constant(memory)], memory_mask=mask)
        return float(tf.reduce_sum(out * r))

    with tf.GradientTape() as tape:
        s, m = tf.constant(s0), tf.constant(memory)
        tape.watch([s, m])
        out = decoder([tokens, s, m], memory_mask=mask)
        total = tf.reduce_sum(out * r)
    weights = [decoder.cell.recurrent_kernel] + ([decoder.embeddings] if embedding else [])
    g_s, g_m, *g_weights = tape.gradient(total, [s, m, *(w.value for w in weights)])
    np.testing.assert_allclose(g_s, _finite_difference(loss, s0), atol=1e-7)
    np.testing.assert_allclose(g_m, _finite_difference(loss, memory), atol=1e-7)
    for weight, g in zip(weights, g_weights):  # W, and E when there is one
        value = weight.numpy()

        def at(weight=weight, value=value):
            weight.assign(value)
            return loss()

        g = tf.convert_to_tensor(g)  # E's gradient comes as IndexedSlices (a gather's)
        np.testing.assert_allclose(g, _finite_difference(at, value), atol=1e-7)
        weight.assign(value)  # the difference left its last element moved by -eps


@pytest.mark.parametrize("embedding,dropout", [(0, 0.0), (3, 0.3)])
def test_the_translator_round_trips_through_a_keras_file(tmp_path, embedding, dropout):
    model = _translator(embedding=embedding, dropout=dropout)
    path = tmp_path / "t.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded([SOURCE, TARGET]).numpy(), model([SOURCE, TARGET]).numpy())
    decoder = next(la for la in loaded.layers if isinstance(la, AttentionDecoder))
    config = decoder.get_config()
    assert config["attention_units"] == 4 and config["embedding_dim"] == embedding
    assert config["dropout"] == dropout


@pytest.mark.parametrize("embedding", [0, 3])
def test_decoder_dropout_acts_in_training_only_and_never_cuts_the_memory(embedding):
    model = _translator(embedding=embedding, dropout=0.5)
    decoder = next(la for la in model.layers if isinstance(la, AttentionDecoder))
    plain = _translator(embedding=embedding)
    plain.set_weights(model.get_weights())
    want = plain([SOURCE, TARGET]).numpy()
    np.testing.assert_array_equal(model([SOURCE, TARGET]).numpy(), want)  # inference: none
    dropped = [model([SOURCE, TARGET], training=True).numpy() for _ in range(2)]
    assert np.abs(dropped[0] - want).max() > 0.1 and np.abs(dropped[0] - dropped[1]).max() > 0.1
    # the head's dropout leaves the recurrence alone: the attention (which reads s_{t-1})
    # changes only when the embedded tokens are dropped
    rng = np.random.default_rng(0)
    s0, memory = rng.normal(size=(3, 6)).astype("f4"), rng.normal(size=(3, 5, 10)).astype("f4")
    inputs = [TARGET, s0, memory]
    _, a_train = decoder(inputs, memory_mask=SOURCE > 0, return_attention=True, training=True)
    _, a_infer = decoder(inputs, memory_mask=SOURCE > 0, return_attention=True)
    assert np.array_equal(a_train, a_infer) == (embedding == 0)


def test_an_embedded_token_enters_as_u_times_its_embedding(rng):
    decoder = AttentionDecoder(3, 5, attention_units=2, embedding_dim=4)
    memory, s0 = rng.normal(size=(2, 6, 3)).astype("f4"), np.zeros((2, 3), "f4")
    decoder.build([(2, 1), s0.shape, memory.shape])
    assert decoder.embeddings.shape == (5, 4) and decoder.cell.kernel.shape == (4 + 3, 3)
    E, U, b = decoder.embeddings.numpy(), decoder.cell.kernel.numpy(), decoder.cell.bias.numpy()
    tokens = np.array([2, 4])
    np.testing.assert_allclose(decoder._token_inputs(tokens), E[tokens] @ U[:4] + b, atol=1e-6)
    # U_c, the context's rows, starts right after the embedding's 4 rows
    np.testing.assert_array_equal(decoder._weights()[1], U[4:])
    assert 0.7 < E.std() < 1.3  # N(0, 1), as PyTorch's nn.Embedding


def test_the_embedding_gradient_reaches_the_tokens_that_came_and_no_other():
    model = _translator(embedding=3)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(model([SOURCE, TARGET]))
    E = next(la for la in model.layers if isinstance(la, AttentionDecoder)).embeddings
    grad = tf.convert_to_tensor(tape.gradient(out, E.value)).numpy()
    used = np.unique(TARGET[TARGET > 0])
    assert np.abs(grad[used]).min() > 0 and not grad[7].any()  # 7 never comes
