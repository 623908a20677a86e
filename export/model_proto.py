"""A built graph as an ONNX file's model: only the nodes its outputs need, no `Identity`
that merely copies an output, our opset and IR version, the run's metadata, checked.

Shared by both lowerings of a task model (`native_models`: native and Scan forms).
"""

import onnx
from onnx import helper

from .native import OPSET


def make_model(g, inputs, outputs, metadata):
    wanted = {o.name for o in outputs}
    nodes, used = _live(_without_output_copies(g.nodes, wanted), wanted)
    inits = [i for i in g.inits if i.name in used]
    graph = helper.make_graph(nodes, "rnn_keras", inputs, outputs, inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="rnn_keras.export.native",
    )
    model.ir_version = 8
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model


def _without_output_copies(nodes, outputs):
    """`nodes` with each `Identity` that only names a graph output folded into the node
    that makes its input: that node's output is renamed instead. onnxruntime keeps such
    an Identity, and runs it as a copy, when the input is also read by another node (the
    LM's state, both an output and the next layer's input: 3 of the step model's 22 nodes).
    Names read by a subgraph (a Scan body reads outer names) are left alone. Repeated, as
    a linear layer's f is an Identity too."""
    while len(folded := _fold_output_copies(nodes, outputs)) < len(nodes):
        nodes = folded
    return nodes


def _fold_output_copies(nodes, outputs):
    made = {name for node in nodes for name in node.output}
    inner = set().union(*(_read_by_subgraphs(node) for node in nodes))
    renamed, kept = {}, []
    for node in nodes:
        source = node.input[0] if node.op_type == "Identity" else None
        if (
            source in made
            and node.output[0] in outputs
            and source not in outputs | inner | renamed.keys()
        ):
            renamed[source] = node.output[0]
        else:
            kept.append(node)
    for node in kept:
        for names in (node.input, node.output):
            names[:] = [renamed.get(name, name) for name in names]
    return kept


def _live(nodes, wanted):
    """The nodes that what is `wanted` (the graph's outputs) depends on, in order, and every
    name they read. Built but never read (e.g. the final states of a tagger's layers), a
    node would still run: onnxruntime keeps it (4 GatherND and Transpose copies of every
    output of a 2-layer bidirectional tagger)."""
    needed, kept = set(wanted), []
    for node in reversed(nodes):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input, _read_by_subgraphs(node))
    return kept[::-1], needed


def _read_by_subgraphs(node):
    """Names a node's subgraphs (a Scan's body) read from the graph around them."""
    return {
        name
        for a in node.attribute
        if a.type == onnx.AttributeProto.GRAPH
        for inner in a.g.node
        for name in inner.input
    }
