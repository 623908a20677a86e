"""The sequence layer: the cell's equation looped over time, like Keras' `SimpleRNN`."""

import keras
import tensorflow as tf

from rnn_keras import recurrence
from rnn_keras.layers import _checks
from rnn_keras.layers.cell import RNNCell
from rnn_keras.layers.onehot import ids_behind, rows_of

_CELL_ARGS = (
    "units",
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


@keras.saving.register_keras_serializable(package="rnn_keras")
class RNN(keras.layers.Layer):
    """`s_t = f(U x_t + W s_{t-1} + b)` for `t = 1..T`, one `RNNCell` looped over time.

    The weights live once, in `.cell`: `kernel` = U, `recurrent_kernel` = W,
    `bias` = b. `U x_t + b` is one matmul over all steps before the loop (inside a
    `tf.function`, for `OneHot`'s `x_t`, a gather of U's rows); the loop
    (`rnn_keras.recurrence`) is a `tf.while_loop`.

    Args:
        units, activation, use_bias, *_initializer, *_regularizer,
        *_constraint: passed to the `RNNCell`.
        return_sequences: return every `s_t` `(batch, time, units)` instead of
            the last one `(batch, units)`.
        return_state: also return the final state `(batch, units)`.
        go_backwards: process `x_T..x_1`; outputs then come in that reversed
            order, as in Keras.
        zero_output_for_mask: output zeros at padded steps instead of the
            carried state (Keras' `Bidirectional` turns this on).
        fused_gradient: use the fused BPTT gradient (see `rnn_keras.recurrence`);
            same numbers as autodiff, fewer ops (also with recurrent dropout).
        dropout, recurrent_dropout, seed: passed to the cell; in training one mask per
            sequence on `x_t` and on `s_{t-1}` (as Keras' `SimpleRNN`).
        stateful: the final state of each batch is the initial state of the next
            (row i continues row i); needs a fixed batch size; `reset_states()` zeros it.
        unroll: only `False`; the loop is a `tf.while_loop` that XLA compiles, and an
            unrolled graph of T copies would only cost compile time and memory.

    Call args:
        sequences: `(batch, time, features)`.
        initial_state: `(batch, units)` or a list holding it; zeros by default.
        mask: bool `(batch, time)`, `False` at padding; padded steps keep the
            state. Taken from `Embedding(mask_zero=True)` automatically.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        zero_output_for_mask=False,
        fused_gradient=True,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell_kwargs = {k: kwargs.pop(k) for k in _CELL_ARGS if k in kwargs}
        super().__init__(**kwargs)
        if unroll:
            raise ValueError(
                "Received unroll=True, which rnn_keras.RNN does not support: its loop is a "
                "tf.while_loop (unknown time, XLA-compiled) and unrolling would copy the step "
                "T times for no gain on CPU. Use unroll=False."
            )
        self.cell = RNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            name="cell",
            dtype=self.dtype_policy,  # float64 / mixed precision reach the weights too
            **cell_kwargs,
        )
        self.units = self.cell.units
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.fused_gradient = bool(fused_gradient)
        self.stateful = bool(stateful)
        self.unroll = False
        self.states = None
        self.supports_masking = True

    def __getattr__(self, name):
        # SimpleRNN's read-only attributes (activation, use_bias, initializers, dropout...)
        # are the cell's; only names the cell takes as arguments are forwarded
        if name in _CELL_ARGS and name != "units" and "cell" in self.__dict__:
            return getattr(self.cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def build(self, sequences_shape, initial_state_shape=None):
        _checks.sequence_rank(self.name, sequences_shape)
        self.cell.build(sequences_shape)
        self.input_spec = keras.InputSpec(ndim=3, axes={-1: sequences_shape[-1]})
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    f"Layer '{self.name}' is stateful, so it needs a fixed batch size: "
                    "give the input one, e.g. keras.Input((time, features), batch_size=32)."
                )
            # a variable, but not a weight (as in Keras): get_weights() stays U, W, b, and
            # weights copy to and from SimpleRNN; plain setattr skips Keras' tracking
            object.__setattr__(
                self,
                "states",
                [
                    keras.Variable(
                        keras.ops.zeros((sequences_shape[0], self.units)),
                        trainable=False,
                        dtype=self.variable_dtype,
                        name="state",
                    )
                ],
            )

    def reset_states(self):
        """Zero the carried state of a stateful layer (Keras' `reset_states`)."""
        for state in self.states or []:
            state.assign(keras.ops.zeros_like(state))

    reset_state = reset_states

    def get_initial_state(self, batch_size):
        """`[s_0]`, zeros `(batch_size, units)`: what a call without `initial_state` starts
        from (Keras' `RNN.get_initial_state`)."""
        return self.cell.get_initial_state(batch_size)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if initial_state is None and self.stateful:
            initial_state = self.states[0]
        keep_x = keep_s = None
        if training and (self.cell.dropout or self.cell.recurrent_dropout):
            x = tf.convert_to_tensor(sequences)
            keep_x, keep_s = self.cell.dropout_masks(
                tf.cast(x[:, 0, :], self.compute_dtype),
                tf.zeros(tf.stack([tf.shape(x)[0], self.units]), self.compute_dtype),
            )
        xw, W, s0, mask = self.prepare(sequences, initial_state, mask, keep_x)
        outputs, s_last = recurrence.recurrence(
            xw,
            W,
            s0,
            mask,
            self.cell.activation,
            self.cell.activation_name,
            self.zero_output_for_mask,
            self.fused_gradient,
            keep_s,
        )
        if self.stateful:
            self.states[0].assign(tf.cast(s_last, self.states[0].dtype))
        return self.finish(outputs, s_last, mask)

    def prepare(self, sequences, initial_state=None, mask=None, keep_x=None):
        """The loop's inputs: `xw` `(time, batch, units)` in processing order, W, s0, mask.

        `keep_x` `(batch, features)`: the input dropout mask, the same at every step.
        """
        # rank and feature count are checked by `build` and the input spec it sets
        x = _checks.numeric(self.name, tf.convert_to_tensor(sequences))
        x = tf.cast(x, self.compute_dtype)
        if keep_x is not None:
            x = x * keep_x[:, tf.newaxis, :]  # (batch, time, features)
        ids = ids_behind(x)  # one-hot x_t (not times a dropout mask): rows of U
        xw = self._project(tf.transpose(x, [1, 0, 2]), None if ids is None else tf.transpose(ids))
        s0 = self._initial_state(initial_state, x)
        if mask is not None:
            mask = self._time_major_mask(mask, x)
        if self.go_backwards:
            xw = tf.reverse(xw, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        W = tf.cast(tf.convert_to_tensor(self.cell.recurrent_kernel), self.compute_dtype)
        return xw, W, s0, mask

    def finish(self, outputs, s_last, mask):
        """The layer's output(s) from the loop's time-major outputs and final state."""
        if self.return_sequences:
            output = tf.transpose(outputs, [1, 0, 2])  # (batch, time, units)
        elif self.zero_output_for_mask and mask is not None:
            output = outputs[-1]
        else:
            output = s_last  # the carried state is the last output
        return (output, s_last) if self.return_state else output

    def _project(self, x_tm, ids_tm=None):
        """`U x_t + b` for every step: `(time, batch, units)`. One matmul, or for one-hot
        `x_t` whose ids `(time, batch)` are known, the rows of U they select."""
        U = tf.cast(tf.convert_to_tensor(self.cell.kernel), x_tm.dtype)
        if ids_tm is not None:
            xw = rows_of(U, ids_tm)
        else:
            flat = tf.reshape(x_tm, [-1, x_tm.shape[-1]])
            xw = tf.reshape(tf.matmul(flat, U), tf.concat([tf.shape(x_tm)[:2], [self.units]], 0))
        if self.cell.bias is not None:
            xw = tf.nn.bias_add(xw, tf.cast(self.cell.bias, x_tm.dtype))
        return xw

    def _initial_state(self, initial_state, x):
        if initial_state is None:
            return tf.zeros(tf.stack([tf.shape(x)[0], self.units]), self.compute_dtype)
        if isinstance(initial_state, (list, tuple)):
            if len(initial_state) != 1:
                raise ValueError(
                    f"Layer '{self.name}' has one state; received "
                    f"{len(initial_state)} initial states."
                )
            initial_state = initial_state[0]
        s0 = tf.cast(tf.convert_to_tensor(initial_state), self.compute_dtype)
        expected = (x.shape[0], self.units)
        if s0.shape.rank != 2 or not s0.shape.is_compatible_with(expected):
            raise ValueError(
                f"Layer '{self.name}' expects `initial_state` of shape "
                f"(batch, units) = {expected}, received shape {tuple(s0.shape)}."
            )
        return s0

    def _time_major_mask(self, mask, x):
        mask = tf.convert_to_tensor(mask)
        if mask.shape.rank != 2 or not mask.shape.is_compatible_with(x.shape[:2]):
            raise ValueError(
                f"Layer '{self.name}' expects a `mask` of shape (batch, time) = "
                f"{tuple(x.shape[:2])}, received shape {tuple(mask.shape)}."
            )
        return tf.transpose(tf.cast(mask, tf.bool), [1, 0])  # (time, batch)

    def compute_mask(self, sequences, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        if self.return_sequences and mask is not None and self.go_backwards:
            out_mask = keras.ops.flip(mask, axis=1)  # outputs come reversed
        return [out_mask, None] if self.return_state else out_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, time = sequences_shape[0], sequences_shape[1]
        out = (batch, time, self.units) if self.return_sequences else (batch, self.units)
        return (out, (batch, self.units)) if self.return_state else out

    def get_config(self):
        cell_config = self.cell.get_config()
        return {
            **super().get_config(),
            **{k: cell_config[k] for k in _CELL_ARGS},
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "zero_output_for_mask": self.zero_output_for_mask,
            "fused_gradient": self.fused_gradient,
            "stateful": self.stateful,
            "unroll": self.unroll,
        }
