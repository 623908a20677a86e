"""One exported ONNX file: its session and what its metadata says (no TensorFlow here)."""

import pathlib

import numpy as np
import onnx

from rnn_keras_common.vocab import make_vocab, pad

from .metadata import MetadataError, from_props
from .session import make_session

# a run folder's main file: the LM's step model, an encoder-decoder's encoder (its
# decoder_step.onnx goes along), else the whole-sequence model
RUN_FILES = ("step.onnx", "encoder.onnx", "image_encoder.onnx", "model.onnx")


def run_file(run_dir):
    """The main exported file in `run_dir` (`RUN_FILES` order), or None."""
    run_dir = pathlib.Path(run_dir)
    return next((run_dir / n for n in RUN_FILES if (run_dir / n).is_file()), None)


def resolve(path):
    """`path` itself, or for a run folder its main exported file (`FileNotFoundError` if none)."""
    path = pathlib.Path(path)
    if not path.is_dir():
        return path
    found = run_file(path)
    if found is None:
        raise FileNotFoundError(
            f"{path} holds no exported model ({', '.join(RUN_FILES)}); export it first with "
            f"`python -m export {path}`."
        )
    return found


def stale_note(path, meta=None):
    """A note when `path` sits in the run folder it was exported from and the run has trained
    further since (`--resume ... --no-export`, a stop before the export): the run's model file
    is no longer the one whose SHA-256 the export recorded. Copying the folder keeps it quiet.
    `meta`: the file's metadata when it has been read already."""
    import hashlib

    path = pathlib.Path(path)
    try:
        source = (meta or read_metadata(path)).get("source")
    except (MetadataError, FileNotFoundError):
        return None  # not ours, or gone: loading it says so
    if not source:
        return None  # an export from before sources were recorded, or a model of your own
    best, recorded = path.parent / "best.keras", path.parent / source["file"]
    now = best if best.is_file() else recorded  # a best model that appeared since counts too
    if not now.is_file():
        return None  # not beside its run: nothing to compare with
    if now == recorded and hashlib.sha256(now.read_bytes()).hexdigest() == source["sha256"]:
        return None
    return (
        f"note: {path} was exported from an earlier state of the run: {now} has changed since "
        f"(trained further). `python -m export {path.parent}` writes it afresh."
    )


def read_metadata(path):
    """Our metadata from an ONNX file, with clear errors for files that are not ours."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file.")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and friends for garbage
        raise MetadataError(
            f"{path} is not a readable ONNX model ({type(err).__name__}). "
            "Pass the model.onnx or step.onnx that `python -m export` wrote."
        ) from err
    return from_props({p.key: p.value for p in model.metadata_props}, str(path))


class Model:
    """A session plus what the metadata says: task, vocabulary, labels."""

    def __init__(self, path, device="cpu", cuda_options=None, threads=0, runtime="onnxruntime"):
        self.path = pathlib.Path(path)
        self.meta = read_metadata(path)
        self.vocab = make_vocab(self.meta["vocab"], self.meta["unit"])
        self.labels = self.meta["labels"]
        self.session = make_session(path, device, cuda_options, threads, runtime)
        self.runtime = runtime
        self.device = device
        self.inputs = {i.name: i.shape for i in self.session.get_inputs()}
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feeds):
        """Raw outputs `{name: array}` for `feeds` `{name: array}`, checked first."""
        for name, shape in self.inputs.items():
            if name not in feeds:
                raise ValueError(f"{self.path.name} needs input {name!r} {shape}.")
            got = np.shape(feeds[name])
            if len(got) != len(shape) or any(
                isinstance(d, int) and d != g for d, g in zip(shape, got)
            ):
                raise ValueError(
                    f"Input {name!r} of {self.path.name} must have shape {shape} "
                    f"(named dimensions are free), got {got}."
                )
        return dict(zip(self.output_names, self.session.run(self.output_names, feeds)))

    def encode_batch(self, texts):
        if isinstance(texts, str) or not texts:
            raise ValueError("Pass a non-empty list of strings.")
        rows = [
            self.vocab.encode(t if self.vocab.unit == "char" else self.vocab.split(t))
            for t in texts
        ]
        if not all(rows):
            raise ValueError("Every text must hold at least one character.")
        return pad(rows)
