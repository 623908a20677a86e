"""Native ONNX graphs of our task models, walking the Keras model's layers in order."""

import keras
import numpy as np

from export import native
from rnn_keras.layers import RNN, Bidirectional, DeepBidirectional, OneHot


def _layers(model):
    """The model's layers that compute something (inputs and dropout skipped)."""
    kinds = (OneHot, RNN, Bidirectional, DeepBidirectional, keras.layers.GlobalAveragePooling1D)
    out = []
    for layer in model.layers:
        if (
            isinstance(layer, kinds + (keras.layers.GlobalAveragePooling1D,))
            or layer.name == "head"
        ):
            out.append(layer)
        elif type(layer).__name__ not in ("InputLayer", "Dropout"):
            raise ValueError(
                f"Cannot export layer {layer.name!r} ({type(layer).__name__}) natively."
            )
    return out


def _takes_tokens(model):
    return "int" in str(model.inputs[0].dtype)


def _bidirectional(g, x, layer, seq_lens):
    y, y_h = native.rnn_node(
        g, x, [layer.forward_layer, layer.backward_layer], "bidirectional", seq_lens
    )
    if layer.return_sequences:
        return native.merge(g, y, layer.merge_mode, dir_axis=1)
    return native.merge(g, y_h, layer.merge_mode, dir_axis=0)


def _unidirectional(g, x, layer, seq_lens, state, inputs, outputs):
    """One forward RNN node; with `state` (the LM) its initial and final states are graph I/O."""
    init = ""
    if state:
        inputs.append(native.float_io(state, "batch", layer.units))
        init = g.op("Unsqueeze", [state, g.const(np.array([0]))])
    y, y_h = native.rnn_node(g, x, [layer], "forward", seq_lens, init)
    h_last = g.op("Squeeze", [y_h, g.const(np.array([0]))])
    if state:
        g.nodes.append(native.helper.make_node("Identity", [h_last], [f"{state}_out"]))
        outputs.append(native.float_io(f"{state}_out", "batch", layer.units))
    return g.op("Squeeze", [y, g.const(np.array([1]))]) if layer.return_sequences else h_last


def _masked_mean(g, x, seq_lens):
    """Mean over time of `(time, batch, units)`; padded steps are zero in ONNX RNN outputs."""
    if not seq_lens:
        return g.op("ReduceMean", [x, g.const(np.array([0]))], keepdims=0)
    total = g.op("ReduceSum", [x, g.const(np.array([0]))], keepdims=0)  # (batch, units)
    count = g.op("Cast", [seq_lens], to=native.TensorProto.FLOAT)
    return g.op("Div", [total, g.op("Unsqueeze", [count, g.const(np.array([1]))])])


def _head(g, h, layer, time_major):
    logits = g.op(
        "Add",
        [
            g.op("MatMul", [h, g.const(np.asarray(layer.kernel, np.float32), "V")]),
            g.const(np.asarray(layer.bias, np.float32), "c"),
        ],
    )
    return g.op("Transpose", [logits], perm=[1, 0, 2]) if time_major else logits


def sequence_model(model, metadata):
    """`tokens` `(batch, time)` (+ `state_i` for the LM) -> `logits` (+ `state_i_out`)."""
    g = native.Graph()
    stateful = len(model.inputs) > 1
    if _takes_tokens(model):
        inputs = [native.int_input("tokens", "batch", "time")]
        x = g.op("Transpose", ["tokens"], perm=[1, 0])  # (time, batch)
    else:  # float features, e.g. the benchmark's model
        inputs = [native.float_io("x", "batch", "time", int(model.inputs[0].shape[-1]))]
        x = g.op("Transpose", ["x"], perm=[1, 0, 2])  # (time, batch, features)
    outputs = []
    seq_lens, time_major, state_index = "", True, 0
    for layer in _layers(model):
        if isinstance(layer, OneHot):
            if layer.mask_zero:
                seq_lens = native.sequence_lengths(g, "tokens")
            x = g.op("Gather", [g.const(np.eye(layer.depth, dtype=np.float32), "one_hot"), x])
        elif isinstance(layer, RNN):
            state = f"state_{state_index}" if stateful else None
            x = _unidirectional(g, x, layer, seq_lens, state, inputs, outputs)
            time_major, state_index = layer.return_sequences, state_index + bool(stateful)
        elif isinstance(layer, Bidirectional):
            x, time_major = _bidirectional(g, x, layer, seq_lens), layer.return_sequences
        elif isinstance(layer, keras.layers.GlobalAveragePooling1D):
            x, time_major = _masked_mean(g, x, seq_lens), False
        elif isinstance(layer, DeepBidirectional):
            for sub in layer.layers:
                x, time_major = _bidirectional(g, x, sub, seq_lens), sub.return_sequences
        else:
            x = _head(g, x, layer, time_major)
    g.nodes.append(native.helper.make_node("Identity", [x], ["logits"]))
    dims = ["batch", "time", None] if time_major else ["batch", None]
    outputs.insert(0, native.float_io("logits", *dims))
    return native.make_model(g, inputs, outputs, metadata)


def step_model(model, metadata):
    """The LM's one-step graph: plain MatMul/Add/activation ops, no RNN node.

    `tokens` `(batch, 1)` and `state_i` -> `logits` `(batch, 1, vocab)` and `state_i_out`:
    `s_t = f(U[token] + b + s_{t-1} W)`; row `token` of U is `U x_t` for one-hot `x_t`.
    """
    g = native.Graph()
    rnns = [layer for layer in model.layers if isinstance(layer, RNN)]
    inputs = [native.int_input("tokens", "batch", 1)]
    outputs = []
    x = g.op("Squeeze", ["tokens", g.const(np.array([1]))])  # (batch,)
    for i, layer in enumerate(rnns):
        U, W = (np.asarray(v, np.float32) for v in (layer.cell.kernel, layer.cell.recurrent_kernel))
        ux = (
            g.op("Gather", [g.const(U, "U"), x]) if i == 0 else g.op("MatMul", [x, g.const(U, "U")])
        )
        a = g.op("Add", [ux, g.op("MatMul", [f"state_{i}", g.const(W, "W")])])
        if layer.cell.bias is not None:
            a = g.op("Add", [a, g.const(np.asarray(layer.cell.bias, np.float32), "b")])
        x = g.op(native.activation_of(layer), [a])
        g.nodes.append(native.helper.make_node("Identity", [x], [f"state_{i}_out"]))
        inputs.append(native.float_io(f"state_{i}", "batch", layer.units))
        outputs.append(native.float_io(f"state_{i}_out", "batch", layer.units))
    logits = _head(g, x, model.get_layer("head"), time_major=False)
    g.nodes.append(
        native.helper.make_node("Unsqueeze", [logits, g.const(np.array([1]))], ["logits"])
    )
    outputs.insert(0, native.float_io("logits", "batch", 1, None))
    return native.make_model(g, inputs, outputs, metadata)
