"""The decoder of an encoder-decoder: our tanh RNN over target tokens, attending to a memory.

With attention (Bahdanau et al. 2014, "context fed with the previous token"):

    c_t = attention(s_{t-1}, h_1..h_S)                      (rnn_keras.layers.attention)
    s_t = f(U [y_{t-1}; c_t] + W s_{t-1} + b)               (our RNNCell's weights)
    o_t = softmax(V [s_t; c_t] + c)

Without: `s_t = f(U y_{t-1} + W s_{t-1} + b)`, `o_t = softmax(V s_t + c)`, the plain
recurrence (`rnn_keras.recurrence`, with its fused BPTT gradient). `y_{t-1}` is one-hot,
so `U y_{t-1}` is a row of `U`, gathered rather than multiplied; with `embedding_dim` D
it is first embedded, `U E y_{t-1}` with `E` `(vocab, D)`. The initial state
`s_0` comes from the encoder (see `bridge`).

`call` runs teacher forcing over whole target sequences (training, evaluation); `step`
is one step of the same arithmetic for decoding (`rnn_keras_common.decoding`); the two
agree to float rounding (tested).
"""

import keras
import tensorflow as tf
from keras import ops

from rnn_keras import recurrence
from rnn_keras.layers import _checks
from rnn_keras.layers.attention import AdditiveAttention
from rnn_keras.layers.cell import RNNCell
from rnn_keras.layers.dropout import Dropout
from rnn_keras.layers.onehot import embedding_initializer


def bridge(units, name="bridge"):
    """The encoder summary -> the decoder's `s_0`: one Dense layer with tanh."""
    return keras.layers.Dense(units, activation="tanh", name=name)


