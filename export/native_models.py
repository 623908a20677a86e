"""Hand-built ONNX graphs of our task models, walking the Keras model's layers in order.

The recurrences are lowered by a form: `native` (one ONNX `RNN` node per layer)
or `scan` (hoisted input projection + one `Scan`); everything else is shared.
"""

import keras
import numpy as np

from rnn_keras.layers import (
    RNN,
    Bidirectional,
    DeepBidirectional,
    OneHot,
    RNNCell,
    SequencePool,
)

from . import model_proto, native, scan

AVERAGE = keras.layers.GlobalAveragePooling1D  # the readout of models from before 0.2
EMBEDDING = keras.layers.Embedding
MASKING = keras.layers.Masking  # float features' padding: right-padded with mask_value
# Keras' own wrapper around our RNN has our Bidirectional's attributes (forward_layer,
# backward_layer, merge_mode, return_sequences) and its padding (zeros): lowered alike
BIDIRECTIONAL = (Bidirectional, keras.layers.Bidirectional)


def _layers(model):
    """The model's layers that compute something (inputs and dropout skipped); the head is
    ours (named "head") or a user's last `Dense`, linear (it gives the logits)."""
    kinds = (OneHot, EMBEDDING, MASKING, RNN, *BIDIRECTIONAL, DeepBidirectional, SequencePool)
    kinds += (AVERAGE,)
    computing = [la for la in model.layers if type(la).__name__ not in ("InputLayer", "Dropout")]
    for i, layer in enumerate(computing):
        last_dense = i == len(computing) - 1 and isinstance(layer, keras.layers.Dense)
        if layer.name == "head" or last_dense:
            _check_linear(layer)
        elif isinstance(layer, keras.layers.RNN) and _is_classic(layer.cell):
            raise ValueError(  # Keras' loop (SimpleRNN, RNN(cell)): named apart from ours
                f"Cannot export layer {layer.name!r} ({type(layer).__name__} around a "
                f"{type(layer.cell).__name__}) natively; build it as rnn_keras.RNN(units, ...), "
                "the same equation (its weights copy across), or use form='loop' (tf2onnx)."
            )
        elif not isinstance(layer, kinds):
            raise ValueError(
                f"Cannot export layer {layer.name!r} ({type(layer).__name__}) natively; "
                "form='loop' (tf2onnx) takes any layer tf2onnx knows."
            )
        elif isinstance(layer, MASKING) and (i or native.takes_tokens(model.inputs[0])):
            raise ValueError(
                f"Cannot export layer {layer.name!r} natively: Masking is read on the float "
                "features the model takes, as its first layer; use form='loop'."
            )
        elif isinstance(layer, keras.layers.Bidirectional) and not isinstance(
            layer.forward_layer, RNN
        ):
            raise ValueError(
                f"Cannot export layer {layer.name!r} natively: keras.layers.Bidirectional "
                f"around a {type(layer.forward_layer).__name__}, not an rnn_keras.RNN; use "
                "form='loop'."
            )
        elif isinstance(layer, RNN) and layer.go_backwards:  # inside Bidirectional it is read
            raise ValueError(
                f"Cannot export layer {layer.name!r} natively: a standalone RNN with "
                "go_backwards=True (its outputs come in reversed time order). Wrap it in "
                "Bidirectional, or use form='loop'."
            )
    return computing


def _is_classic(cell):
    """`s_t = f(U x_t + W s_{t-1} + b)`: ours, or Keras' `SimpleRNNCell`."""
    return isinstance(cell, (RNNCell, keras.layers.SimpleRNNCell))


def _check_linear(layer):
    name = keras.activations.serialize(layer.activation)  # a custom one: its config
    if name != "linear":
        raise ValueError(
            f"Cannot export layer {layer.name!r} natively: a Dense head with activation "
            f"{name!r}. Leave it linear (the logits) and apply {name!r} to the outputs, or "
            "use form='loop'."
        )


def _bidirectional(g, x, layer, seq_lens, form):
    both = [layer.forward_layer, layer.backward_layer]
    if form is native.directions and layer.return_sequences and layer.merge_mode == "concat":
        if not seq_lens:  # with padding each direction is a node of its own (`directions`)
            return native.bidirectional_concat(g, x, both)
    ys, finals = form(g, x, both, seq_lens)
    if layer.return_sequences:
        return native.merge(g, *ys, layer.merge_mode, axis=2)
    return native.merge(g, *finals, layer.merge_mode, axis=1)


def _unidirectional(g, x, layer, seq_lens, state, inputs, outputs, form):
    """One forward recurrence; with `state` (the LM) its initial and final states are graph
    I/O. Returns its output and its final state."""
    if state:
        inputs.append(native.float_io(state, "batch", layer.units))
    [y], [h_last] = form(g, x, [layer], seq_lens, [state] if state else None)
    if state:
        g.nodes.append(native.helper.make_node("Identity", [h_last], [f"{state}_out"]))
        outputs.append(native.float_io(f"{state}_out", "batch", layer.units))
    return (y if layer.return_sequences else h_last), h_last


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
    """`o = V h + c` (logits), batch-major."""
    if time_major and (batch_major := native.batch_major_concat(g, h)) is not None:
        h, time_major = batch_major, False
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
    walk = _Walk(FORMS[form], stateful=len(model.inputs) > 1)
    walk.start(model.inputs[0])
    for layer in _layers(model):
        walk.lower(layer)
    x = walk.padded_as_keras()
    if walk.time_major and not walk.headed:  # a model that ends in a recurrence
        x = native.batch_major_concat(walk.g, x) or walk.g.op("Transpose", [x], perm=[1, 0, 2])
    walk.g.nodes.append(native.helper.make_node("Identity", [x], ["logits"]))
    dims = ["batch", "time", None] if walk.time_major else ["batch", None]
    outputs = [native.float_io("logits", *dims), *walk.outputs]
    return model_proto.make_model(walk.g, walk.inputs, outputs, metadata)


