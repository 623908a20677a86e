"""The time loop of `s_t = f(U x_t + W s_{t-1} + b)`, shared by every layer.

The input projection `U x_t + b` is computed for all steps before the loop (one
matmul, see `rnn_keras.layers.sequence`), so the loop below only adds
`W s_{t-1}` and applies `f`. It is a symbolic `tf.while_loop`: unknown batch and
time work inside `tf.function`, and XLA compiles it.

Two gradients are offered for the same forward:
- autodiff through the while loop (TensorFlow's own BPTT), and
- a fused BPTT gradient (`tf.custom_gradient`): the backward loop computes only
  `delta_t = (g_t + W^T delta_{t+1}) * f'(s_t)` and then `dW = S_prev^T Delta`
  and `d(U x + b) = Delta` are single matmuls over all time steps, instead of
  one small outer product per step. It needs `f'` written in terms of `f`'s
  output, so it is used for tanh, sigmoid, relu and linear only.

Recurrent dropout (Gal & Ghahramani; Keras' `recurrent_dropout`) multiplies `s_{t-1}`
by one mask `r` per sequence before `W`: `s_t = f(U x_t + W (r * s_{t-1}) + b)`. The fused
gradient carries it exactly: `delta_t W^T` is multiplied by `r` on its way to `s_{t-1}`,
and `dW = (r * S_prev)^T Delta`.

Masked steps (`m_t = 0`) keep the state: `s_t = s_{t-1}`. The output at such a
step is either the carried state (Keras' default) or zero
(`zero_output_for_mask=True`, which Keras' `Bidirectional` forces on).
"""

import tensorflow as tf

# f'(a) written with s = f(a), so the backward pass needs only the stored states.
_DERIVATIVE_FROM_OUTPUT = {
    "tanh": lambda s: 1.0 - s * s,
    "sigmoid": lambda s: s * (1.0 - s),
    "relu": lambda s: tf.cast(s > 0, s.dtype),
    "linear": tf.ones_like,
}


def supports_fused(activation_name):
    """Whether the fused BPTT gradient knows `f'` for this activation."""
    return activation_name in _DERIVATIVE_FROM_OUTPUT


def _forward_loop(xw, W, s0, mask, activation, keep=None):
    """Run the recurrence over time-major `xw` `(time, batch, units)`.

    `mask` is `None` or a bool `(time, batch, 1)`; `keep` is `None` or the recurrent
    dropout mask `(batch, units)` (already scaled by `1 / (1 - rate)`). Returns the carried states
    `S` `(time, batch, units)` and the final state `(batch, units)`.
    """
    steps = tf.shape(xw)[0]
    xs = tf.TensorArray(xw.dtype, size=steps, element_shape=s0.shape).unstack(xw)
    ms = None
    if mask is not None:
        ms = tf.TensorArray(tf.bool, size=steps).unstack(mask)
    out = tf.TensorArray(xw.dtype, size=steps, element_shape=s0.shape)

    def body(t, s, out):
        h = activation(xs.read(t) + tf.matmul(s if keep is None else s * keep, W))
        if ms is not None:
            h = tf.where(ms.read(t), h, s)  # a padded step keeps the state
        return t + 1, h, out.write(t, h)

    _, s_last, out = tf.while_loop(lambda t, s, out: t < steps, body, (tf.constant(0), s0, out))
    return out.stack(), s_last


