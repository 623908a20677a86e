"""TensorFlow vs onnxruntime on real inputs; an export fails loudly above the tolerance."""

import numpy as np

from rnn_keras import data
from rnn_keras_common.vocab import pad

from . import native, runtime
from .tolerance import TOLERANCE, ParityError, difference, worst  # noqa: F401 (re-exported)


def real_inputs(cfg, vocab, kind, batch=4, seed=0, text=None):
    """`tokens` from the run's own text: a right-padded batch of different lengths.

    `text` is the run's sample (`sample.txt`); without one, the text file the config names.

    The LM's sequence model gets full windows (it is never padded), its step
    model one token; tag/classify get lines of lengths 5..40, so padding and
    the backward direction's start at each sequence's end are both exercised.
    """
    text = data.read_text(cfg.get("text")) if text is None else text
    if vocab.unit != "char":  # words or a CoNLL file's tokens, unknown ones included
        return _token_rows(text, vocab, batch, seed)
    known = set(vocab.chars)
    text = "".join(c for c in text[:200_000] if c in known)
    rng = np.random.default_rng(seed)
    if kind == "step":
        return np.array(
            [[vocab.encode(text[i])[0]] for i in rng.integers(0, len(text), batch)], np.int32
        )
    if cfg["task"] == "lm":
        starts = rng.integers(0, len(text) - 64, batch)
        return np.array([vocab.encode(text[s : s + 64]) for s in starts], np.int32)
    lengths = np.linspace(5, 40, batch).astype(int)
    rows = [
        vocab.encode(text[s : s + n].replace(" ", "") if cfg["task"] == "tag" else text[s : s + n])
        for s, n in zip(rng.integers(0, len(text) - 64, batch), lengths)
    ]
    return pad(rows)


def _token_rows(text, vocab, batch, seed):
    if vocab.unit == "word":
        words = vocab.split(text)
    else:  # a CoNLL file: its first column
        words = [ln.split()[0] for ln in text.splitlines() if ln.split()]
    rng = np.random.default_rng(seed)
    lengths = np.linspace(2, min(40, len(words)), batch).astype(int)
    starts = rng.integers(0, max(len(words) - 40, 1), batch)
    return pad([vocab.encode(words[s : s + n]) for s, n in zip(starts, lengths)])


def input_name(model):
    """The exports' name for the first input: `tokens` (ids), or `x` for float features."""
    return "tokens" if native.takes_tokens(model.inputs[0]) else "x"


def feeds_for(model, tokens, seed=0):
    feeds = {input_name(model): tokens}
    rng = np.random.default_rng(seed)
    for i, t in enumerate(model.inputs[1:]):  # non-zero states: the carried-state path matters
        feeds[f"state_{i}"] = (0.5 * rng.standard_normal((len(tokens), int(t.shape[-1])))).astype(
            np.float32
        )
    return feeds


def tensorflow_outputs(model, feeds):
    first = feeds[input_name(model)]
    if len(model.inputs) == 1:
        return [np.asarray(model(first, training=False))]
    states = [feeds[f"state_{i}"] for i in range(len(model.inputs) - 1)]
    return [np.asarray(o) for o in model([first, *states], training=False)]


def max_difference(
    model, onnx_path, tokens, device="cpu", runtime_name="onnxruntime", session=None, padded=False
):
    """Max abs difference over every output, padded positions of `logits` excluded unless
    `padded` (`keras_model.to_onnx`: the file gives there what Keras gives, a unidirectional
    RNN's last state or `Bidirectional`'s zeros; task files, whose readers skip padding,
    are compared at real steps, so that files written before that still compare).

    `session`: anything with onnxruntime's `run(names, feeds)` (e.g. onnx.reference's
    `ReferenceEvaluator`); by default a session of `runtime_name` on `device`.
    """
    feeds = feeds_for(model, tokens)
    expected = tensorflow_outputs(model, feeds)
    session = session or runtime.make_session(onnx_path, device, runtime=runtime_name)
    got = session.run(None, feeds)
    diffs = []
    for i, (a, b) in enumerate(zip(expected, got)):
        if i == 0 and a.ndim == 3 and tokens.ndim == 2 and not padded:  # (batch, time, classes):
            real = tokens != 0  # padding (id 0) is not an output
            a, b = a[real], b[real]
        diffs.append(difference(a, b))
    return worst(diffs)


def check(model, onnx_path, inputs, device="cpu", padded=False):
    """The max abs difference on `inputs` (`padded`: as above); `ParityError` above
    `TOLERANCE`."""
    diff = max_difference(model, onnx_path, inputs, device, padded=padded)
    if not diff <= TOLERANCE:
        raise ParityError(
            f"{onnx_path}: onnxruntime differs from TensorFlow by {diff:.3g} "
            f"(tolerance {TOLERANCE}). The export is not trustworthy; report this."
        )
    return diff
