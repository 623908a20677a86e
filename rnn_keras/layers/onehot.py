"""Integer tokens to one-hot vectors `x_t`, the input of the article's model."""

import keras
import tensorflow as tf

from rnn_keras.layers import _checks


def embedding_initializer():
    """N(0, 1), as PyTorch's `nn.Embedding` draws: the embeddings `E` put in front of U.

    A new instance per use: one unseeded Keras 3 initializer called twice repeats its values.
    """
    return keras.initializers.RandomNormal(stddev=1.0)


@keras.saving.register_keras_serializable(package="rnn_keras")
class OneHot(keras.layers.Layer):
    """`x_t` = one-hot of token `t`: `(batch, time)` ints to `(batch, time, depth)`.

    With one-hot inputs `U x_t` is row `t` of U (`kernel`), exactly the model
    of the article; an `Embedding` would add a second matrix in front of U.

    Args:
        depth: vocabulary size.
        mask_zero: token 0 is padding; emit a mask `(batch, time)` for the RNNs.
    """

    def __init__(self, depth, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.depth = _checks.positive_int("depth", depth)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = True

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens)
        if not tokens.dtype.is_integer:
            raise ValueError(
                f"Layer '{self.name}' expects integer token ids, received dtype "
                f"{tokens.dtype.name}. Encode text with the run's vocabulary first."
            )
        if tokens.shape.rank != 2:
            raise ValueError(
                f"Layer '{self.name}' expects integer tokens of shape (batch, time), "
                f"received shape {tuple(tokens.shape)}."
            )
        tokens = tf.cast(tokens, tf.int32)
        self._check_range(tokens)
        return tf.one_hot(tokens, self.depth, dtype=self.compute_dtype)

    def _check_range(self, tokens):
        """Ids outside `[0, depth)` raise, as Keras' `Embedding` does (never all-zero rows)."""
        message = (
            f"Layer '{self.name}' received a token id outside [0, {self.depth}); "
            "encode text with the run's vocabulary (or raise `depth`)."
        )
        if tf.executing_eagerly():
            if tf.size(tokens) and (
                tf.reduce_min(tokens) < 0 or tf.reduce_max(tokens) >= self.depth
            ):
                raise ValueError(message)
            return
        # in a graph the check runs with the data (XLA compiles it away: no host round trip)
        tf.debugging.assert_non_negative(tokens, message=message)
        tf.debugging.assert_less(tokens, self.depth, message=message)

    def compute_mask(self, tokens, mask=None):
        if not self.mask_zero:
            return mask
        return keras.ops.not_equal(tokens, 0)

    def compute_output_shape(self, tokens_shape):
        return (*tokens_shape, self.depth)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "mask_zero": self.mask_zero}


def ids_behind(x):
    """The ids `(batch, time)` when the graph built `x` as `tf.one_hot(ids, depth)` (1 on,
    0 off, last axis), as `OneHot` does; else None. Eager tensors have no op: None.

    Then `U x_t` is row `ids_t` of U, and a gather (`rows_of`) replaces the
    `(batch * time, depth) @ U` matmul, whose cost grows with the vocabulary: with 8,000
    words and 128 units it is 60 times the recurrence's own arithmetic (vocabulary / units).
    """
    try:
        op = x.op
    except AttributeError:
        return None
    if op.type != "OneHot" or op.get_attr("axis") != -1:
        return None
    on, off = (tf.get_static_value(value) for value in op.inputs[2:4])
    return op.inputs[0] if (on, off) == (1, 0) else None


@tf.custom_gradient
def rows_of(U, ids):
    """`tf.one_hot(ids, len(U)) @ U` as a gather of U's rows, with that matmul's gradient:
    dense, not `IndexedSlices` (which Keras' Adam would square token by token:
    `steps.dense_gradients`). An id outside `[0, len(U))` is a zero row, as `tf.one_hot`
    makes it (`OneHot` refuses such ids, but not inside XLA, and a `tf.one_hot` of yours
    may pad with -1)."""
    inside = (ids >= 0) & (ids < tf.shape(U, out_type=ids.dtype)[0])
    rows = tf.gather(U, tf.where(inside, ids, 0)) * tf.cast(inside, U.dtype)[..., tf.newaxis]

    def gradient(upstream):  # a negative segment id is dropped: no gradient from a zero row
        outside_dropped = tf.where(inside, ids, -1)
        return tf.math.unsorted_segment_sum(upstream, outside_dropped, tf.shape(U)[0]), None

    return rows, gradient
