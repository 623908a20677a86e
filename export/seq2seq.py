"""Encoder-decoder runs as two ONNX files, both with dynamic batch and lengths:

- `encoder.onnx` (translate): `source (batch, S) int32`, or `image_encoder.onnx` (caption):
  `image (batch, 64, 64, 3) float32` RGB 0..255 -> `memory (batch, S, F)` (S: source
  positions or feature-grid cells), `keys (batch, S, A)`
  (the attention's `U_a h_j`, computed once per source), `mask (batch, S)` (1 at real
  positions) and `state (batch, units)` (the decoder's `s_0`);
- `decoder_step.onnx`: `tokens (n,) int32`, `state`, `memory`, `keys`, `mask` ->
  `logits (n, vocab)`, `state_out`, `attention (n, S)`: one step for n hypotheses.

Decoding (greedy, beam) is `rnn_keras_common.decoding`, the same code TensorFlow uses.
Both files are tf2onnx conversions of the Keras layers' own functions; each passes
`onnx.checker` and a TensorFlow-vs-onnxruntime parity check (<= 1e-4) on real
sources before it is renamed into place.
"""

import numpy as np
import tensorflow as tf

from rnn_keras.tasks.seq2seq import KerasDecoding
from rnn_keras_common.vocab import pad

from . import loop, metadata, native, parity
from .parity import ParityError, difference, worst
from .session import make_session

ENCODER_FILES = {"translate": "encoder.onnx", "caption": "image_encoder.onnx"}
STEP_FILE = "decoder_step.onnx"


def files(task):
    """`{kind: file name}` of a task's two files."""
    return {"encoder": ENCODER_FILES[task], "decoder_step": STEP_FILE}


OUTPUTS = {
    "encoder": ["memory", "keys", "mask", "state"],
    "decoder_step": ["logits", "state_out", "attention"],
}


def _specs(decoding):
    memory, s0 = decoding.encoder.outputs
    features, units = int(memory.shape[-1]), int(s0.shape[-1])
    attention = decoding.decoder.attention_units
    first = decoding.encoder.inputs[0]
    if native.takes_tokens(first):
        source = [tf.TensorSpec((None, None), tf.int32, name="source")]
    else:  # images: (batch, height, width, 3), RGB values 0..255
        source = [tf.TensorSpec((None, *first.shape[1:]), tf.float32, name="image")]
    step = [
        tf.TensorSpec((None,), tf.int32, name="tokens"),
        tf.TensorSpec((None, units), tf.float32, name="state"),
        tf.TensorSpec((None, None, features), tf.float32, name="memory"),
        tf.TensorSpec((None, None, attention), tf.float32, name="keys"),
        tf.TensorSpec((None, None), tf.float32, name="mask"),
    ]
    return {"encoder": source, "decoder_step": step}


def functions(model):
    """The two `tf.function`s the files are made of, and their signatures."""
    decoding = KerasDecoding(model)

    def encoder(source):
        memory, keys, s0 = decoding.encode_tensors(source)
        if source.dtype.is_integer:
            mask = tf.cast(tf.not_equal(source, 0), tf.float32)
        else:  # every cell of an image's feature grid is real
            mask = tf.ones(tf.shape(memory)[:2], tf.float32)
        return memory, keys, mask, s0

    def decoder_step(tokens, state, memory, keys, mask):
        return decoding.decoder.step(tokens, state, memory, keys, mask)

    return {"encoder": encoder, "decoder_step": decoder_step}, _specs(decoding)


def convert(model, props):
    """`{kind: onnx model}` with `props` (metadata) plus each file's kind."""
    fns, specs = functions(model)
    return {
        kind: loop.from_function(
            fn, specs[kind], OUTPUTS[kind], {**props, metadata.PREFIX + "kind": kind}
        )
        for kind, fn in fns.items()
    }


def sample_sources(sample, vocab, count=6):
    """Source id rows of different lengths from a run's data sample (CMUdict or user TSV)."""
    rows = []
    for line in sample.splitlines():
        word = line.split("\t")[0] if "\t" in line else line.split(" ")[0].split("(")[0]
        try:
            ids = vocab.encode(word if vocab.unit == "char" else vocab.split(word))
        except ValueError:
            continue  # a dropped entry (digits, dots) or a comment
        if ids and len({len(r) for r in rows} | {len(ids)}) > len(rows):
            rows.append(ids)  # one row per length: padding is exercised
        if len(rows) == count:
            break
    return pad(rows)


def sample_images(count=4):
    from rnn_keras.data import scenes

    return scenes.scenes("test", count)[0].astype(np.float32)


def check(model, paths, sample, vocab, device="cpu"):
    """Max abs difference of both files vs TensorFlow on real sources; `ParityError` if large.

    Sources: words of the run's data `sample` (translate), or generated scenes (caption).
    """
    fns, specs = functions(model)
    name = specs["encoder"][0].name
    source = sample_sources(sample, vocab) if name == "source" else sample_images()
    enc = make_session(paths["encoder"], device)
    got = enc.run(OUTPUTS["encoder"], {name: source})
    want = [t.numpy() for t in fns["encoder"](tf.constant(source))]
    diffs = [difference(w, g) for g, w in zip(got, want)]
    memory, keys, mask, state = want
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, model.outputs[0].shape[-1], len(source)).astype(np.int32)
    feeds = dict(tokens=tokens, state=state, memory=memory, keys=keys, mask=mask)
    step = make_session(paths["decoder_step"], device)
    got = step.run(OUTPUTS["decoder_step"], feeds)
    want = [t.numpy() for t in fns["decoder_step"](*(tf.constant(v) for v in feeds.values()))]
    diffs += [difference(w, g) for g, w in zip(got, want)]
    diff = worst(diffs)
    if not diff <= parity.TOLERANCE:  # read at call time, as parity.check does
        raise ParityError(
            f"onnxruntime and TensorFlow differ by {diff:.3g} (> {parity.TOLERANCE}) on the "
            "encoder-decoder files; they were not written."
        )
    return diff
