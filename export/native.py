"""Native lowering: each trained RNN / Bidirectional layer becomes one ONNX `RNN` node.

Also the graph-building helpers the Scan form (`scan.py`) and the task models
(`native_models.py`) share.

The graph is built from the trained weights with `onnx.helper`. ONNX's `RNN`
computes `H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb)` on time-major `X`
`(time, batch, input)` (onnxruntime rejects `layout=1`), so for our
`s_t = f(x_t U + s_{t-1} W + b)` (row vectors, Keras): `W_onnx = U^T`
(`kernel`), `R_onnx = W^T` (`recurrent_kernel`), `Wb = b`, `Rb = 0`.
ONNX's reverse direction writes `Y` in input time order, which is what our
`Bidirectional` produces after flipping its backward layer. Padding: the
model's tokens are right-padded with 0, so `sequence_lens` = count of non-zero
tokens; ONNX then starts the reverse direction at each sequence's last real
element, as our masked layers do, and writes zeros past the end.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# f as an element-wise ONNX op (Scan bodies, step models); the RNN node names linear "Affine"
ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "linear": "Identity"}
OPSET = 17


class Graph:
    """Collects nodes and initialisers with unique names."""

    def __init__(self):
        self.nodes, self.inits, self._n, self._built = [], [], 0, {}
        self.bidirectional = {}  # a merged concat's name: its bidirectional RNN node's output

    def once(self, key, build):
        """What `build()` returned the first time `key` was asked for: built once per graph."""
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def name(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, array, base="c"):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base=None, outputs=1, **attrs):
        names = [self.name(base or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names


def takes_tokens(tensor):
    """Whether a Keras input holds token ids (ints), not float features or images."""
    return "int" in str(tensor.dtype)


def activation_of(rnn_layer):
    """f of the layer as an element-wise ONNX op type."""
    name = rnn_layer.cell.activation_name
    if name not in ONNX_ACTIVATIONS:
        raise ValueError(
            f"The ONNX export supports {', '.join(ONNX_ACTIVATIONS)}, not {name!r}; "
            "export with --path loop."
        )
    return ONNX_ACTIVATIONS[name]


class OneHotInput:
    """Time-major tokens standing for their one-hot vectors, or (with `embeddings` E,
    `(depth, D)`) for their embeddings `E x_t`: a form may gather rows of `U` (of `E U`
    when embedded: exact, as `x_t` is one-hot) instead of multiplying."""

    def __init__(self, tokens, depth, embeddings=None):
        self.tokens, self.depth = tokens, depth
        self.embeddings = None if embeddings is None else np.asarray(embeddings, np.float32)

    def rows(self, U):
        """The matrix whose row `token` is `U x_t`: `U` itself, or `E U`."""
        return U if self.embeddings is None else self.embeddings @ U

    def dense(self, g):
        """`x_t` itself, `(time, batch, depth or D)`."""
        if self.embeddings is None:
            table = g.const(np.eye(self.depth, dtype=np.float32), "one_hot")
        else:
            table = g.const(self.embeddings, "E")
        return g.op("Gather", [table, self.tokens])


def cell_weights(rnn_layer):
    """`(U, W, b)` of one direction as float32 arrays in Keras' layout (`b` zeros if absent)."""
    cell = rnn_layer.cell
    U, W = (np.asarray(v, np.float32) for v in (cell.kernel, cell.recurrent_kernel))
    b = np.zeros(W.shape[0], np.float32) if cell.bias is None else np.asarray(cell.bias, np.float32)
    return U, W, b