@keras.saving.register_keras_serializable(package="rnn_keras")
class AttentionDecoder(keras.layers.Layer):
    """`[target_in (batch, time) int, s0 (batch, units), memory (batch, positions, features)]`
    -> logits `(batch, time, vocab_size)`.

    The memory's Keras mask (or `memory_mask`) marks its real positions; attention
    never looks at the others.

    Args:
        units: size of the state `s_t`.
        vocab_size: target vocabulary (0 = padding, never a target).
        attention_units: size of the attention's hidden layer; 0 for no attention (the
            decoder then sees the memory only through `s_0`).
        activation: `f`.
        recurrent_initializer: the initializer of `W` (default orthogonal).
        embedding_dim: 0 for one-hot `y_{t-1}`; D for an embedding `E` in front of `U`,
            drawn from N(0, 1) as PyTorch's `nn.Embedding` is. A shared `U` behind `E`
            learns from every token of every step, so the previous token's path learns
            faster than one-hot rows that move only when their token comes.
        dropout: in training, the fraction of `[s_t; c_t]` dropped before `V` and (with
            `embedding_dim`) of `E y_{t-1}` before `U`: the non-recurrent paths, as
            Zaremba et al. (2014) drop, so the memory `s_t` itself is never cut. Not in
            `step` (decoding).
    """

    def __init__(
        self,
        units,
        vocab_size,
        attention_units=0,
        activation="tanh",
        recurrent_initializer="orthogonal",
        embedding_dim=0,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _checks.positive_int("units", units)
        self.vocab_size = _checks.positive_int("vocab_size", vocab_size)
        if not isinstance(attention_units, int) or attention_units < 0:
            raise ValueError(f"`attention_units` must be an int >= 0, got {attention_units!r}.")
        self.attention_units = attention_units
        if not isinstance(embedding_dim, int) or embedding_dim < 0:
            raise ValueError(f"`embedding_dim` must be an int >= 0, got {embedding_dim!r}.")
        self.embedding_dim = embedding_dim
        self.token_width = embedding_dim or vocab_size  # the rows of U that y_{t-1} reaches
        self.dropout = _checks.rate("dropout", dropout)
        drop = lambda name: Dropout(self.dropout, name=name) if self.dropout else None  # noqa: E731
        self.token_dropout = drop("token_dropout") if embedding_dim else None
        self.head_dropout = drop("head_dropout")
        self.cell = RNNCell(
            units,
            activation=activation,
            recurrent_initializer=recurrent_initializer,
            name="cell",
        )
        self.activation = self.cell.activation
        self.attention = (
            AdditiveAttention(attention_units, name="attention") if attention_units else None
        )
        self.head = keras.layers.Dense(vocab_size, name="head")  # V, c

    def build(self, input_shape):
        _, _, memory_shape = input_shape
        context = memory_shape[-1] if self.attention else 0
        if self.embedding_dim:
            self.embeddings = self.add_weight(  # E
                name="embeddings",
                shape=(self.vocab_size, self.embedding_dim),
                initializer=embedding_initializer(),
            )
        self.cell.build((None, self.token_width + context))  # U = [U_y; U_c]
        if self.attention:
            self.attention.build([(None, self.units), memory_shape])
        self.head.build((None, self.units + context))

    def _token_inputs(self, tokens, training=False):
        """`U y + b` for one-hot `y` (rows of `U_y`) or `U E y + b`: `(..., units)`."""
        if self.embedding_dim:
            embedded = ops.take(self.embeddings, tokens, axis=0)  # (..., D)
            if training and self.token_dropout is not None:
                embedded = self.token_dropout(embedded, training=True)
            x = ops.matmul(embedded, self.cell.kernel[: self.token_width])
        else:
            x = ops.take(self.cell.kernel[: self.vocab_size], tokens, axis=0)
        return x + self.cell.bias if self.cell.bias is not None else x

    def _weights(self):
        """`(W, U_c, W_a, v)` read once: the loop's steps then share one copy."""
        if self.attention is None:
            return (tf.convert_to_tensor(self.cell.recurrent_kernel),)
        return tuple(
            tf.convert_to_tensor(w)
            for w in (
                self.cell.recurrent_kernel,
                self.cell.kernel[self.token_width :],
                self.attention.query_kernel,
                self.attention.score_kernel,
            )
        )

    def _advance(self, x, s, memory, keys, mask, weights):
        """`(s_t, c_t, alpha_t)` from `x` = `U_y y_{t-1} + b` and `s` = `s_{t-1}`."""
        a = x + ops.matmul(s, weights[0])  # + W s_{t-1}
        if self.attention is None:
            return self.activation(a), None, None
        context, alpha = self.attention.attend(s, memory, keys, mask, weights[2:])
        a = a + ops.matmul(context, weights[1])  # + U_c c_t
        return self.activation(a), context, alpha

    def _logits(self, s, context, training=False):
        features = s if context is None else ops.concatenate([s, context], axis=-1)
        if training and self.head_dropout is not None:
            features = self.head_dropout(features, training=True)
        return self.head(features)

    def keys(self, memory):
        """What `step` needs from the memory besides itself (`U_a h_j`); empty without attention."""
        if self.attention is None:
            return memory[:, :, :0]
        return self.attention.keys(memory)

    def step(self, tokens, state, memory, keys, mask=None):
        """One decoding step: `tokens` `(batch,)` = y_{t-1}, `state` = s_{t-1}
        -> `(logits (batch, vocab), s_t, alpha_t (batch, positions))`."""
        x = self._token_inputs(tokens)
        s, context, alpha = self._advance(x, state, memory, keys, mask, self._weights())
        if alpha is None:
            alpha = ops.zeros(ops.shape(memory)[:2], s.dtype)
        return self._logits(s, context), s, alpha

    def call(self, inputs, mask=None, memory_mask=None, return_attention=False, training=None):
        tokens, s0, memory = inputs
        if memory_mask is None and isinstance(mask, (list, tuple)):
            memory_mask = mask[2]
        training = bool(training)
        xw = ops.transpose(self._token_inputs(tokens, training), (1, 0, 2))  # (time, batch, units)
        if self.attention is None:
            W = tf.convert_to_tensor(self.cell.recurrent_kernel)
            S, _ = recurrence.recurrence(
                xw, W, s0, None, self.activation, self.cell.activation_name
            )
            logits = ops.transpose(self._logits(S, None, training), (1, 0, 2))
            if return_attention:
                return logits, ops.zeros((ops.shape(tokens)[0], ops.shape(tokens)[1], 0))
            return logits
        S, C, A = self._teacher_forced(xw, s0, memory, memory_mask)
        logits = ops.transpose(self._logits(S, C, training), (1, 0, 2))  # (batch, time, vocab)
        return (logits, ops.transpose(A, (1, 0, 2))) if return_attention else logits

    def _teacher_forced(self, xw, s0, memory, mask):
        """The attentive recurrence over time-major `xw`: states, contexts, attention weights."""
        keys = self.attention.keys(memory)
        steps = tf.shape(xw)[0]
        xs = tf.TensorArray(xw.dtype, size=steps).unstack(xw)
        arrays = [tf.TensorArray(xw.dtype, size=steps) for _ in range(3)]
        weights = self._weights()

        def body(t, s, states, contexts, alphas):
            s, context, alpha = self._advance(xs.read(t), s, memory, keys, mask, weights)
            return t + 1, s, states.write(t, s), contexts.write(t, context), alphas.write(t, alpha)

        # maximum_iterations: XLA needs a bound to keep the steps for the gradient
        loop = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), s0, *arrays),
            maximum_iterations=steps,
        )
        return [a.stack() for a in loop[2:]]  # (time, batch, ...) each

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        tokens_shape = input_shape[0]
        return (*tokens_shape, self.vocab_size)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "vocab_size": self.vocab_size,
            "attention_units": self.attention_units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_initializer": keras.initializers.serialize(self.cell.recurrent_initializer),
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }
