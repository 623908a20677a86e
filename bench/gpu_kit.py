"""The GPU machine's kit, made here with TensorFlow: exported files, inputs and CPU answers.

    python -m bench.gpu_kit KIT --lm RUN --tag RUN [--translate RUN] [--caption RUN]
    python -m bench.gpu KIT --device cuda        # there: checks, then speed (no TensorFlow)

The GPU machine has onnxruntime-gpu and PyTorch but no TensorFlow, so all that needs
TensorFlow happens here. Each run is exported (lm and tag in the native form, CUDA's, and
the Scan form; an encoder-decoder in its one form; each export checked against TensorFlow
as `python -m export` checks it); every sequence file gets a right-padded batch of
different lengths with onnxruntime-CPU's outputs for it; the LM a generated text, the
translator its n best for some test words, the captioner its captions of generated scenes;
and the benchmark's model (`bench.frameworks`: 2-layer bidirectional, input 64, hidden 256,
Dense 64) its native and Scan files and the native one's fp16 copy. `manifest.json` lists it all.
"""

import json
import pathlib
import shutil

import numpy as np

from bench import cli
from rnn_keras_common.cli import check_out_folder
from rnn_keras_common.cli import parser as cli_parser

PRIME, LENGTH, SEED = "ROMEO:", 200, 5
BEAM = 5


def _case(folder, file, model, cfg, vocab, kind, sample):
    """`file`'s inputs (padded rows of different lengths) and onnxruntime-CPU's outputs."""
    from export import parity, runtime

    feeds = parity.feeds_for(model, parity.real_inputs(cfg, vocab, kind, batch=8, text=sample))
    session = runtime.make_session(file, "cpu")
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, feeds)))
    npz = file.with_suffix(".npz")
    np.savez(npz, **feeds, **{f"out:{k}": v for k, v in outputs.items()})
    return {"file": str(file.relative_to(folder)), "arrays": str(npz.relative_to(folder))}


def _fp16_case(folder, file, case):
    """`file`'s fp16 copy (`export --fp16`) on `case`'s inputs, held to the float32 answers
    within 4x the difference the copy has from them on the CPU (on CUDA, fp16 rounds in
    another order: the same size of error, not the same error)."""
    from bench.gpu import case_difference
    from export import quantize

    fp16 = quantize.copy_path(file, "fp16")
    quantize.fp16_copy(file, fp16)
    half = {"file": str(fp16.relative_to(folder)), "arrays": case["arrays"]}
    return {**half, "tolerance": max(4 * case_difference(folder, half, "cpu"), 1e-3)}


def sequence_run(folder, name, run_dir, manifest):
    """An lm / tag / classify run in the native and Scan forms, with cases (and the LM's text)."""
    from export import api, runtime

    model, cfg, vocab, labels = api.load_run_model(run_dir)
    sample = api.run_sample(run_dir, cfg)
    for path in ("native", "scan"):
        out = folder / name / path
        out.mkdir(parents=True)
        files = api.export_model(model, cfg, vocab, labels, out, path, check=True, sample=sample)
        for file, _ in files:
            kind = "step" if file.name == "step.onnx" else "sequence"
            manifest["cases"].append(_case(folder, file, model, cfg, vocab, kind, sample))
            if path == "native":
                manifest["cases"].append(_fp16_case(folder, file, manifest["cases"][-1]))
        if cfg["task"] == "lm":
            step = out / "step.onnx"
            text = runtime.load(step).generate(PRIME, LENGTH, seed=SEED)
            manifest["generate"].append(
                {
                    "file": str(step.relative_to(folder)),
                    "prime": PRIME,
                    "length": LENGTH,
                    "seed": SEED,
                    "text": text,
                }
            )