def rnn_node(g, x, layers, direction, seq_lens="", initial_h=""):
    """One ONNX RNN over time-major `x`; `layers` = [forward] or [forward, backward]."""
    weights = [cell_weights(layer) for layer in layers]
    w = np.stack([U.T for U, _, _ in weights])
    r = np.stack([W.T for _, W, _ in weights])
    b = np.stack([np.concatenate([b, np.zeros_like(b)]) for _, _, b in weights])  # Wb, Rb = b, 0
    acts = [activation_of(layer) for layer in layers]
    # linear: the RNN op's Affine(x) = alpha x + beta with 1 and 0 (onnxruntime runs it;
    # OpenVINO 2026 does not know Affine, so a linear model's native form is onnxruntime's)
    affine = dict(activation_alpha=[1.0] * len(acts), activation_beta=[0.0] * len(acts))
    y, y_h = g.op(
        "RNN",
        [x, g.const(w, "W"), g.const(r, "R"), g.const(b, "B"), seq_lens, initial_h],
        outputs=2,
        hidden_size=int(w.shape[1]),
        direction=direction,
        activations=["Affine" if a == "Identity" else a for a in acts],
        **(affine if "Identity" in acts else {}),
    )
    return y, y_h  # (time, dirs, batch, units), (dirs, batch, units)


def _unstack(g, t, axis, n):
    """Split `t` along `axis` into `n` tensors without that axis."""
    parts = (
        [t] if n == 1 else g.op("Split", [t, g.const(np.ones(n, np.int64))], axis=axis, outputs=n)
    )
    return [g.op("Squeeze", [p, g.const(np.array([axis]))]) for p in parts]


def directions(g, x, layers, seq_lens="", initial=None):
    """`layers` (forward[, backward]) as ONNX RNN nodes; same contract as `scan.directions`:
    `[y (time, batch, units)]` and `[final state (batch, units)]`, one per direction.

    Without padding, one node (bidirectional when there are two layers). With padding
    (`seq_lens`), the ONNX specification leaves open what an RNN node computes past a
    row's length (onnxruntime stops and zeroes there; OpenVINO and onnx.reference run on),
    so the answer must not depend on it: each direction is its own forward node, the
    backward one reads `ReverseSequence(x, lengths)` (every row's real steps reversed in
    place), its outputs are reversed back, every output past a row's length is zeroed and
    the final state is read at the row's last real step.
    """
    if isinstance(x, OneHotInput):
        x = x.dense(g)  # (time, batch, depth)
    if not seq_lens:
        init = _stacked(g, initial) if initial else ""
        direction = "forward" if len(layers) == 1 else "bidirectional"
        y, y_h = rnn_node(g, x, layers, direction, "", init)
        return _unstack(g, y, 1, len(layers)), _unstack(g, y_h, 0, len(layers))
    lengths = lengths64(g, seq_lens)
    mask = time_mask(g, x, seq_lens)
    ys, finals = [], []
    for i, layer in enumerate(layers):
        backward = i == 1
        source = reverse(g, x, lengths) if backward else x
        init = _stacked(g, [initial[i]]) if initial else ""
        y, _ = rnn_node(g, source, [layer], "forward", seq_lens, init)
        [y] = _unstack(g, y, 1, 1)  # (time, batch, units)
        y = g.op("Mul", [y, mask])  # nothing a runtime computed past a row's length is kept
        finals.append(last_real_step(g, y, seq_lens))
        ys.append(reverse(g, y, lengths) if backward else y)  # padding stays where it is: 0
    return ys, finals


def bidirectional_concat(g, x, layers):
    """`(time, batch, 2 units)`: both directions of an unpadded batch in one RNN node,
    concatenated as Keras' `merge_mode="concat"` does by one Transpose of the node's
    `(time, 2, batch, units)` output, a kernel fewer than splitting it and concatenating
    the halves again (on an H200: 4 us less per one-token step, 10% at B=1024)."""
    if isinstance(x, OneHotInput):
        x = x.dense(g)
    y, _ = rnn_node(g, x, layers, "bidirectional")
    merged = _merged_concat(g, y, perm=[0, 2, 1, 3])  # (time, batch, 2, units)
    g.bidirectional[merged] = y  # for batch_major_concat
    return merged


def _merged_concat(g, y, perm):
    return g.op("Reshape", [g.op("Transpose", [y], perm=perm), g.const(np.array([0, 0, -1]))])


