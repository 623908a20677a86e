"""The model's equations in plain NumPy, written independently of the layers."""

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0.0),
}


def rnn_forward(
    x,
    U,
    W,
    b=None,
    s0=None,
    activation="tanh",
    mask=None,
    go_backwards=False,
    zero_output_for_mask=False,
):
    """`s_t = f(U x_t + W s_{t-1} + b)` step by step; x `(batch, time, features)`.

    Returns `(outputs (batch, time, units), final_state (batch, units))`, the
    outputs in processing order (reversed when `go_backwards`), like Keras.
    """
    f = ACTIVATIONS[activation]
    batch, time, _ = x.shape
    units = W.shape[0]
    s = np.zeros((batch, units), x.dtype) if s0 is None else s0.copy()
    m = np.ones((batch, time), bool) if mask is None else np.asarray(mask, bool)
    order = range(time - 1, -1, -1) if go_backwards else range(time)
    outputs = []
    for t in order:
        a = x[:, t] @ U + s @ W + (0.0 if b is None else b)
        s_new = f(a)
        keep = m[:, t][:, None]
        s = np.where(keep, s_new, s)
        outputs.append(np.where(keep, s, 0.0) if zero_output_for_mask else s)
    return np.stack(outputs, axis=1), s


def bidirectional_forward(x, fw, bw, merge_mode="concat", mask=None, activation="tanh"):
    """fw, bw: `(U, W, b)`. Returns merged sequences `(batch, time, ...)`."""
    y_fw, _ = rnn_forward(
        x, *fw, activation=activation, mask=mask, zero_output_for_mask=mask is not None
    )
    y_bw, _ = rnn_forward(
        x,
        *bw,
        activation=activation,
        mask=mask,
        go_backwards=True,
        zero_output_for_mask=mask is not None,
    )
    y_bw = y_bw[:, ::-1]
    return {
        "concat": lambda: np.concatenate([y_fw, y_bw], -1),
        "sum": lambda: y_fw + y_bw,
        "ave": lambda: (y_fw + y_bw) / 2,
        "mul": lambda: y_fw * y_bw,
    }[merge_mode]()