class _Walk:
    """The graph as the model's layers are lowered in order: `x`, whether it is time-major,
    the padding's sequence lengths, and the graph's state inputs and outputs (the LM's)."""

    def __init__(self, directions, stateful):
        self.g, self.directions, self.stateful = native.Graph(), directions, stateful
        self.inputs, self.outputs, self.state_index = [], [], 0
        self.seq_lens, self.time_major, self.headed = "", True, False
        self.carried = None  # the last state Keras shows at padded steps (see padded_as_keras)

    def start(self, first):
        g = self.g
        if native.takes_tokens(first):
            self.inputs.append(native.int_input("tokens", "batch", "time"))
            self.x = g.op("Transpose", ["tokens"], perm=[1, 0])  # (time, batch)
        else:  # float features, e.g. the benchmark's model
            self.inputs.append(native.float_io("x", "batch", "time", int(first.shape[-1])))
            self.x = g.op("Transpose", ["x"], perm=[1, 0, 2])  # (time, batch, features)

    def lower(self, layer):
        g, x, seq_lens = self.g, self.x, self.seq_lens
        if isinstance(layer, (OneHot, EMBEDDING)):
            if layer.mask_zero:
                self.seq_lens = native.sequence_lengths(g, "tokens")
            depth = layer.depth if isinstance(layer, OneHot) else layer.input_dim
            weights = None if isinstance(layer, OneHot) else layer.embeddings
            self.x = native.OneHotInput(x, depth, weights)  # x_t (or E x_t), lazily
            return
        if isinstance(layer, MASKING):  # a step is padding when all its features are the value
            self.seq_lens = native.feature_lengths(g, "x", layer.mask_value)
            return
        if isinstance(layer, RNN):
            return self._rnn(layer)
        if not isinstance(layer, (*BIDIRECTIONAL, DeepBidirectional, SequencePool, AVERAGE)):
            self.x, self.headed = _head(g, self.padded_as_keras(), layer, self.time_major), True
            return
        self.carried = None  # these read real steps only (or zeros at padding)
        if isinstance(layer, BIDIRECTIONAL):
            self.x = _bidirectional(g, x, layer, seq_lens, self.directions)
            self.time_major = layer.return_sequences
        elif isinstance(layer, DeepBidirectional):
            for sub in layer.layers:
                self.x = _bidirectional(g, self.x, sub, seq_lens, self.directions)
                self.time_major = sub.return_sequences
        elif isinstance(layer, SequencePool):
            self.x, self.time_major = _pool(g, x, layer, seq_lens), False
        else:
            self.x, self.time_major = _masked_mean(g, x, seq_lens), False

    def _rnn(self, layer):
        state = f"state_{self.state_index}" if self.stateful else None
        self.x, h_last = _unidirectional(
            self.g, self.x, layer, self.seq_lens, state, self.inputs, self.outputs,
            self.directions,
        )  # fmt: skip
        self.time_major, self.state_index = layer.return_sequences, self.state_index + bool(state)
        padded = self.seq_lens and layer.return_sequences and not layer.zero_output_for_mask
        self.carried = h_last if padded else None

    def padded_as_keras(self):
        """`x` with what Keras gives at padded steps: a unidirectional RNN's last state there
        (`zero_output_for_mask=False`, Keras' default), where the recurrence left zeros.
        Only what the model outputs needs it: pooling and later layers read real steps."""
        if self.carried is not None:
            mask = native.time_mask(self.g, self.x, self.seq_lens)  # (time, batch, 1)
            padding = self.g.op("Sub", [self.g.const(np.float32(1.0)), mask])
            fill = self.g.op("Mul", [padding, self.carried])  # (time, batch, units)
            self.x, self.carried = self.g.op("Add", [self.x, fill]), None
        return self.x


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
        U, W, b = native.cell_weights(layer)
        if i == 0:  # row `token` of U + b (of E U + b when embedded) is `U x_t + b`
            ux_b = g.op("Gather", [g.const(tokens.rows(U) + b, "U_b"), x])
        else:
            ux_b = g.op("Add", [g.op("MatMul", [x, g.const(U, "U")]), g.const(b, "b")])
        # s W + (U x + b): onnxruntime fuses each MatMul with the Add after it (Gemm) and
        # the last Gemm with f on the CPU (FusedGemm): 2 kernels a layer instead of 4
        a = g.op("Add", [g.op("MatMul", [f"state_{i}", g.const(W, "W")]), ux_b])
        x = g.op(native.activation_of(layer), [a])
        g.nodes.append(native.helper.make_node("Identity", [x], [f"state_{i}_out"]))
        inputs.append(native.float_io(f"state_{i}", "batch", layer.units))
        outputs.append(native.float_io(f"state_{i}_out", "batch", layer.units))
    logits = _head(g, x, model.get_layer("head"), time_major=False)
    g.nodes.append(
        native.helper.make_node("Unsqueeze", [logits, g.const(np.array([1]))], ["logits"])
    )
    outputs.insert(0, native.float_io("logits", "batch", 1, None))
    return model_proto.make_model(g, inputs, outputs, metadata)
