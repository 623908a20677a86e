"""Run a training run's exported model in the browser (onnxruntime-web, no TensorFlow there).

    python -m export.web RUN_DIR                    # serve at http://127.0.0.1:8000/
    python -m export.web RUN_DIR --port 8080
    python -m export.web RUN_DIR --out site/        # static files for any host instead

A language model gets a generation panel (prime, length, temperature, top-k,
top-p, seed; the same seed gives the text `python -m export.infer` gives) and
its memory, each character coloured by a chosen hidden unit; a tagger or a
classifier gets a text box; a translator a text box and a captioner an image
picker, each with greedy or beam search (the n best and their scores, as
`python -m export.infer` gives them). A run not exported yet is exported first
(that needs TensorFlow).
"""

import errno
import socket
import sys
import tempfile

from rnn_keras_common.cli import parser as cli_parser


def main(argv=None):
    p = cli_parser("python -m export.web", __doc__)
    p.add_argument("run_dir", help="a folder written by train.py")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8000; 0: any free one)")
    p.add_argument("--out", help="write the static page here instead of serving it")
    args = p.parse_args(argv)
    if args.out and (args.host or args.port is not None):
        p.error("--host/--port serve the page; --out writes it and serves nothing. Give one.")
    args.host = args.host or "127.0.0.1"
    args.port = 8000 if args.port is None else args.port
    if not 0 <= args.port <= 65535:
        p.error(f"--port must be in [0, 65535] (0: any free port), got {args.port}")
    from rnn_keras_common.run_config import read_run_config

    from ..onnx_model import stale_note
    from . import build, run_file, writable_folder

    read_run_config(args.run_dir)  # a run folder, refused before anything is exported
    if args.out:
        writable_folder(args.out)  # refused before an export that takes TensorFlow
    if run_file(args.run_dir) is None:
        _export(args.run_dir)
    elif note := stale_note(run_file(args.run_dir)):
        print(note, file=sys.stderr)  # the page would show the older model
    if args.out:
        folder = build(args.run_dir, args.out)
        print(f"{folder}/index.html (serve the folder with COOP/COEP headers for threads)")
        return 0
    with tempfile.TemporaryDirectory(prefix="rnn-keras-web-") as scratch:  # gone at the end
        _serve(build(args.run_dir, scratch), args.host, args.port)
    return 0


def _serve(folder, host, port):
    """Serve `folder` until Ctrl-C."""
    from . import WebError, serve

    try:
        server = serve(folder, host, port)
    except OSError as err:
        raise WebError(
            f"cannot listen on {host}:{port} ({err.strerror}); {_which_flag(err)}."
        ) from err
    print(f"http://{host}:{server.server_address[1]}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _which_flag(err):
    """The flag to change: a host that does not resolve or is not this machine's, or a port
    that is taken or needs privileges."""
    if isinstance(err, socket.gaierror) or err.errno == errno.EADDRNOTAVAIL:
        return "pass another --host (127.0.0.1 for this machine only, 0.0.0.0 for all)"
    return "pass another --port (0: any free one)"


def _export(run_dir):
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from .. import api

    for path, diff in api.export_run(run_dir):
        print(f"exported {path} (max abs diff vs TensorFlow {diff:.2g})")


def cli(argv=None):
    from ..cli_errors import run_cli

    return run_cli(lambda: main(argv))


if __name__ == "__main__":
    sys.exit(cli())
