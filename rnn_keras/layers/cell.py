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
        **kwargs,
    ):
        super().__init__(**kwargs)
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

    def get_initial_state(self, batch_size=None):
        return [keras.ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **{
                f"{k}_{part}": ser(getattr(self, f"{k}_{part}"))
                for k in ("kernel", "recurrent", "bias")
                for part in ("initializer", "regularizer", "constraint")
            },
        }
