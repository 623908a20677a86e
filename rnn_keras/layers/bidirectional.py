"""Bidirectional wrapper: a forward and a backward `RNN` over the same sequence."""

import keras
import tensorflow as tf

from rnn_keras.layers.sequence import RNN

MERGE_MODES = ("concat", "sum", "ave", "mul", None)


def merge(y_fw, y_bw, mode):
    """Merge the two directions as Keras' `Bidirectional` does."""
    if mode == "concat":
        return tf.concat([y_fw, y_bw], axis=-1)
    if mode == "sum":
        return y_fw + y_bw
    if mode == "ave":
        return (y_fw + y_bw) / 2
    if mode == "mul":
        return y_fw * y_bw
    return [y_fw, y_bw]


def check_merge_mode(merge_mode):
    if merge_mode not in MERGE_MODES:
        raise ValueError(
            f"Received an invalid value for argument `merge_mode`: {merge_mode!r}. "
            f"Expected one of {MERGE_MODES}."
        )
    return merge_mode


@keras.saving.register_keras_serializable(package="rnn_keras")
class Bidirectional(keras.layers.Layer):
    """A forward recurrence over `x_1..x_T` and a backward one over `x_T..x_1`.

    `s_t = f(U x_t + W s_{t-1} + b)` forwards and
    `s'_t = f(U' x_t + W' s'_{t+1} + b')` backwards, each an `RNN` with its own
    weights (`forward_layer.cell.kernel` = U, `backward_layer.cell.kernel` = U',
    ...). The backward outputs are flipped back to input time order, then
    merged. With a right-padded, masked batch the backward direction starts at
    each sequence's own last real element (padded steps keep the state).

    Args:
        layer: an `RNN`; both directions are rebuilt from its config.
        backward_layer: optional `RNN` for the backward direction (its own settings,
            e.g. another activation); it must have `go_backwards=True` and the same
            `return_sequences`, `return_state` and `stateful` as `layer`.
        merge_mode: 'concat' (default), 'sum', 'ave', 'mul', or None for a list
            `[forward, backward]`.

    Call args: as `RNN`; `initial_state` is `[s0_forward, s0_backward]`. With
    `return_state` the output is followed by the forward and backward final
    states.
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("layer", layer), ("backward_layer", backward_layer)):
            if not isinstance(value, RNN) and (value is not None or name == "layer"):
                raise ValueError(
                    f"Received an invalid value for argument `{name}`: expected an "
                    f"`rnn_keras.RNN`, got {type(value).__name__}."
                )
        self.merge_mode = check_merge_mode(merge_mode)
        config = layer.get_config()
        # Keras' Bidirectional forces zero outputs at padding when returning
        # sequences, so padding never leaks into the merged output.
        zero = config["return_sequences"]
        self.forward_layer = RNN.from_config(
            {
                **config,
                "name": f"forward_{layer.name}",
                "go_backwards": False,
                "zero_output_for_mask": zero,
            }
        )
        if backward_layer is None:
            backward = {**config, "name": f"backward_{layer.name}", "go_backwards": True}
        else:
            backward = {**backward_layer.get_config(), "name": f"backward_{backward_layer.name}"}
            _check_backward(config, backward)
        self.backward_layer = RNN.from_config({**backward, "zero_output_for_mask": zero})
        self._custom_backward = backward_layer is not None
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self.supports_masking = True

    def reset_states(self):
        """Zero both directions' carried states (stateful layers)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def build(self, sequences_shape, initial_state_shape=None):
        self.forward_layer.build(sequences_shape)
        self.backward_layer.build(sequences_shape)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fw_state = bw_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2:
                raise ValueError(
                    f"Layer '{self.name}' expects `initial_state` as a list "
                    "[forward_state, backward_state]."
                )
            fw_state, bw_state = initial_state
        y_fw = self.forward_layer(sequences, initial_state=fw_state, mask=mask, training=training)
        y_bw = self.backward_layer(sequences, initial_state=bw_state, mask=mask, training=training)
        states = []
        if self.return_state:
            (y_fw, s_fw), (y_bw, s_bw) = y_fw, y_bw
            states = [s_fw, s_bw]
        if self.return_sequences:
            y_bw = tf.reverse(y_bw, [1])  # back to input time order
        # as Keras: the wrapper's own dtype policy (e.g. mixed_float16) sets the output's
        y_fw, y_bw = tf.cast(y_fw, self.compute_dtype), tf.cast(y_bw, self.compute_dtype)
        output = merge(y_fw, y_bw, self.merge_mode)
        if not self.return_state:
            return output
        return (*output, *states) if self.merge_mode is None else (output, *states)

    def compute_mask(self, sequences, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            out_mask = [out_mask, out_mask]
        if self.return_state:
            out_mask = ([*out_mask] if self.merge_mode is None else [out_mask]) + [None, None]
        return out_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        state = None
        if self.return_state:
            shape, state = shape
        if self.merge_mode == "concat":
            shape = (*shape[:-1], 2 * shape[-1])
        outputs = [shape, shape] if self.merge_mode is None else [shape]
        if self.return_state:
            outputs += [state, state]
        return tuple(outputs) if len(outputs) > 1 else outputs[0]

    def get_config(self):
        layer = keras.saving.serialize_keras_object(self.forward_layer)
        layer.pop("build_config", None)  # the wrapper's own build rebuilds it
        layer["config"]["name"] = self.forward_layer.name.removeprefix("forward_")
        layer["config"]["zero_output_for_mask"] = False
        config = {**super().get_config(), "layer": layer, "merge_mode": self.merge_mode}
        if self._custom_backward:
            backward = keras.saving.serialize_keras_object(self.backward_layer)
            backward.pop("build_config", None)
            backward["config"]["name"] = self.backward_layer.name.removeprefix("backward_")
            backward["config"]["zero_output_for_mask"] = False
            config["backward_layer"] = backward
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("layer", "backward_layer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _check_backward(forward, backward):
    """Keras' rule: the backward layer runs the other way and returns the same things."""
    if not backward["go_backwards"]:
        raise ValueError(
            "Received `backward_layer` with go_backwards=False; the backward direction "
            "needs go_backwards=True (and `layer` go_backwards=False)."
        )
    for key in ("return_sequences", "return_state", "stateful"):
        if forward[key] != backward[key]:
            raise ValueError(
                f"`layer` and `backward_layer` must agree on `{key}`: got "
                f"{forward[key]} and {backward[key]}."
            )
