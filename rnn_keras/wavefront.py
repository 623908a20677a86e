"""A stack of L recurrent layers run as a wavefront: one loop for all of them.

Layer by layer, a stack of L layers is L loops of T small dependent matmuls each. But
layer l at time t needs only layer l-1 at time t and itself at t-1, so in iteration k
layer l can take time `t = k - l`: every layer advances in the same iteration, L-1
iterations more (T + L - 1 in all), and the L matmuls of one iteration do not depend on
each other. TensorFlow's executor runs them on different cores at once (2 cores: 1.5x
on the stack's forward and backward here); each `U_l s^{l-1}_t` moves into the loop.

    forward, iteration k:  s^l_t = f(U_l s^{l-1}_t + W_l s^l_{t-1} + b_l),  t = k - l
    backward, iteration j: delta^l_t = (g^l_t + W_l^T delta^l_{t+1} + U_{l+1}^T delta^{l+1}_t)
                                       * f'(s^l_t),  t = T - 1 - j + (L - 1 - l)

(`g^l_t` is dL/ds^l_t from outside: the top layer's outputs only.) A layer outside its
T iterations keeps its state (forward) and its carried gradient (backward). After the
loops, `dW_l`, `dU_l`, `db_l` are single matmuls over all steps, as in the fused
gradient of `rnn_keras.recurrence`. The same equations; only the order of work differs.
"""

import tensorflow as tf

from rnn_keras.recurrence import DERIVATIVE_FROM_OUTPUT


def _ta(dtype, size, width):
    return tf.TensorArray(dtype, size=size, element_shape=(None, width))


def _steps(X):
    """`X` `(time, batch, width)` to read by time; a clipped index reads a step twice."""
    return tf.TensorArray(X.dtype, size=tf.shape(X)[0], element_shape=(None, X.shape[-1]),
                          clear_after_read=False).unstack(X)  # fmt: skip


def _forward(xw, Ws, Us, bs, s0s, f):
    """States of every layer `[(T, batch, units_l)]` and their final states."""
    T, L = tf.shape(xw)[0], len(Ws)
    xs = _steps(xw)
    outs = [_ta(xw.dtype, T + L - 1, W.shape[0]) for W in Ws]

    def body(k, states, outs):
        new = []
        for i, (W, s) in enumerate(zip(Ws, states)):
            if i == 0:  # U_0 x_t + b_0 was projected before the loop, for every t
                a = xs.read(tf.clip_by_value(k, 0, T - 1)) + tf.matmul(s, W)
            else:  # states[l - 1] is s^{l-1}_t: written in the previous iteration
                a = tf.matmul(states[i - 1], Us[i - 1]) + tf.matmul(s, W) + bs[i - 1]
            active = (k >= i) & (k < T + i)  # layer i's iterations
            new.append(tf.where(active, f(a), s))
        return k + 1, new, [o.write(k, s) for o, s in zip(outs, new)]

    _, last, outs = tf.while_loop(
        lambda k, *_: k < T + L - 1, body, (tf.constant(0), list(s0s), outs)
    )
    return [o.stack()[i : i + T] for i, o in enumerate(outs)], last


def _backward(G, Ss, Ws, Us, carries, derivative):
    """Every layer's `Delta_l` `(T, batch, units_l)` (t order) and dL/ds0_l."""
    T, L = tf.shape(G)[0], len(Ws)
    gs = _steps(G)
    ds = [_steps(derivative(S)) for S in Ss]
    outs = [_ta(G.dtype, T + L - 1, W.shape[0]) for W in Ws]

    def body(j, deltas, carries, outs):
        new_d, new_c = [], []
        for i in range(L):
            lag = L - 1 - i  # the top layer leads, each one below one iteration later
            t = tf.clip_by_value(T - 1 - j + lag, 0, T - 1)
            d_s = carries[i] + (gs.read(t) if i == L - 1 else 0.0)
            if i < L - 1:  # deltas[i + 1] is delta^{i+1}_t: the previous iteration's
                d_s += tf.matmul(deltas[i + 1], Us[i], transpose_b=True)
            delta = d_s * ds[i].read(t)
            active = (j >= lag) & (j < T + lag)
            new_c.append(tf.where(active, tf.matmul(delta, Ws[i], transpose_b=True), carries[i]))
            new_d.append(delta)
        return j + 1, new_d, new_c, [o.write(j, d) for o, d in zip(outs, new_d)]

    zeros = [tf.zeros_like(c) for c in carries]
    _, _, ds0s, outs = tf.while_loop(
        lambda j, *_: j < T + L - 1, body, (tf.constant(0), zeros, list(carries), outs)
    )
    # iteration j held t = T - 1 - j + lag: slice the layer's T iterations, then reverse
    Deltas = [tf.reverse(o.stack()[L - 1 - i : L - 1 - i + T], [0]) for i, o in enumerate(outs)]
    return Deltas, ds0s


def stack(xw, Ws, Us, bs, s0s, activation=tf.tanh, activation_name="tanh"):
    """Run L layers over time-major `xw` `(time, batch, units_0)` = `U_0 x_t + b_0`.

    `Ws` L recurrent kernels, `Us` and `bs` the L-1 input kernels and biases of layers
    1..L-1, `s0s` L initial states. Returns the top layer's states `(time, batch, units)`
    and every layer's final state. Needs time >= 1 and an `f'` known from `f`'s output
    (`recurrence.supports_fused`). The gradient is the wavefront BPTT above.
    """
    L, derivative = len(Ws), DERIVATIVE_FROM_OUTPUT[activation_name]

    @tf.custom_gradient
    def run(xw, *weights):
        Ws, Us = list(weights[:L]), list(weights[L : 2 * L - 1])
        bs, s0s = list(weights[2 * L - 1 : 3 * L - 2]), list(weights[3 * L - 2 :])
        Ss, lasts = _forward(xw, Ws, Us, bs, s0s, activation)

        def grad(dtop, *dlasts):
            dtop = tf.zeros_like(Ss[-1]) if dtop is None else dtop
            carries = [tf.zeros_like(s) if d is None else d for s, d in zip(lasts, dlasts)]
            Deltas, ds0s = _backward(dtop, Ss, Ws, Us, carries, derivative)
            over = lambda X, D: tf.tensordot(X, D, axes=[[0, 1], [0, 1]])  # noqa: E731
            prev = [tf.concat([s0[tf.newaxis], S[:-1]], 0) for s0, S in zip(s0s, Ss)]
            dWs = [over(P, D) for P, D in zip(prev, Deltas)]  # sum_t s_{t-1}^T delta_t
            dUs = [over(S, D) for S, D in zip(Ss[:-1], Deltas[1:])]  # sum_t s^{l-1}_t^T delta
            dbs = [tf.reduce_sum(D, [0, 1]) for D in Deltas[1:]]
            return [Deltas[0], *dWs, *dUs, *dbs, *ds0s]

        return (Ss[-1], *lasts), grad

    top, *lasts = run(xw, *Ws, *Us, *bs, *s0s)
    return top, lasts
