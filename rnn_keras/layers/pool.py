"""Many-to-one readout: one vector per sequence from the states `s_t` of its real steps.

The article notes that some tasks need no per-step output `o_t`, only one at
the end. Which summary of the states to read is a choice, measured per task:

- `last`: the final state, the article's "only the final output". For a
  bidirectional encoder the forward direction ends at the last real step, the
  backward one at step 0, so `last` joins the forward state at the last real
  step with the backward state at position 0 (the backward direction's summary
  of the whole sequence).
- `mean` / `max`: over the real (unmasked) steps.
- `max_mean`: both, joined: the max keeps each unit's strongest evidence, the mean passes
  gradient to every step (the max alone reaches one step per unit). Neither readout frees
  a deep encoder whose top layer saturates; what made it saturate was `W`'s gain (see
  `--recurrent-gain` and the README's classification results).
"""

import keras
from keras import ops

MODES = ("last", "mean", "max", "max_mean")


@keras.saving.register_keras_serializable(package="rnn_keras")
class SequencePool(keras.layers.Layer):
    """`(batch, time, features)` + mask `(batch, time)` -> `(batch, features)`.

    Sequences are right-padded (real steps first), as the tasks batch them.

    Args:
        mode: 'last', 'mean' or 'max'.
        backward_units: the trailing features that come from a backward direction
            (read at position 0 in `last` mode); 0 for a unidirectional encoder.
    """

    def __init__(self, mode="mean", backward_units=0, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}, got {mode!r}.")
        if not isinstance(backward_units, int) or backward_units < 0:
            raise ValueError(f"`backward_units` must be an int >= 0, got {backward_units!r}.")
        self.mode, self.backward_units = mode, backward_units
        self.supports_masking = True

    def call(self, x, mask=None):  # x: (batch, time, features)
        real = ops.ones(ops.shape(x)[:2], x.dtype) if mask is None else ops.cast(mask, x.dtype)
        count = ops.sum(real, axis=1, keepdims=True)  # (batch, 1)
        mean = lambda: ops.sum(x * real[..., None], axis=1) / ops.maximum(count, 1.0)  # noqa: E731
        if self.mode == "mean":
            return mean()
        if self.mode in ("max", "max_mean"):
            lowest = ops.where(real[..., None] > 0, x, ops.full_like(x, -3.0e38))
            top = ops.where(count > 0, ops.max(lowest, axis=1), 0.0)
            return top if self.mode == "max" else ops.concatenate([top, mean()], axis=-1)
        last = ops.maximum(ops.cast(count, "int32") - 1, 0)  # (batch, 1): last real step
        forward = ops.take_along_axis(x, last[..., None], axis=1)[:, 0]  # (batch, features)
        if not self.backward_units:
            return forward
        split = ops.shape(x)[-1] - self.backward_units
        return ops.concatenate([forward[:, :split], x[:, 0, split:]], axis=-1)

    def compute_mask(self, x, mask=None):
        return None  # one vector per sequence: nothing left to mask

    def compute_output_shape(self, input_shape):
        features = input_shape[2]
        if self.mode == "max_mean" and features is not None:
            features *= 2
        return (input_shape[0], features)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "backward_units": self.backward_units}
