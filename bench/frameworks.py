"""The benchmark's model in each framework, with the same weights everywhere.

2-layer bidirectional tanh RNN, input 64, hidden 256 per direction (concat),
then Dense 64 on every step. Each builder returns `forward(x)` and
`train_step(x, y)` (forward + BPTT + SGD update on a mean-squared loss), or
None where a column does not do that row.
"""

import numpy as np

FEATURES, HIDDEN, OUT, LAYERS = 64, 256, 64, 2


def shared_weights(seed=0):
    """`[(U, W, b) per layer per direction], (V, c)` as float32 arrays (Keras layout)."""
    rng = np.random.default_rng(seed)
    layers, width = [], FEATURES
    for _ in range(LAYERS):
        for _ in range(2):
            layers.append(
                (
                    rng.uniform(-0.1, 0.1, (width, HIDDEN)).astype(np.float32),
                    rng.uniform(-0.1, 0.1, (HIDDEN, HIDDEN)).astype(np.float32),
                    np.zeros(HIDDEN, np.float32),
                )
            )
        width = 2 * HIDDEN
    head = (rng.uniform(-0.1, 0.1, (2 * HIDDEN, OUT)).astype(np.float32), np.zeros(OUT, np.float32))
    return layers, head


def _flat(weights):
    layers, head = weights
    return [w for triple in layers for w in triple] + list(head)


def keras_model(kind, weights):
    """kind: 'ours' (rnn_keras DeepBidirectional) or 'keras' (Bidirectional(SimpleRNN) x2)."""
    import keras

    import rnn_keras as rk

    x = keras.Input((None, FEATURES), name="x")
    if kind == "ours":
        h = rk.DeepBidirectional(HIDDEN, num_layers=LAYERS)(x)
    else:
        h = x
        for _ in range(LAYERS):
            h = keras.layers.Bidirectional(keras.layers.SimpleRNN(HIDDEN, return_sequences=True))(h)
    model = keras.Model(x, keras.layers.Dense(OUT, name="head")(h))
    model.set_weights(_flat(weights))
    return model


def tensorflow_fns(model, jit_compile=False, fused=True):
    import keras
    import tensorflow as tf

    from rnn_keras.layers import RNN

    for layer in model._flatten_layers():
        if isinstance(layer, RNN):
            layer.fused_gradient = fused
    optimizer = keras.optimizers.SGD(1e-3)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def forward(x):
        return model(x, training=False)

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    return (lambda x: forward(x).numpy()), (lambda x, y: float(train_step(x, y)))


def torch_fns(weights, device="cpu"):
    """PyTorch's `nn.RNN` (cuDNN on device 'cuda'); NumPy in and out, copies included."""
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    layers, (V, c) = weights
    rnn = torch.nn.RNN(FEATURES, HIDDEN, LAYERS, batch_first=True, bidirectional=True)
    head = torch.nn.Linear(2 * HIDDEN, OUT)
    with torch.no_grad():
        for i, (U, W, b) in enumerate(layers):
            suffix = f"l{i // 2}" + ("_reverse" if i % 2 else "")
            getattr(rnn, f"weight_ih_{suffix}").copy_(torch.from_numpy(U.T.copy()))
            getattr(rnn, f"weight_hh_{suffix}").copy_(torch.from_numpy(W.T.copy()))
            getattr(rnn, f"bias_ih_{suffix}").copy_(torch.from_numpy(b))
            getattr(rnn, f"bias_hh_{suffix}").zero_()
        head.weight.copy_(torch.from_numpy(V.T.copy()))
        head.bias.copy_(torch.from_numpy(c))
    rnn, head = rnn.to(device), head.to(device)
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=1e-3)

    def forward(x):
        with torch.no_grad():
            return head(rnn(torch.from_numpy(x).to(device))[0]).cpu().numpy()

    def train_step(x, y):
        optimizer.zero_grad()
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        loss = torch.mean((head(rnn(x)[0]) - y) ** 2)
        loss.backward()
        optimizer.step()
        return float(loss)

    return forward, train_step


def export_onnx(model, path, file):
    """Write `model` lowered by `path` (scan, native or loop) to `file`."""
    import onnx

    from export.api import lower

    onnx.save(lower(model, {}, path, "sequence"), file)


def user_model(weights):
    """The same network as users get it: token ids in (one-hot over 64 ids, so `x_t U` is a
    row of the same `U`), built by the tagger's builder."""
    from rnn_keras.tasks.tag import tagger

    model = tagger(FEATURES, OUT, units=HIDDEN, num_layers=LAYERS)
    model.set_weights(_flat(weights))
    return model


def export_user_file(model, folder, form="scan"):
    """`python -m export`'s file for a tagger `model` (`export.api`: its lowering in `form`
    and metadata), with a vocabulary and labels of the sizes the model has."""
    from export import api
    from rnn_keras_common.vocab import Vocab

    ids, tags = model.get_layer("one_hot").depth, int(model.outputs[0].shape[-1])
    vocab = Vocab([chr(c) for c in range(33, 33 + ids - 1)])  # ids 1..ids-1; 0 pads
    labels = [f"t{i}" for i in range(tags)]
    [(file, _)] = api.export_model(model, {"task": "tag"}, vocab, labels, folder, form, False)
    return file


def quantize_user_file(file):
    """`python -m export --int8`'s copy of `file` (`export.quantize`), checked on token ids."""
    from export import quantize

    tokens = np.random.default_rng(0).integers(1, FEATURES, (8, 50)).astype(np.int32)
    quantize.quantize_file(file, tokens)
    return quantize.int8_path(file)


def user_forward(file):
    """`export.runtime.load(file).run(...)` on token ids: the default path, no TensorFlow."""
    from export import runtime

    model = runtime.load(file)
    return lambda tokens: model.run({"tokens": tokens})["logits"]


def onnx_forward(file):
    """onnxruntime's forward of an exported file; imports no TensorFlow."""
    from export import runtime

    session = runtime.make_session(file, "cpu")
    return lambda x: session.run(None, {"x": x})[0]
