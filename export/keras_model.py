"""Your own Keras model, built from rnn_keras layers, to ONNX (no run folder needed).

    import export.keras_model   # rnn_keras_export.keras_model once installed
    diff = export.keras_model.to_onnx(model, "mine.onnx")                # Scan form, CPU
    export.keras_model.to_onnx(model, "mine.onnx", form="native")        # ONNX RNN nodes, CUDA
    export.keras_model.to_onnx(model, "mine.onnx", form="loop")          # tf2onnx's Loop

The model takes one input, token ids `(batch, time)` int32 through `OneHot` or `Embedding`
(with `mask_zero=True`, 0 is padding: right-pad with it) or float features `(batch, time,
features)`, and gives one output. The Scan and native forms read `OneHot`/`Embedding`,
`Masking` (first, on float features: right-pad with its `mask_value`), `RNN`,
`Bidirectional` (ours, or `keras.layers.Bidirectional` around our `RNN`),
`DeepBidirectional`, `SequencePool` and a last linear `Dense` (the logits); `form="loop"`
takes any layer tf2onnx converts. The file's input is `tokens` (or `x`), its output
`logits`. Like `python -m export`, the file is checked against the Keras model before it is
written under its name: the max abs difference on a right-padded batch of random inputs,
padded steps included (there the file gives what Keras gives: a unidirectional RNN's last
state, zeros from `Bidirectional`), is returned, above 1e-4 it is a `ParityError`. A model
that ends in a recurrence outputs its states.
"""

import functools
import pathlib

import keras
import numpy as np

from rnn_keras.layers import OneHot

from . import api, metadata, native, parity

FORMS = ("scan", "native", "loop")


def to_onnx(model, path, form="scan", check=True, seed=0):
    """Write `model` to `path` in `form`; returns the max abs difference (None unchecked)."""
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {FORMS}, got {form!r}.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"to_onnx takes a model with one input and one output; this one has "
            f"{len(model.inputs)} and {len(model.outputs)}; Keras' own "
            "model.export(path, format='onnx') writes any model (tf2onnx's Loop, unchecked)."
        )
    meta = {metadata.PREFIX + "producer": metadata.OWN_MODEL, metadata.PREFIX + "path": form}
    onnx_model = api.lower(model, meta, form, "sequence")
    inputs = sample_inputs(model, seed=seed)
    checker = functools.partial(parity.check, model, inputs=inputs, padded=True) if check else None
    return api.write_checked(onnx_model, pathlib.Path(path), checker)


def sample_inputs(model, batch=4, time=12, seed=0):
    """Random inputs for `model`: ids right-padded to different lengths when it masks 0,
    full rows otherwise; float features N(0, 1)."""
    rng = np.random.default_rng(seed)
    first = model.inputs[0]
    if not native.takes_tokens(first):
        x = rng.standard_normal((batch, time, int(first.shape[-1]))).astype(np.float32)
        masking = [la for la in model.layers if isinstance(la, keras.layers.Masking)]
        for row, n in zip(x, np.linspace(2, time, batch).astype(int) if masking else []):
            row[n:] = masking[0].mask_value  # right-padded with it, lengths 2..time
        return x
    layer = next(la for la in model.layers if isinstance(la, (OneHot, keras.layers.Embedding)))
    depth = layer.depth if isinstance(layer, OneHot) else layer.input_dim
    low = 1 if layer.mask_zero else 0
    tokens = rng.integers(low, depth, (batch, time)).astype(np.int32)
    if layer.mask_zero:
        for row, n in zip(tokens, np.linspace(2, time, batch).astype(int)):
            row[n:] = 0  # lengths 2..time
    return tokens
