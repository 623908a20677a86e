"""Hand-built ONNX graphs of our task models, walking the Keras model's layers in order.

The recurrences are lowered by a form: `native` (one ONNX `RNN` node per layer)
or `scan` (hoisted input projection + one `Scan`); everything else is shared.
"""

import keras
import numpy as np

from rnn_keras.layers import RNN, Bidirectional, DeepBidirectional, OneHot, SequencePool

from . import native, scan

AVERAGE = keras.layers.GlobalAveragePooling1D  # the readout of models from before 0.2
EMBEDDING = keras.layers.Embedding


def _layers(model):
    """The model's layers that compute something (inputs and dropout skipped); the head is
    ours (named "head") or a user's last `Dense`, linear (it gives the logits)."""
    kinds = (OneHot, EMBEDDING, RNN, Bidirectional, DeepBidirectional, SequencePool, AVERAGE)
    computing = [la for la in model.layers if type(la).__name__ not in ("InputLayer", "Dropout")]
    for i, layer in enumerate(computing):
        last_dense = i == len(computing) - 1 and isinstance(layer, keras.layers.Dense)
        if layer.name == "head" or last_dense:
            _check_linear(layer)
        elif not isinstance(layer, kinds):
            raise ValueError(
                f"Cannot export layer {layer.name!r} ({type(layer).__name__}) natively; "
                "form='loop' (tf2onnx) takes any layer tf2onnx knows."
            )
        elif isinstance(layer, RNN) and layer.go_backwards:  # inside Bidirectional it is read
            raise ValueError(
                f"Cannot export layer {layer.name!r} natively: a standalone RNN with "
                "go_backwards=True (its outputs come in reversed time order). Wrap it in "
                "Bidirectional, or use form='loop'."
            )
    return computing


def _check_linear(layer):
    name = keras.activations.serialize(layer.activation)  # a custom one: its config
    if name != "linear":
        raise ValueError(
            f"Cannot export layer {layer.name!r} natively: a Dense head with activation "
            f"{name!r}. Leave it linear (the logits) and apply {name!r} to the outputs, or "
            "use form='loop'."
        )


def _bidirectional(g, x, layer, seq_lens, form):
    ys, finals = form(g, x, [layer.forward_layer, layer.backward_layer], seq_lens)
    if layer.return_sequences:
        return native.merge(g, *ys, layer.merge_mode, axis=2)
    return native.merge(g, *finals, layer.merge_mode, axis=1)


def _unidirectional(g, x, layer, seq_lens, state, inputs, outputs, form):
    """One forward recurrence; with `state` (the LM) its initial and final states are graph I/O."""
    if state:
        inputs.append(native.float_io(state, "batch", layer.units))
    [y], [h_last] = form(g, x, [layer], seq_lens, [state] if state else None)
    if state:
        g.nodes.append(native.helper.make_node("Identity", [h_last], [f"{state}_out"]))
        outputs.append(native.float_io(f"{state}_out", "batch", layer.units))
    return y if layer.return_sequences else h_last


def _masked_mean(g, x, seq_lens):
    """Mean over time of `(time, batch, units)`; padded steps are zero in ONNX RNN outputs."""
    if not seq_lens:
        return g.op("ReduceMean", [x, g.const(np.array([0]))], keepdims=0)
    total = g.op("ReduceSum", [x, g.const(np.array([0]))], keepdims=0)  # (batch, units)
    count = g.op("Cast", [seq_lens], to=native.TensorProto.FLOAT)
    return g.op("Div", [total, g.op("Unsqueeze", [count, g.const(np.array([1]))])])


def _pool(g, x, layer, seq_lens):
    """`SequencePool` of `(time, batch, features)`: padded steps excluded, as in Keras."""
    if layer.mode == "mean":
        return _masked_mean(g, x, seq_lens)
    if layer.mode == "max":
        return _masked_max(g, x, seq_lens)
    if layer.mode == "max_mean":
        both = [_masked_max(g, x, seq_lens), _masked_mean(g, x, seq_lens)]
        return g.op("Concat", both, axis=-1)
    return _last(g, x, layer, seq_lens)


def _masked_max(g, x, seq_lens):
    if not seq_lens:
        return g.op("ReduceMax", [x], axes=[0], keepdims=0)  # opset 13: axes an attribute
    real = g.op("Cast", [native.time_mask(g, x, seq_lens)], to=native.TensorProto.BOOL)
    lowest = g.op("Where", [real, x, g.const(np.float32(-3.0e38))])
    top = g.op("ReduceMax", [lowest], axes=[0], keepdims=0)
    some = g.op(
        "Unsqueeze", [g.op("Greater", [seq_lens, g.const(np.int32(0))]), g.const(np.array([1]))]
    )
    return g.op("Where", [some, top, g.const(np.float32(0.0))])