def _backward_loop(G, D, W, carry, mask_f, drop=None):
    """Fused BPTT: `delta_t = (g_t + carry_t) * f'(s_t)`, carry to `t-1` via `W^T`.

    `G` `(time, batch, units)` is dL/dS from the outputs, `D` the stored
    `f'(s_t)` (already multiplied by the mask), `carry` dL/ds_T. A masked step
    passes its whole gradient straight to `s_{t-1}` (the state was copied). `drop` is
    the recurrent dropout mask: `s_{t-1}` reached `W` only through `drop * s_{t-1}`.
    """
    steps = tf.shape(G)[0]
    gs = tf.TensorArray(G.dtype, size=steps, element_shape=carry.shape).unstack(G)
    ds = tf.TensorArray(G.dtype, size=steps, element_shape=carry.shape).unstack(D)
    keep = None
    if mask_f is not None:
        keep = tf.TensorArray(G.dtype, size=steps).unstack(1.0 - mask_f)
    deltas = tf.TensorArray(G.dtype, size=steps, element_shape=carry.shape)

    def body(t, carry, deltas):
        d_s = gs.read(t) + carry  # (batch, units): dL/ds_t
        delta = d_s * ds.read(t)  # dL/da_t, a_t = U x_t + W s_{t-1} + b
        carry = tf.matmul(delta, W, transpose_b=True)
        if drop is not None:
            carry *= drop
        if keep is not None:
            carry += keep.read(t) * d_s
        return t - 1, carry, deltas.write(t, delta)

    _, carry, deltas = tf.while_loop(lambda t, c, d: t >= 0, body, (steps - 1, carry, deltas))
    return deltas.stack(), carry


def _outputs(S, mask_f, zero_output):
    return S * mask_f if (zero_output and mask_f is not None) else S


def _fused(xw, W, s0, mask, activation, activation_name, zero_output, keep):
    derivative = _DERIVATIVE_FROM_OUTPUT[activation_name]
    mask_f = None if mask is None else tf.cast(mask, xw.dtype)

    @tf.custom_gradient
    def run(xw, W, s0):
        S, s_last = _forward_loop(xw, W, s0, mask, activation, keep)

        def grad(dY, ds_last):
            dY = tf.zeros_like(S) if dY is None else dY
            ds_last = tf.zeros_like(s_last) if ds_last is None else ds_last
            D = derivative(S)  # (time, batch, units)
            if mask_f is not None:
                D *= mask_f  # no gradient flows into a padded step's f
            G = _outputs(dY, mask_f, zero_output)
            Delta, ds0 = _backward_loop(G, D, W, ds_last, mask_f, keep)
            S_prev = tf.concat([s0[tf.newaxis], S], axis=0)[:-1]  # s_0..s_{T-1}, also T=0
            if keep is not None:
                S_prev *= keep  # what W actually multiplied
            dW = tf.tensordot(S_prev, Delta, axes=[[0, 1], [0, 1]])  # (units, units)
            return Delta, dW, ds0

        return (_outputs(S, mask_f, zero_output), s_last), grad

    return run(xw, W, s0)


def recurrence(
    xw,
    W,
    s0,
    mask=None,
    activation=tf.tanh,
    activation_name="tanh",
    zero_output_for_mask=False,
    fused=True,
    recurrent_keep=None,
):
    """Loop `s_t = f(xw_t + W s_{t-1})` over time-major inputs.

    Args:
        xw: `(time, batch, units)`, the projected inputs `U x_t + b`, in the
            order they are to be processed (already reversed for a backward layer).
        W: `(units, units)`, the recurrent kernel.
        s0: `(batch, units)`, the initial state.
        mask: `None` or bool `(time, batch)`; `False` marks padding.
        activation: the callable `f`; `activation_name` its Keras name.
        zero_output_for_mask: output zeros (not the carried state) at padding.
        fused: use the fused BPTT gradient when `f'` is known.
        recurrent_keep: `None` or the recurrent dropout mask `(batch, units)`, one per
            sequence, scaled by `1 / (1 - rate)`; it is a constant (no gradient).

    Returns:
        `(outputs, final_state)`: `(time, batch, units)` and `(batch, units)`.
    """
    if mask is not None:
        mask = tf.cast(mask, tf.bool)[..., tf.newaxis]  # (time, batch, 1)
    if fused and supports_fused(activation_name):
        return _fused(
            xw, W, s0, mask, activation, activation_name, zero_output_for_mask, recurrent_keep
        )
    S, s_last = _forward_loop(xw, W, s0, mask, activation, recurrent_keep)
    mask_f = None if mask is None else tf.cast(mask, xw.dtype)
    return _outputs(S, mask_f, zero_output_for_mask), s_last
