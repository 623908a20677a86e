"""Explicit backpropagation through time, in NumPy: the article's derivation as code.

Kept as a verified reference for the Keras layers' gradients (tests compare it
with `tf.GradientTape` and with finite differences). Row vectors, as Keras:
`x_t` `(batch, in)`, `U` `(in, units)` = `kernel`, `W` `(units, units)` =
`recurrent_kernel`, `V` `(units, vocab)` = the head's `kernel`; the article's
`U x_t` is `x_t @ U` here.

Forward:
    (1) s_t = f(U x_t + W s_{t-1} + b)
    (2) o_t = softmax(V s_t + c)
    (3) L = -sum_t log o_t[y_t]
Backward, with `y_t` one-hot:
    (4) dL/d(V s_t + c) = o_t - y_t
    (5) dV = sum_t s_t^T (o_t - y_t),   dc = sum_t (o_t - y_t)
    (6) delta_t = (V^T (o_t - y_t) + W^T delta_{t+1}) * f'(a_t),   delta_{T+1} = 0,
        f'(a_t) = 1 - s_t^2 for tanh, s_t (1 - s_t) for sigmoid
    (7) dW = sum_t s_{t-1}^T delta_t
    (8) dU = sum_t x_t^T delta_t,   db = sum_t delta_t,   dL/ds_0 = W^T delta_1

A bidirectional layer is two such recurrences, the second over `x_T..x_1`,
whose states meet in (2): `o_t = softmax(V_f s_t + V_b s'_t + c)`. Each
direction then runs (6)-(8) on its own share `V_f^T (o_t - y_t)` or
`V_b^T (o_t - y_t)`, the backward one in reversed time.
"""

import numpy as np

ACTIVATIONS = {
    "tanh": (np.tanh, lambda s: 1.0 - s * s),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda s: s * (1.0 - s)),
}


def rnn_states(x, U, W, b, s0, activation="tanh"):
    """Equation (1) for `t = 1..T`: `[s_0, s_1, ..., s_T]`, each `(batch, units)`."""
    f, _ = ACTIVATIONS[activation]
    states = [s0]
    for t in range(x.shape[1]):
        states.append(f(x[:, t] @ U + states[-1] @ W + b))
    return states


def softmax_loss(z, y):
    """Equations (2)-(4) for logits `z` `(batch, time, vocab)`: `(L, dL/dz)`."""
    o = np.exp(z - z.max(-1, keepdims=True))
    o /= o.sum(-1, keepdims=True)
    batch, time = y.shape
    picked = o[np.arange(batch)[:, None], np.arange(time)[None, :], y]
    dz = o.copy()
    dz[np.arange(batch)[:, None], np.arange(time)[None, :], y] -= 1.0
    return -np.log(picked).sum(), dz


def rnn_backward(ds, x, states, W, activation="tanh"):
    """Equations (6)-(8) given `ds` `(batch, time, units)`, the loss's `V^T (o_t - y_t)`.

    Returns `{U, W, b, s0}` gradients.
    """
    _, df = ACTIVATIONS[activation]
    grads = {"U": 0.0, "W": 0.0, "b": 0.0}
    delta_next = np.zeros_like(states[0])
    for t in reversed(range(x.shape[1])):
        delta = (ds[:, t] + delta_next @ W.T) * df(states[t + 1])  # (6)
        grads["W"] = grads["W"] + states[t].T @ delta  # (7)
        grads["U"] = grads["U"] + x[:, t].T @ delta  # (8)
        grads["b"] = grads["b"] + delta.sum(0)
        delta_next = delta
    grads["s0"] = delta_next @ W.T  # (8)
    return grads


def loss_and_gradients(p, x, y, activation="tanh"):
    """Single-layer model. `p` holds `U, W, b, V, c, s0`; returns `(L, grads)`."""
    states = rnn_states(x, p["U"], p["W"], p["b"], p["s0"], activation)
    S = np.stack(states[1:], axis=1)  # (batch, time, units)
    loss, dz = softmax_loss(S @ p["V"] + p["c"], y)
    grads = rnn_backward(dz @ p["V"].T, x, states, p["W"], activation)
    grads["V"] = np.einsum("btu,btv->uv", S, dz)  # (5)
    grads["c"] = dz.sum((0, 1))
    return loss, grads


def bidirectional_loss_and_gradients(fw, bw, V, c, x, y, activation="tanh"):
    """Bidirectional layer (concat) + softmax head. `fw`, `bw` hold `U, W, b, s0`.

    Returns `(L, {"fw": grads, "bw": grads, "V": dV, "c": dc})`.
    """
    units = fw["W"].shape[0]
    states_f = rnn_states(x, fw["U"], fw["W"], fw["b"], fw["s0"], activation)
    x_rev = x[:, ::-1]
    states_b = rnn_states(x_rev, bw["U"], bw["W"], bw["b"], bw["s0"], activation)
    S_f = np.stack(states_f[1:], axis=1)
    S_b = np.stack(states_b[1:], axis=1)[:, ::-1]  # back to input time order
    S = np.concatenate([S_f, S_b], axis=-1)
    loss, dz = softmax_loss(S @ V + c, y)
    ds = dz @ V.T
    grads = {
        "fw": rnn_backward(ds[..., :units], x, states_f, fw["W"], activation),
        "bw": rnn_backward(ds[..., units:][:, ::-1], x_rev, states_b, bw["W"], activation),
        "V": np.einsum("btu,btv->uv", S, dz),
        "c": dz.sum((0, 1)),
    }
    return loss, grads