def _last(g, x, layer, seq_lens):
    """Forward features at the last real step; a backward direction's at step 0."""
    if seq_lens:
        forward = native.last_real_step(g, x, seq_lens)  # (batch, features)
    else:
        forward = g.op("Gather", [x, g.const(np.int64(-1))], axis=0)
    if not layer.backward_units:
        return forward
    first = g.op("Gather", [x, g.const(np.int64(0))], axis=0)
    b, big = layer.backward_units, np.iinfo(np.int64).max
    axis = g.const(np.array([-1]))
    keep = g.op("Slice", [forward, g.const(np.array([0])), g.const(np.array([-b])), axis])
    back = g.op("Slice", [first, g.const(np.array([-b])), g.const(np.array([big])), axis])
    return g.op("Concat", [keep, back], axis=-1)


def _head(g, h, layer, time_major):
    logits = g.op(
        "Add",
        [
            g.op("MatMul", [h, g.const(np.asarray(layer.kernel, np.float32), "V")]),
            g.const(_bias(layer), "c"),
        ],
    )
    return g.op("Transpose", [logits], perm=[1, 0, 2]) if time_major else logits


def _bias(layer):
    units = int(layer.kernel.shape[-1])
    return np.zeros(units, np.float32) if layer.bias is None else np.asarray(layer.bias, np.float32)


FORMS = {"native": native.directions, "scan": scan.directions}


def sequence_model(model, metadata, form="scan"):
    """`tokens` `(batch, time)` (+ `state_i` for the LM) -> `logits` (+ `state_i_out`)."""
    directions = FORMS[form]
    g = native.Graph()
    stateful = len(model.inputs) > 1
    if native.takes_tokens(model.inputs[0]):
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
            x = native.OneHotInput(x, layer.depth)  # (time, batch) tokens, expanded lazily
        elif isinstance(layer, EMBEDDING):
            if layer.mask_zero:
                seq_lens = native.sequence_lengths(g, "tokens")
            x = native.OneHotInput(x, layer.input_dim, layer.embeddings)  # E x_t, lazily
        elif isinstance(layer, RNN):
            state = f"state_{state_index}" if stateful else None
            x = _unidirectional(g, x, layer, seq_lens, state, inputs, outputs, directions)
            time_major, state_index = layer.return_sequences, state_index + bool(stateful)
        elif isinstance(layer, Bidirectional):
            x, time_major = (
                _bidirectional(g, x, layer, seq_lens, directions),
                layer.return_sequences,
            )
        elif isinstance(layer, SequencePool):
            x, time_major = _pool(g, x, layer, seq_lens), False
        elif isinstance(layer, AVERAGE):
            x, time_major = _masked_mean(g, x, seq_lens), False
        elif isinstance(layer, DeepBidirectional):
            for sub in layer.layers:
                x, time_major = (
                    _bidirectional(g, x, sub, seq_lens, directions),
                    sub.return_sequences,
                )
        else:
            x = _head(g, x, layer, time_major)
    g.nodes.append(native.helper.make_node("Identity", [x], ["logits"]))
    dims = ["batch", "time", None] if time_major else ["batch", None]
    outputs.insert(0, native.float_io("logits", *dims))
    return native.make_model(g, inputs, outputs, metadata)


def step_model(model, metadata):
    """The LM's one-step graph: plain MatMul/Add/activation ops, no RNN node.

    `tokens` `(batch, 1)` and `state_i` -> `logits` `(batch, 1, vocab)` and `state_i_out`:
    `s_t = f(U[token] + b + s_{t-1} W)`; row `token` of U is `U x_t` for one-hot `x_t`
    (of `E U` for an embedded one).
    """
    g = native.Graph()
    rnns = [layer for layer in model.layers if isinstance(layer, RNN)]
    embedding = [layer for layer in model.layers if isinstance(layer, EMBEDDING)]
    inputs = [native.int_input("tokens", "batch", 1)]
    outputs = []
    x = g.op("Squeeze", ["tokens", g.const(np.array([1]))])  # (batch,)
    vocab = model.get_layer("head").units
    tokens = native.OneHotInput(x, vocab, embedding[0].embeddings if embedding else None)
    for i, layer in enumerate(rnns):
        U, W = (np.asarray(v, np.float32) for v in (layer.cell.kernel, layer.cell.recurrent_kernel))
        if i == 0:  # row `token` of U (of E U when embedded) is `U x_t`
            ux = g.op("Gather", [g.const(tokens.rows(U), "U"), x])
        else:
            ux = g.op("MatMul", [x, g.const(U, "U")])
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
