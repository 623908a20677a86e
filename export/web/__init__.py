"""The exported models in a web page, through onnxruntime-web (see `__main__` for the CLI).

`build(run_dir, out)` writes a static folder: our page (`page/`), onnxruntime-web's
WebAssembly build copied from the pinned npm package (`package.json`,
`package-lock.json`; installed with `npm ci` on first use), the run's ONNX file and
`models.json` (its metadata). `serve(folder, host, port)` serves it with the
cross-origin-isolation headers onnxruntime-web needs for threads.
"""

import functools
import http.server
import json
import pathlib
import shutil
import subprocess

from rnn_keras_common.cli import check_out_folder
from rnn_keras_common.config import passage_tokens, tagger_window

from .. import runtime
from ..onnx_model import run_file

HERE = pathlib.Path(__file__).resolve().parent
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


class WebError(RuntimeError):
    """The page cannot be built; the message says why and what to do."""


def ort_dist():
    """onnxruntime-web's `dist/`, installed from the lock file if it is not there yet."""
    dist = HERE / "node_modules" / "onnxruntime-web" / "dist"
    if not dist.is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise WebError("The page needs onnxruntime-web from npm: install Node.js and npm.")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True
        )
        if done.returncode or not dist.is_dir():
            raise WebError(f"npm ci in {HERE} failed: {done.stderr.strip()[-300:]}")
    return dist


def writable_folder(out):
    """`out` as a Path, if the page may be written there: new, empty, or an earlier page's
    (a user's own index.html is never written over)."""
    out = check_out_folder(out)  # a file, or no folder possible there: refused before an export
    if out.is_dir() and any(out.iterdir()) and not (out / "models.json").is_file():
        raise WebError(
            f"--out {out} holds other files; pass a new or empty folder (or one a page was "
            "written to before, which is updated)."
        )
    return out


def build(run_dir, out):
    """Write the static page for the run's exported model into `out`; returns `out`."""
    path = run_file(run_dir)
    if path is None:
        raise WebError(f"{run_dir} has no model.onnx yet; export it first (python -m export).")
    meta = runtime.read_metadata(path)
    out = writable_folder(out)
    dist = ort_dist()  # what can fail comes first: no half page is left behind (nor a folder
    models = _models(run_dir, path, meta)  # that a later run would refuse as someone else's)
    out.mkdir(parents=True, exist_ok=True)
    for page_file in (HERE / "page").iterdir():
        shutil.copy(page_file, out / page_file.name)
    for name in ORT_FILES:
        shutil.copy(dist / name, out / name)
    shutil.copy(path, out / path.name)
    if meta["kind"] == "encoder":
        shutil.copy(path.with_name("decoder_step.onnx"), out / "decoder_step.onnx")
    (out / "models.json").write_text(json.dumps(models, ensure_ascii=False), encoding="utf-8")
    return out


def _models(run_dir, path, meta):
    """`models.json`: what the page reads of the run's exported file."""
    models = {
        "run": pathlib.Path(run_dir).resolve().name,
        "file": path.name,
        "task": meta["task"],
        "unit": meta["unit"],
        "vocab": meta["vocab"],
        "labels": meta["labels"],
        "state_sizes": meta["state_sizes"] if meta["kind"] == "step" else [],
    }
    if meta["task"] == "tag":  # a segmenter's windows: the lines it trained on were cut so
        models["window"] = tagger_window(meta["config"])
    if meta["task"] == "classify":  # as many tokens of a passage as training read
        models["max_tokens"] = passage_tokens(meta["unit"], meta["config"])
    if meta["kind"] == "encoder":
        models.update(_decoding(path, meta))
    return models


def _decoding(path, meta):
    """What the page's decoder needs beyond the vocabularies: the same rules as Python's."""
    from rnn_keras_common.vocab import make_vocab, source_rules, target_joiner

    if not path.with_name("decoder_step.onnx").is_file():
        raise WebError(f"{path} has no decoder_step.onnx beside it; export the run again.")
    config = meta["config"] or {}
    out = {
        "decoder": "decoder_step.onnx",
        "max_output": config.get("max_output", 64),
        "join": target_joiner(config),
        "attention": config.get("attention", True) is not False,
        "sources": source_rules(make_vocab(meta["vocab"], meta["unit"])),
    }
    if meta["task"] == "caption":  # (batch, height, width, 3)
        out["image_size"] = runtime.load(path).inputs["image"][1:3]
    return out


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with COOP/COEP (so `crossOriginIsolated` is true and threads work)."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def end_headers(self):
        for key, value in ISOLATION.items():
            self.send_header(key, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):  # quiet: the CLI prints the address once
        pass


def serve(folder, host="127.0.0.1", port=8000):
    """A `ThreadingHTTPServer` for `folder` (call `serve_forever()`; port 0 picks a free one)."""
    handler = functools.partial(IsolatedHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)
