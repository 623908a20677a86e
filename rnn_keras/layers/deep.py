"""A stack of bidirectional layers: layer i+1 reads both directions of layer i."""

import keras

from rnn_keras.layers import _checks
from rnn_keras.layers.bidirectional import Bidirectional, check_merge_mode
from rnn_keras.layers.dropout import Dropout
from rnn_keras.layers.sequence import RNN


def _units_per_layer(units, num_layers):
    """One size per layer; a list of sizes and a `num_layers` that disagree are refused."""
    if isinstance(units, (list, tuple)):
        if not units:
            raise ValueError("Received an invalid value for argument `units`: an empty list.")
        if num_layers is not None and num_layers != len(units):
            raise ValueError(
                f"`units` gives {len(units)} layer sizes but `num_layers={num_layers}`; "
                "leave `num_layers` out (a list sets the count) or make them agree."
            )
        return [_checks.positive_int("units", u) for u in units]
    num_layers = 2 if num_layers is None else num_layers
    return [_checks.positive_int("units", units)] * _checks.positive_int("num_layers", num_layers)


@keras.saving.register_keras_serializable(package="rnn_keras")
class DeepBidirectional(keras.layers.Layer):
    """Deep bidirectional RNN: `num_layers` `Bidirectional(RNN)` layers stacked.

    Layer `i` computes forward and backward states from the merged output of
    layer `i-1` (`s^{(i)}_t = f(U^{(i)} [s^{(i-1)}_t; s'^{(i-1)}_t] + W^{(i)}
    s^{(i)}_{t-1} + b^{(i)})`, and the same backwards). Every layer but the top
    returns sequences; masks pass through every layer.

    Args:
        units: an int, or one int per layer.
        num_layers: number of bidirectional layers (default 2; a list of `units` sets it).
        merge_mode: how each layer merges its directions (see `Bidirectional`;
            `None` is not allowed here, the next layer needs one tensor).
        dropout: dropout rate on the merged outputs between layers (training only).
        return_sequences: whether the top layer returns every step.
        activation: `f` for every layer.
        recurrent_initializer: every layer's `W` initializer (default orthogonal).

    The layers are `.layers`, in order.
    """

    def __init__(
        self,
        units,
        num_layers=None,
        merge_mode="concat",
        dropout=0.0,
        return_sequences=True,
        activation="tanh",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = _units_per_layer(units, num_layers)
        num_layers = len(units)
        if check_merge_mode(merge_mode) is None:
            raise ValueError(
                "`merge_mode=None` cannot feed the next layer; use 'concat', 'sum', 'ave' or 'mul'."
            )
        self.units = units
        self.num_layers = num_layers
        self.merge_mode = merge_mode
        self.dropout = _checks.rate("dropout", dropout)
        self.return_sequences = bool(return_sequences)
        self.activation = activation
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self._stack = [
            Bidirectional(
                RNN(
                    u,
                    activation=activation,
                    # a copy per layer: one unseeded initializer called twice in Keras 3
                    # returns the same values
                    recurrent_initializer=keras.initializers.deserialize(
                        keras.initializers.serialize(self.recurrent_initializer)
                    ),
                    name=f"rnn_{i}",
                    return_sequences=(i < num_layers - 1 or self.return_sequences),
                ),
                merge_mode=merge_mode,
                name=f"bidirectional_{i}",
            )
            for i, u in enumerate(units)
        ]
        self._dropout = Dropout(self.dropout) if self.dropout else None
        self.supports_masking = True

    @property
    def layers(self):
        """The `Bidirectional` layers, bottom first."""
        return list(self._stack)

    def build(self, sequences_shape):
        shape = tuple(sequences_shape)
        for layer in self._stack:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, sequences, mask=None, training=None):
        x = sequences
        for i, layer in enumerate(self._stack):
            if i and self._dropout is not None:
                x = self._dropout(x, training=training)
            x = layer(x, mask=mask)
        return x

    def compute_mask(self, sequences, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, sequences_shape):
        shape = tuple(sequences_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            "units": list(self.units),
            "num_layers": self.num_layers,
            "merge_mode": self.merge_mode,
            "dropout": self.dropout,
            "return_sequences": self.return_sequences,
            "activation": self.activation,
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
        }
