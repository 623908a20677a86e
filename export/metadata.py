"""What an exported ONNX file says about itself, in its `metadata_props` (TensorFlow-free).

Keys: `rnn_keras.task` (lm, tag, classify, translate), `rnn_keras.kind` (sequence, step;
encoder, decoder_step),
`rnn_keras.vocab` (JSON list of characters; id 0 is padding), `rnn_keras.labels`
(JSON list or null), `rnn_keras.config` (the TrainConfig as JSON),
`rnn_keras.state_sizes` (JSON list, one per layer, for the LM), `rnn_keras.path`
(native or loop), `rnn_keras.versions` (JSON), `rnn_keras.source` (JSON: the run's file
the weights came from and its SHA-256, so that inference can tell when the run has trained
further). Values are parsed as JSON with a size limit, never evaluated.
"""

import json

PREFIX = "rnn_keras."
OWN_MODEL = "export.keras_model.to_onnx"  # a user's model: no task, vocabulary or labels
MAX_VALUE_BYTES = 1 << 20  # a vocabulary or config is a few KiB; refuse anything huge
TASKS = ("lm", "tag", "classify", "translate", "caption")


class MetadataError(ValueError):
    """The ONNX file lacks our metadata, or it is malformed."""


def to_props(
    task, kind, vocab_chars, labels, config, state_sizes, path, versions, unit="char", source=None
):
    values = {
        "unit": unit,
        "task": task,
        "kind": kind,
        "vocab": vocab_chars,
        "labels": labels,
        "config": config,
        "state_sizes": state_sizes,
        "path": path,
        "versions": versions,
        **({"source": source} if source else {}),
    }
    return {
        PREFIX + k: v
        if isinstance(v, str) and k in ("task", "kind", "path", "unit")
        else json.dumps(v, ensure_ascii=False)
        for k, v in values.items()
    }


def _json(props, key, source):
    raw = props[PREFIX + key]
    if len(raw.encode()) > MAX_VALUE_BYTES:
        raise MetadataError(
            f"{source}: metadata '{PREFIX}{key}' is larger than "
            f"{MAX_VALUE_BYTES} bytes; the file is not an rnn-keras export."
        )
    try:
        return json.loads(raw)
    except ValueError as err:
        raise MetadataError(
            f"{source}: metadata '{PREFIX}{key}' is not valid JSON ({err}). "
            "Re-export the model with `python -m export RUN_DIR`."
        ) from err


def from_props(props, source="model"):
    """Parse and check our keys from a `{key: value}` dict of metadata_props."""
    missing = [k for k in ("task", "kind", "vocab") if PREFIX + k not in props]
    if missing and props.get(PREFIX + "producer") == OWN_MODEL:
        raise MetadataError(
            f"{source} is a model of your own ({OWN_MODEL}): no task or vocabulary to load it "
            "by. Run it with onnxruntime.InferenceSession: input 'tokens' (or 'x'), output "
            "'logits'."
        )
    if missing:
        raise MetadataError(
            f"{source} has no rnn-keras metadata ({', '.join(PREFIX + k for k in missing)} "
            "missing). Export it with `python -m export RUN_DIR`."
        )
    meta = {
        "task": props[PREFIX + "task"],
        "kind": props[PREFIX + "kind"],
        "path": props.get(PREFIX + "path", ""),
        "unit": props.get(PREFIX + "unit", "char"),  # files from before 0.2 are by character
    }
    if meta["task"] not in TASKS:
        raise MetadataError(f"{source}: unknown task {meta['task']!r} in metadata.")
    for key in ("vocab", "labels", "config", "state_sizes", "versions", "source"):
        meta[key] = _json(props, key, source) if PREFIX + key in props else None
    vocab, unit = meta["vocab"], meta["unit"]
    if unit not in ("char", "token", "word"):
        raise MetadataError(f"{source}: unknown vocabulary unit {unit!r} in metadata.")
    size_ok = (lambda c: len(c) == 1) if unit == "char" else (lambda c: len(c) >= 1)
    if not isinstance(vocab, list) or not all(isinstance(c, str) and size_ok(c) for c in vocab):
        raise MetadataError(f"{source}: metadata vocabulary is not a list of {unit}s.")
    return meta