def batch_major_concat(g, x):
    """`bidirectional_concat`'s `x` `(time, batch, 2 units)` as `(batch, time, 2 units)` by
    one Transpose of the RNN node's output, in place of its own: the head's logits then
    need no Transpose back to batch-major (a kernel fewer for a tagger's or the benchmark
    model's native file). None for any other `x`."""
    y = g.bidirectional.get(x)
    return None if y is None else _merged_concat(g, y, perm=[2, 0, 1, 3])  # (batch, time, 2, u)


def _stacked(g, states):
    return g.op("Concat", [g.op("Unsqueeze", [h, g.const(np.array([0]))]) for h in states], axis=0)


def reverse(g, t, lengths):
    """Each row's first `length` steps in reverse order (time-major); the rest as they are."""
    return g.op("ReverseSequence", [t, lengths], batch_axis=1, time_axis=0)


def lengths64(g, seq_lens):
    """`seq_lens` as int64, as ReverseSequence takes them (built once per graph)."""
    return g.once(("lengths64", seq_lens), lambda: g.op("Cast", [seq_lens], to=TensorProto.INT64))


def time_mask(g, x, seq_lens):
    """`(time, batch, 1)` float: 1 at real steps, 0 at padding (built once per graph)."""
    return g.once(("time_mask", seq_lens), lambda: _time_mask(g, x, seq_lens))


def _time_mask(g, x, seq_lens):
    time = g.op("Gather", [g.op("Shape", [x]), g.const(np.int64(0))], axis=0)
    steps = g.op("Range", [g.const(np.int64(0)), time, g.const(np.int64(1))])
    lengths = g.op("Cast", [seq_lens], to=TensorProto.INT64)
    real = g.op(
        "Less",
        [
            g.op("Unsqueeze", [steps, g.const(np.array([1]))]),
            g.op("Unsqueeze", [lengths, g.const(np.array([0]))]),
        ],
    )
    return g.op("Unsqueeze", [g.op("Cast", [real], to=TensorProto.FLOAT), g.const(np.array([2]))])


def last_real_step(g, y, seq_lens):
    """`(batch, units)`: time-major `y` at each row's last real step (step 0 when empty)."""
    last = g.op("Max", [g.op("Sub", [seq_lens, g.const(np.int32(1))]), g.const(np.int32(0))])
    index = g.op(
        "Cast", [g.op("Unsqueeze", [last, g.const(np.array([1]))])], to=TensorProto.INT64
    )  # (batch, 1)
    batch_major = g.op("Transpose", [y], perm=[1, 0, 2])
    return g.op("GatherND", [batch_major, index], batch_dims=1)


def merge(g, forward, backward, mode, axis):
    """Merge the two directions' tensors as Keras' Bidirectional does (`axis`: the units axis)."""
    if mode == "concat":
        return g.op("Concat", [forward, backward], axis=axis)
    if mode == "sum":
        return g.op("Add", [forward, backward])
    if mode == "ave":
        return g.op("Mul", [g.op("Add", [forward, backward]), g.const(np.float32(0.5))])
    if mode == "mul":
        return g.op("Mul", [forward, backward])
    raise ValueError(f"merge_mode {mode!r} cannot be exported as one tensor.")


def sequence_lengths(g, tokens):
    """`(batch,)` int32 count of non-padding tokens (right padding)."""
    return _lengths(g, tokens, np.int32(0))


def feature_lengths(g, x, mask_value):
    """`(batch,)` int32 count of the steps of `x` `(batch, time, features)` that are not
    padding, a padded step being all `mask_value` (Keras' `Masking`; right padding)."""
    return _lengths(g, x, np.float32(mask_value), features=True)


def _lengths(g, x, padding, features=False):
    """Steps of `x` that are not `padding`, counted per row; with `features`, a step is
    padding only when every feature is."""
    real = g.op("Not", [g.op("Equal", [x, g.const(padding)])])
    real = g.op("Cast", [real], to=TensorProto.INT32)
    if features:
        real = g.op("ReduceMax", [real], axes=[2], keepdims=0)  # any feature (axes: opset < 18)
    return g.op("ReduceSum", [real, g.const(np.array([1]))], keepdims=0)


def int_input(name, *dims):
    return helper.make_tensor_value_info(name, TensorProto.INT32, list(dims))


def float_io(name, *dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))
