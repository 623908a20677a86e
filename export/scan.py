"""Scan lowering: `U x_t + b` for every step in one MatMul, then the recurrence as an ONNX `Scan`.

Why a second hand-built form: onnxruntime's CPU `RNN` kernel applies its
activation one element at a time, so on the CPU it takes 1.4-1.7x PyTorch's
time at batch 32 (`python -m bench`). Here the activation is onnxruntime's
vectorised `Tanh`/`Sigmoid`/`Relu` op, the input projection of both
directions is one GEMM over all time steps, and one `Scan` runs both
directions (`scan_input_directions` reverses the backward one), its body being
`s_t = f(s_{t-1} W + (x_t U + b))` per direction: a Gemm, the activation and
a copy out per step, no Gather or TensorArray bookkeeping as in tf2onnx's `Loop`.

Padding (right-padded tokens, `seq_lens` given): a step past a sequence's end
keeps the state (`Where`) and outputs zero, as ONNX `RNN` does; so the
backward direction starts at each sequence's last real element.
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


def _step_mask(g, x, seq_lens):
    """`(time, batch, 1)` True where the step is inside its sequence, and its float copy."""
    steps = g.op(
        "Range",
        [
            g.const(np.int32(0)),
            g.op(
                "Cast",
                [g.op("Gather", [g.op("Shape", [x]), g.const(np.int64(0))])],
                to=TensorProto.INT32,
            ),
            g.const(np.int32(1)),
        ],
    )
    inside = g.op(
        "Less",
        [g.op("Unsqueeze", [steps, g.const(np.array([1]))]), seq_lens],  # (time, 1) < (batch,)
    )
    inside = g.op("Unsqueeze", [inside, g.const(np.array([2]))])
    return inside, g.op("Cast", [inside], to=TensorProto.FLOAT)


def _zeros(g, x, units):
    """`(batch, units)` zeros for a direction's initial state."""
    batch = g.op("Slice", [g.op("Shape", [x]), g.const(np.array([1])), g.const(np.array([2]))])
    shape = g.op("Concat", [batch, g.const(np.array([units]))], axis=0)
    return g.op(
        "ConstantOfShape", [shape], value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0])
    )


def _body_direction(g, layer, W, masked):
    """Nodes and (inputs, outputs) of one direction's step inside the Scan body."""
    s_in, x_t, s_out, y_t = (g.name(n) for n in ("s_in", "x_t", "s_out", "y_t"))
    a = g.name("a")
    h = g.name("h") if masked else s_out  # unmasked, the new state is the activation itself
    nodes = [  # Gemm's C input adds `x_t U + b`: one node for `s_{t-1} W + x_t U + b`
        helper.make_node("Gemm", [s_in, g.const(W, "W"), x_t], [a]),
        helper.make_node(native.activation_of(layer), [a], [h]),
    ]
    state = [native.float_io(s_in, None, layer.units)], [native.float_io(s_out, None, layer.units)]
    scans = [native.float_io(x_t, None, layer.units)], [native.float_io(y_t, None, layer.units)]
    if masked:  # a step past the end keeps the state and outputs zero
        keep, zero = g.name("inside"), g.name("inside_f")
        nodes += [
            helper.make_node("Where", [keep, h, s_in], [s_out]),
            helper.make_node("Mul", [h, zero], [y_t]),
        ]
        scans[0].append(helper.make_tensor_value_info(keep, TensorProto.BOOL, [None, 1]))
        scans[0].append(native.float_io(zero, None, 1))
    else:
        nodes.append(helper.make_node("Identity", [s_out], [y_t]))
    return nodes, state, scans


def directions(g, x, layers, seq_lens="", initial=None):
    """Run `layers` (forward[, backward]) over time-major `x` `(time, batch, input)`.

    Returns `[y (time, batch, units)]` and `[final state (batch, units)]`, one per
    direction; the backward direction's `y` is in input time order.
    """
    weights = [native.cell_weights(layer) for layer in layers]  # (U, W, b) per direction
    projections = _projection(g, x, weights)
    x = x.tokens if isinstance(x, native.OneHotInput) else x  # its shape starts (time, batch)
    # the same for every layer of the model: built once
    mask = g.once(("mask", seq_lens), lambda: _step_mask(g, x, seq_lens)) if seq_lens else ()
    initial = initial or [
        g.once(("zeros", layer.units), lambda u=layer.units: _zeros(g, x, u)) for layer in layers
    ]
    nodes, state_in, state_out, scan_in, scan_out, feeds, dirs = [], [], [], [], [], [], []
    for d, (layer, (_, W, _), proj) in enumerate(zip(layers, weights, projections)):
        body, state, scans = _body_direction(g, layer, W, bool(mask))
        nodes += body
        state_in += state[0]
        state_out += state[1]
        scan_in += scans[0]
        scan_out += scans[1]
        feeds += [proj, *mask]
        dirs += [d] * (1 + len(mask))  # 0: forward, 1: the backward layer, scanned in reverse
    outputs = [g.name("final") for _ in layers] + [g.name("y") for _ in layers]
    g.nodes.append(
        helper.make_node(
            "Scan",
            initial + feeds,
            outputs,
            body=helper.make_graph(nodes, g.name("step"), state_in + scan_in, state_out + scan_out),
            num_scan_inputs=len(feeds),
            scan_input_directions=dirs,
            scan_output_directions=list(range(len(layers))),
        )
    )
    return outputs[len(layers) :], outputs[: len(layers)]
