"""Export a run folder to self-contained ONNX files, checked against TensorFlow.

    from export import api
    api.export_run("runs/lm-...")              # model.onnx (+ step.onnx for the LM)
    api.export_run("runs/tag-...", path="native")

The lowering of `model.onnx`, chosen by measurement (`python -m bench`):
`path="scan"` (default, the fastest on CPU at batch 1 and 32) hoists `x_t U + b`
into one MatMul and runs the recurrence of both directions in one ONNX `Scan`;
`path="native"` lowers each RNN / Bidirectional layer to one ONNX `RNN` node
(the form for GPUs, where onnxruntime runs it as one kernel); `path="loop"`
uses tf2onnx, which turns the `tf.while_loop` into an ONNX `Loop`. The LM's
`step.onnx` is plain MatMul ops for every path but `loop`. Every file passes
`onnx.checker` and a parity check on real inputs (max abs difference <= 1e-4)
before it is renamed into place.
"""

import functools
import hashlib
import json
import os
import pathlib

import keras
import onnx

from rnn_keras.train import checkpoint, runs, saving

from . import metadata, parity

PATHS = ("scan", "native", "loop")


def _versions():
    import tensorflow as tf
    import tf2onnx

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
    }


def lower(model, meta, path, kind):
    if path in ("scan", "native"):
        from . import native_models

        if kind == "step":  # plain ops either way: one step has no recurrence to lower
            return native_models.step_model(model, meta)
        return native_models.sequence_model(model, meta, form=path)
    from . import loop

    return loop.convert(model, meta, time=1 if kind == "step" else None)


def export_model(
    model, cfg, vocab, labels, out_dir, path="scan", check=True, sample=None, source=None
):
    """Write `model.onnx` (+ `step.onnx` for the LM) to `out_dir`; returns `[(file, max_diff)]`.

    The parity check reads `sample` (a run's `sample.txt`), else the file `cfg["text"]`;
    `source` (`run_source`) goes into the files' metadata.
    """
    if path not in PATHS:
        raise ValueError(f"`path` must be one of {PATHS}, got {path!r}.")
    out_dir = pathlib.Path(out_dir)
    if cfg["task"] in ("translate", "caption"):
        return _export_encoder_decoder(model, cfg, vocab, labels, out_dir, check, sample, source)
    kinds = ["sequence", "step"] if cfg["task"] == "lm" else ["sequence"]
    sizes = [int(t.shape[-1]) for t in model.inputs[1:]]
    results = []
    for kind in kinds:
        meta = metadata.to_props(
            cfg["task"],
            kind,
            vocab.chars,
            labels,
            cfg,
            sizes,
            path,
            _versions(),
            vocab.unit,
            source,
        )
        onnx_model = lower(model, meta, path, kind)
        final = out_dir / ("step.onnx" if kind == "step" else "model.onnx")
        checker = None
        if check:  # checker(path): parity on the run's own text
            real = parity.real_inputs(cfg, vocab, kind, text=sample)
            checker = functools.partial(parity.check, model, inputs=real)
        results.append((final, write_checked(onnx_model, final, checker)))
    return results


def _export_encoder_decoder(model, cfg, vocab, labels, out_dir, check, sample, source=None):
    """`encoder.onnx` and `decoder_step.onnx`, checked together, then both renamed."""
    from . import seq2seq

    props = metadata.to_props(
        cfg["task"], "", vocab.chars, labels, cfg, [], "loop", _versions(), vocab.unit, source
    )
    temps, names = {}, seq2seq.files(cfg["task"])
    try:
        for kind, onnx_model in seq2seq.convert(model, props).items():
            fd, temps[kind] = checkpoint.temp_file(out_dir / names[kind], ".onnx")
            os.close(fd)
            onnx.save(onnx_model, temps[kind])
        if sample is None and cfg["task"] == "translate":  # CMUdict: the run kept no sample
            from rnn_keras.data import pairs

            sample = pairs.cmudict_path().read_text(encoding="utf-8")[: runs.SAMPLE_CHARS]
        diff = seq2seq.check(model, temps, sample, vocab) if check else None
        for kind, tmp in temps.items():
            os.replace(tmp, out_dir / names[kind])
        return [(out_dir / names[kind], diff) for kind in temps]
    finally:
        for tmp in temps.values():
            pathlib.Path(tmp).unlink(missing_ok=True)


def write_checked(onnx_model, final, check=None):
    """Save to a temporary name, `check(path)` it there (its max abs difference), then
    rename: no half-written or unchecked file under `final`. Returns the difference."""
    fd, tmp = checkpoint.temp_file(final, ".onnx")
    os.close(fd)
    try:
        onnx.save(onnx_model, tmp)
        diff = check(tmp) if check else None
        os.replace(tmp, final)
        return diff
    finally:
        pathlib.Path(tmp).unlink(missing_ok=True)


