"""How far an export's outputs may be from the reference's (NumPy only: the GPU machine,
with no TensorFlow, compares against saved answers with the same rules)."""

import numpy as np

TOLERANCE = 1e-4


class ParityError(RuntimeError):
    """onnxruntime's outputs differ from TensorFlow's by more than the tolerance."""


def difference(expected, got):
    """Max abs difference of one output; its shapes must agree. An empty output (the `keys`
    of an encoder-decoder without attention, `(batch, positions, 0)`) differs by 0."""
    if np.shape(expected) != np.shape(got):
        raise ParityError(f"onnxruntime gave shape {np.shape(got)} where TensorFlow gave "
                          f"{np.shape(expected)}.")  # fmt: skip
    return float(np.max(np.abs(expected - got), initial=0.0))


def worst(diffs):
    """The largest difference; NaN if any is (Python's `max` keeps or drops a NaN by order)."""
    return float(np.max(diffs))
