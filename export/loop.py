"""tf2onnx lowering: the model's `tf.function` with a named `TensorSpec` signature.

tf2onnx turns our `tf.while_loop` into an ONNX `Loop`. Graph inputs come out
with our names (`tokens`, `state_i`); outputs are renamed to `logits` and
`state_i_out` so both lowering paths have one interface.
"""

import onnx
import tensorflow as tf
import tf2onnx

from . import native

OPSET = native.OPSET  # one opset for every file we write


def _signature(model, time=None):
    first = model.inputs[0]
    if native.takes_tokens(first):
        specs = [tf.TensorSpec((None, time), tf.int32, name="tokens")]
    else:  # float features, e.g. the benchmark's model
        specs = [tf.TensorSpec((None, time, int(first.shape[-1])), tf.float32, name="x")]
    specs += [
        tf.TensorSpec((None, int(t.shape[-1])), tf.float32, name=f"state_{i}")
        for i, t in enumerate(model.inputs[1:])
    ]
    return specs


def _rename_outputs(onnx_model, new_names):
    graph = onnx_model.graph
    mapping = {out.name: new for out, new in zip(graph.output, new_names)}
    for node in graph.node:
        node.output[:] = [mapping.get(n, n) for n in node.output]
        node.input[:] = [mapping.get(n, n) for n in node.input]
    for out in graph.output:
        out.name = mapping[out.name]


def _drop_unused_opsets(onnx_model):
    """tf2onnx always imports `ai.onnx.ml`; a runtime without it would refuse the file."""
    used = {n.domain or "" for n in onnx_model.graph.node}
    for graph in _subgraphs(onnx_model.graph):
        used |= {n.domain or "" for n in graph.node}
    keep = [o for o in onnx_model.opset_import if (o.domain or "") in used | {"", "ai.onnx"}]
    del onnx_model.opset_import[:]
    onnx_model.opset_import.extend(keep)


def _subgraphs(graph):
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                yield sub
                yield from _subgraphs(sub)


def convert(model, metadata, time=None):
    """The ONNX model of `model` (sequence, or one step when `time=1`)."""
    stateful = len(model.inputs) > 1
    signature = _signature(model, time)

    if stateful:

        def call(tokens, *states):
            return model([tokens, *states], training=False)
    else:

        def call(inputs):
            return model(inputs, training=False)

    names = ["logits"] + [f"state_{i}_out" for i in range(len(signature) - 1)]
    return from_function(call, signature, names, metadata)


def from_function(fn, signature, output_names, metadata):
    """tf2onnx of `fn` over `signature`: outputs renamed, opsets trimmed, metadata, checked."""
    compiled = tf.function(fn, input_signature=signature)
    onnx_model, _ = tf2onnx.convert.from_function(compiled, input_signature=signature, opset=OPSET)
    _rename_outputs(onnx_model, output_names)
    _drop_unused_opsets(onnx_model)
    for key, value in metadata.items():
        onnx_model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(onnx_model)
    return onnx_model