def load_run_model(run_dir):
    """The run's best model (or its latest checkpoint's), config and vocabulary."""
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder. Pass a folder written by train.py.")
    cfg = json.loads(runs.read_config(run_dir).to_json())
    vocab, labels = runs.read_vocab(run_dir)
    return saving.load_model(model_file(run_dir)), cfg, vocab, labels


def model_file(run_dir):
    """The run's best model, or its latest checkpoint's."""
    best = pathlib.Path(run_dir) / "best.keras"
    return best if best.is_file() else checkpoint.latest_dir(run_dir) / "model.keras"


def run_source(run_dir):
    """`{"file", "sha256"}` of the file the export's weights come from, relative to the run."""
    file = model_file(run_dir)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return {"file": file.relative_to(run_dir).as_posix(), "sha256": digest}


def run_sample(run_dir, cfg):
    """The text the parity check reads: the run's `sample.txt`, or its text if still there."""
    sample = runs.read_sample(run_dir)
    if sample is None and cfg.get("text") and not pathlib.Path(cfg["text"]).is_file():
        raise FileNotFoundError(
            f"{run_dir} keeps no text sample (a run from before rnn-keras 0.2) and its training "
            f"text {cfg['text']} is gone: put the text back there to export this run."
        )
    return sample


def load_matching_run(meta, run_dir):
    """Refuse to compare a model with a run it was not exported from."""
    model, cfg, vocab, _ = load_run_model(run_dir)
    sizes = [int(t.shape[-1]) for t in model.inputs[1:]] if cfg["task"] == "lm" else []
    differ = [
        what
        for what, ours, theirs in (
            ("task", meta["task"], cfg["task"]),
            ("vocabulary", list(meta["vocab"]), list(vocab.chars)),
            ("state sizes", meta.get("state_sizes") or sizes, sizes),
        )
        if ours != theirs
    ]
    if differ:
        raise ValueError(
            f"--compare {run_dir}: this model does not belong to that run (the "
            f"{' and '.join(differ)} differ: model {meta['task']!r} with {len(meta['vocab'])} "
            f"characters, run {cfg['task']!r} with {len(vocab.chars)}). Pass the run folder "
            "the model was exported from."
        )
    return model, cfg, vocab


def quantize_run(run_dir, results, kind="int8"):
    """int8 (or fp16) copies of an LM's, tagger's or classifier's exported files
    (`export.quantize`), checked on the run's text; returns `[(copy, its float file, max
    diff, agreement, what agreed)]`."""
    from . import quantize

    cfg = json.loads(runs.read_config(run_dir).to_json())  # not the model: its files are written
    vocab, _ = runs.read_vocab(run_dir)
    sample = run_sample(run_dir, cfg)
    out = []
    for file, _ in results:
        kind_of_input = "step" if file.name == "step.onnx" else "sequence"
        tokens = parity.real_inputs(cfg, vocab, kind_of_input, batch=64, text=sample)
        diff, agreement, what = quantize.quantize_file(file, tokens, kind)
        out.append((quantize.copy_path(file, kind), file, diff, agreement, what))
    return out


def stale_copies_note(results, fresh=()):
    """A note naming the int8 and fp16 copies an earlier export left beside these new float
    files (they are no longer copies of them), or None; `fresh`: the kinds written now."""
    from .quantize import copy_path

    stale = [
        copy_path(f, kind)
        for kind in ("int8", "fp16")
        if kind not in fresh
        for f, _ in results
        if copy_path(f, kind).is_file()
    ]
    if stale:
        kinds = [k for k in ("int8", "fp16") if any(p.name.endswith(f".{k}.onnx") for p in stale)]
        kind = " and ".join(kinds)
        what, them = (
            (f"are {kind} copies", "them") if len(stale) > 1 else (f"is an {kind} copy", "it")
        )
        flags = " ".join(f"--{k}" for k in kinds)
        return (
            f"note: {', '.join(map(str, stale))} {what} of an earlier export, not of these "
            f"files: run `python -m export RUN {flags}` to write {them} afresh, or delete {them}."
        )
    return None


def export_run(run_dir, path="scan", check=True, out_dir=None):
    """Export the run in `run_dir` (next to it by default); returns `[(file, max_diff)]`."""
    model, cfg, vocab, labels = load_run_model(run_dir)
    sample, source = run_sample(run_dir, cfg), run_source(run_dir)
    out = out_dir or run_dir
    return export_model(model, cfg, vocab, labels, out, path, check, sample, source)
