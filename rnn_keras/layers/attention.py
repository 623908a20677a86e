"""Additive attention (Bahdanau et al. 2014): where the decoder looks in a memory.

`e_tj = v^T tanh(W_a s_{t-1} + U_a h_j)`, `alpha_tj = softmax_j(e_tj)` over the real
memory positions only, and the context `c_t = sum_j alpha_tj h_j`. The memory `h_j` is
an encoder's states (translation: the bidirectional encoder over the source letters;
captioning: a CNN's feature grid). `U_a h_j` does not depend on `t`, so `keys` computes
it once per sequence and every decoder step reuses it.
"""

import keras
from keras import ops

from rnn_keras.layers import _checks


@keras.saving.register_keras_serializable(package="rnn_keras")
class AdditiveAttention(keras.layers.Layer):
    """Weights: `query_kernel` = W_a `(state, units)`, `key_kernel` = U_a `(memory, units)`,
    `score_kernel` = v `(units,)`.

    Call: `attention([query, memory], mask=memory_mask)` with `query` `(batch, state)`,
    `memory` `(batch, positions, features)` and `memory_mask` `(batch, positions)` (True
    or 1 at real positions) returns `(context (batch, features), alpha (batch, positions))`.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = _checks.positive_int("units", units)

    def build(self, input_shape):
        query_shape, memory_shape = input_shape
        weight = lambda name, shape: self.add_weight(  # noqa: E731
            name=name, shape=shape, initializer="glorot_uniform"
        )
        self.query_kernel = weight("query_kernel", (query_shape[-1], self.units))  # W_a
        self.key_kernel = weight("key_kernel", (memory_shape[-1], self.units))  # U_a
        self.score_kernel = self.add_weight(  # v
            name="score_kernel", shape=(self.units,), initializer="glorot_uniform"
        )

    def keys(self, memory):
        """`U_a h_j` for every position: `(batch, positions, units)`."""
        return ops.matmul(memory, self.key_kernel)

    def attend(self, query, memory, keys, mask=None, weights=None):
        """`(context, alpha)` for `query` = s_{t-1} `(batch, state)`, `keys` = `self.keys(memory)`.

        `weights`: `(W_a, v)` as tensors read once before a time loop (a variable read
        inside the loop would be stored once per step for the gradient).
        """
        query_kernel, score_kernel = weights or (self.query_kernel, self.score_kernel)
        q = ops.matmul(query, query_kernel)[:, None, :]  # (batch, 1, units): W_a s_{t-1}
        scores = ops.sum(ops.tanh(q + keys) * score_kernel, axis=-1)  # (batch, positions)
        if mask is not None:
            # -inf would make a fully padded row NaN; this large finite value underflows
            # to an exact 0 weight after the softmax's max-subtraction
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
        alpha = ops.softmax(scores, axis=-1)
        context = ops.sum(alpha[..., None] * memory, axis=1)  # (batch, features)
        return context, alpha

    def call(self, inputs, mask=None):
        query, memory = inputs
        memory_mask = mask[1] if isinstance(mask, (list, tuple)) else mask
        return self.attend(query, memory, self.keys(memory), memory_mask)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        query_shape, memory_shape = input_shape
        return (query_shape[0], memory_shape[-1]), (query_shape[0], memory_shape[1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}
