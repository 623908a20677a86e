"""Scan lowering: `U x_t + b` for every step in one MatMul, then the recurrence as an ONNX `Scan`.

Why a second hand-built form: onnxruntime's CPU `RNN` kernel applies its
activation one element at a time, so on the CPU it takes 1.4-1.7x PyTorch's
time at batch 32 (`python -m bench`). Here the activation is onnxruntime's
vectorised `Tanh`/`Sigmoid`/`Relu` op, the input projection of both
directions is one GEMM over all time steps, and one `Scan` runs both
directions (`scan_input_directions` reverses the backward one), its body being
`s_t = f(s_{t-1} W + (x_t U + b))` per direction: a Gemm, the activation and
a copy out per step, no Gather or TensorArray bookkeeping as in tf2onnx's `Loop`.

Padding (right-padded tokens, `seq_lens` given): the body stays the same three
nodes. The backward direction scans `ReverseSequence` of its projection (each row's
real steps reversed in place, padding left at the end), so that both directions
meet their padding only after their real steps; one Mul by the `(time, batch, 1)`
mask then zeroes every output past a row's end, the final state is read at the
row's last real step, and the backward outputs are reversed back. (Keeping the
state with a `Where` and zeroing each output inside the body instead cost two
more nodes per direction and step: 0.4 ms of a 2.6 ms B=1 T=100 forward.)
"""

import numpy as np
from onnx import TensorProto, helper

from . import native


def _projection(g, x, weights):
    """`x U + b` of every direction at once, split per direction: [(time, batch, units)]."""
    U = np.concatenate([w[0] for w in weights], axis=1)  # (input, sum of units)
    b = np.concatenate([w[2] for w in weights])
    if isinstance(x, native.OneHotInput):  # row `token` of U + b is `U x_t + b`: a Gather
        proj = g.op("Gather", [g.const(x.rows(U) + b, "U_b"), x.tokens])
    else:
        proj = g.op("Add", [g.op("MatMul", [x, g.const(U, "U")]), g.const(b, "b")])
    if len(weights) == 1:
        return [proj]
    sizes = np.array([w[1].shape[0] for w in weights])
    return g.op("Split", [proj, g.const(sizes)], axis=2, outputs=len(weights))


def _zeros(g, x, units):
    """`(batch, units)` zeros for a direction's initial state."""
    batch = g.op("Slice", [g.op("Shape", [x]), g.const(np.array([1])), g.const(np.array([2]))])
    shape = g.op("Concat", [batch, g.const(np.array([units]))], axis=0)
    return g.op(
        "ConstantOfShape", [shape], value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0])
    )


def _body_direction(g, layer, W):
    """Nodes and (inputs, outputs) of one direction's step inside the Scan body."""
    s_in, x_t, s_out, y_t = (g.name(n) for n in ("s_in", "x_t", "s_out", "y_t"))
    a = g.name("a")
    nodes = [  # Gemm's C input adds `x_t U + b`: one node for `s_{t-1} W + x_t U + b`
        helper.make_node("Gemm", [s_in, g.const(W, "W"), x_t], [a]),
        helper.make_node(native.activation_of(layer), [a], [s_out]),
        helper.make_node("Identity", [s_out], [y_t]),  # the state, also scanned out
    ]
    state = [native.float_io(s_in, None, layer.units)], [native.float_io(s_out, None, layer.units)]
    scans = [native.float_io(x_t, None, layer.units)], [native.float_io(y_t, None, layer.units)]
    return nodes, state, scans


def directions(g, x, layers, seq_lens="", initial=None):
    """Run `layers` (forward[, backward]) over time-major `x` `(time, batch, input)`.

    Returns `[y (time, batch, units)]` and `[final state (batch, units)]`, one per
    direction; the backward direction's `y` is in input time order.
    """
    weights = [native.cell_weights(layer) for layer in layers]  # (U, W, b) per direction
    projections = list(_projection(g, x, weights))
    x = x.tokens if isinstance(x, native.OneHotInput) else x  # its shape starts (time, batch)
    initial = initial or [
        g.once(("zeros", layer.units), lambda u=layer.units: _zeros(g, x, u)) for layer in layers
    ]
    if seq_lens and len(layers) == 2:  # the backward direction reads its rows reversed
        projections[1] = native.reverse(g, projections[1], native.lengths64(g, seq_lens))
    # unpadded, `scan_input_directions` reverses the backward one; padded, it was reversed
    reversed_ = [d == 1 and not seq_lens for d in range(len(layers))]
    ys, finals = _scan(g, layers, weights, projections, initial, reversed_)
    if not seq_lens:
        return ys, finals
    mask = native.time_mask(g, x, seq_lens)
    ys = [g.op("Mul", [y, mask]) for y in ys]  # nothing past a row's end is kept
    finals = [native.last_real_step(g, y, seq_lens) for y in ys]
    if len(layers) == 2:
        ys[1] = native.reverse(g, ys[1], native.lengths64(g, seq_lens))
    return ys, finals


def _scan(g, layers, weights, projections, initial, reversed_):
    """One Scan node over every direction: `[y (time, batch, units)]`, `[final state]`."""
    nodes, state_in, state_out, scan_in, scan_out = [], [], [], [], []
    for layer, (_, W, _) in zip(layers, weights):
        body, state, scans = _body_direction(g, layer, W)
        nodes += body
        state_in += state[0]
        state_out += state[1]
        scan_in += scans[0]
        scan_out += scans[1]
    outputs = [g.name("final") for _ in layers] + [g.name("y") for _ in layers]
    g.nodes.append(
        helper.make_node(
            "Scan",
            initial + list(projections),
            outputs,
            body=helper.make_graph(nodes, g.name("step"), state_in + scan_in, state_out + scan_out),
            num_scan_inputs=len(layers),
            scan_input_directions=[int(r) for r in reversed_],
            scan_output_directions=[int(r) for r in reversed_],
        )
    )
    return outputs[len(layers) :], outputs[: len(layers)]