def encoder_decoder_run(folder, name, run_dir, manifest, sources):
    """A translate or caption run's files and onnxruntime-CPU's n best for `sources`."""
    from export import api, runtime

    out = folder / name
    out.mkdir(parents=True)
    model, cfg, vocab, labels = api.load_run_model(run_dir)
    sample = api.run_sample(run_dir, cfg)  # encoder-decoders have one form: no `path` choice
    files = api.export_model(model, cfg, vocab, labels, out, check=True, sample=sample)
    encoder = next(f for f, _ in files if f.name.endswith("encoder.onnx"))
    decoded = runtime.load(encoder)
    inputs = [str(s.relative_to(folder)) if isinstance(s, pathlib.Path) else s for s in sources]
    found = (decoded.translate if cfg["task"] == "translate" else decoded.caption)(
        sources, beam=BEAM, nbest=BEAM
    )
    manifest["decode"].append(
        {
            "file": str(encoder.relative_to(folder)),
            "task": cfg["task"],
            "inputs": inputs,
            "beam": BEAM,
            "nbest": [[[t, float(s)] for t, s in h] for h in found],
        }
    )


def speed_files(folder, manifest):
    """The benchmark's model in the native and Scan forms (weights: `shared_weights()`) and
    the native one's fp16 copy."""
    from bench import frameworks as fw
    from export.quantize import fp16_copy

    (folder / "speed").mkdir()
    model = fw.keras_model("ours", fw.shared_weights())
    for path in ("native", "scan"):
        fw.export_onnx(model, path, str(folder / "speed" / f"{path}.onnx"))
        manifest["speed"][path] = f"speed/{path}.onnx"
    fp16_copy(folder / "speed" / "native.onnx", folder / "speed" / "native.fp16.onnx")
    manifest["speed"]["native_fp16"] = "speed/native.fp16.onnx"


def scenes(folder, count=4):
    """Test scenes of the captioning task as PNG files (Pillow), as a user would pass them."""
    from PIL import Image

    from rnn_keras.data import scenes as generator

    images, _ = generator.scenes("test", count)
    (folder / "scenes").mkdir()
    paths = [folder / "scenes" / f"{i}.png" for i in range(count)]
    for image, path in zip(images, paths):
        Image.fromarray(image).save(path)
    return paths


def new_folder(folder):
    """`folder` as a Path; `FileExistsError` if it is there (a kit is never written over)."""
    folder = pathlib.Path(folder)
    if folder.exists():
        raise FileExistsError(f"{folder} exists; pass a new folder for the kit.")
    return check_out_folder(folder, "the kit folder")  # a place where it can be made


def make(folder, runs):
    """Write the kit for `runs` `{task: run_dir}` into a new `folder`; returns the manifest."""
    folder = new_folder(folder)
    folder.mkdir(parents=True)
    manifest = {"cases": [], "generate": [], "decode": [], "speed": {}}
    try:
        for task in ("lm", "tag", "classify"):
            if runs.get(task):
                sequence_run(folder, task, runs[task], manifest)
        if runs.get("translate"):
            words = ["hello", "world", "anthropomorphic", "quizzically", "keras"]
            encoder_decoder_run(folder, "translate", runs["translate"], manifest, words)
        if runs.get("caption"):
            encoder_decoder_run(folder, "caption", runs["caption"], manifest, scenes(folder))
        speed_files(folder, manifest)
    except BaseException:
        shutil.rmtree(folder)  # never a half kit that looks whole
        raise
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv=None):
    p = cli_parser("python -m bench.gpu_kit", __doc__)
    p.add_argument("kit", help="a new folder for the kit")
    for task in ("lm", "tag", "classify", "translate", "caption"):
        p.add_argument(f"--{task}", help=f"a {task} run folder written by train.py")
    args = p.parse_args(argv)
    new_folder(args.kit)  # refused before TensorFlow loads
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    runs = {t: getattr(args, t) for t in ("lm", "tag", "classify", "translate", "caption")}
    manifest = make(args.kit, runs)
    files = sorted(pathlib.Path(args.kit).rglob("*"))
    size = sum(f.stat().st_size for f in files if f.is_file())
    print(
        f"{args.kit}: {len(manifest['cases'])} cases, {len(manifest['generate'])} texts, "
        f"{len(manifest['decode'])} decoders, speed files; {size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(cli(main))
