"""One step of the classic recurrent network: `s_t = f(U x_t + W s_{t-1} + b)`."""

import keras

from rnn_keras.layers import _checks


@keras.saving.register_keras_serializable(package="rnn_keras")
class RNNCell(keras.layers.Layer):
    """One time step `s_t = f(U x_t + W s_{t-1} + b)`, as Keras' `SimpleRNNCell`.

    Weights: `kernel` = U `(input_dim, units)`, `recurrent_kernel` = W
    `(units, units)`, `bias` = b `(units,)`. The output of a step is its state.

    Args:
        units: size of the state `s_t`.
        activation: `f`; any Keras activation name ('tanh', 'sigmoid', 'relu').
        use_bias: whether to add `b`.
        kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as in Keras.
        dropout: fraction of the inputs `x_t` dropped, recurrent_dropout: fraction of
            `s_{t-1}` dropped before `W`; one mask per sequence (Keras' semantics), drawn
            by the `RNN` layer in training; `seed` seeds them. The cell's own `call`
            (one step) applies no dropout, as it cannot know where a sequence starts.

    Call: `cell(x_t, [s_prev])` with `x_t` `(batch, input_dim)` returns
    `(s_t, [s_t])`.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dropout = _checks.rate("dropout", dropout)
        self.recurrent_dropout = _checks.rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        if self.dropout or self.recurrent_dropout:
            # its state is a variable of the layer: checkpoints carry it, so a resumed
            # run draws the same masks as an uninterrupted one
            self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")
        self.units = _checks.positive_int("units", units)
        self.activation, self.activation_name = _checks.activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known last input dimension "
                f"(features), received input shape {tuple(input_shape)}."
            )
        self.kernel = self._weight("kernel", (input_dim, self.units), "kernel")
        self.recurrent_kernel = self._weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self._weight("bias", (self.units,), "bias") if self.use_bias else None

    def _weight(self, name, shape, kind):
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=getattr(self, f"{kind}_initializer"),
            regularizer=getattr(self, f"{kind}_regularizer"),
            constraint=getattr(self, f"{kind}_constraint"),
        )

    def call(self, inputs, states, training=None):
        s_prev = states[0] if isinstance(states, (list, tuple)) else states
        a = keras.ops.matmul(inputs, self.kernel)  # (batch, units): U x_t
        a = a + keras.ops.matmul(s_prev, self.recurrent_kernel)  # + W s_{t-1}
        if self.bias is not None:
            a = a + self.bias
        s = self.activation(a)
        return s, [s]

    def dropout_masks(self, x0, s0):
        """One mask per sequence: `(keep_x (batch, features), keep_s (batch, units))`.

        Drawn as Keras' `SimpleRNNCell` draws them (inputs first, then the state, from
        the same seed generator; kept units scaled by `1 / (1 - rate)`); `None` where
        the rate is 0.
        """
        draw = lambda like, rate: (  # noqa: E731
            keras.random.dropout(keras.ops.ones_like(like), rate, seed=self.seed_generator)
            if rate
            else None
        )
        return draw(x0, self.dropout), draw(s0, self.recurrent_dropout)

    def get_initial_state(self, batch_size=None):
        return [keras.ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            **{
                f"{k}_{part}": ser(getattr(self, f"{k}_{part}"))
                for k in ("kernel", "recurrent", "bias")
                for part in ("initializer", "regularizer", "constraint")
            },
        }
