"""Seeing the memory of a trained run.

    python -m rnn_keras.inspect RUN_DIR                       # the run's own validation text
    python -m rnn_keras.inspect RUN_DIR --text "To be, or not to be"
    python -m rnn_keras.inspect RUN_DIR --text passage.txt --out figures/

Writes into RUN_DIR/inspect/ (or --out): decay.png (gradient norms against the
distance back, trained beside untrained), units.png (the units that track quotes,
brackets, line position, speaker names, vowels), directions.png (a bidirectional
model's forward and backward shares of each prediction), report.json, and
index.html, one self-contained page with a unit picker. For a translation run:
attention.png (where the decoder looked for each output token) and report.json.
"""

import json
import pathlib
import sys

from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import run_cli


def parse_args(argv):
    p = cli_parser("python -m rnn_keras.inspect", __doc__)
    p.add_argument("run_dir", help="a folder written by train.py")
    p.add_argument("--text", help="a text file, or the text itself (default: the run's text)")
    p.add_argument("--out", help="where to write (default RUN_DIR/inspect)")
    p.add_argument("--windows", type=int, default=32, help="windows of text the decay averages")
    p.add_argument("--length", type=int, default=100, help="characters per window (T)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for flag in ("windows", "length"):
        if not 1 <= getattr(args, flag) <= 10_000:
            p.error(f"--{flag} must be in [1, 10000]")
    if args.out and pathlib.Path(args.out).is_file():
        p.error(f"--out {args.out} is a file; pass a folder for the figures")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from rnn_keras_common.config import read_run_config

    cfg = read_run_config(args.run_dir)  # a bad folder is refused before TensorFlow loads
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from rnn_keras.inspect import report

    out = pathlib.Path(args.out or pathlib.Path(args.run_dir) / "inspect")
    if cfg.task in ("translate", "caption"):
        return _attention(args, cfg, out)
    written = report.inspect(args.run_dir, cfg, out, args)
    for path in written:
        print(path)
    from rnn_keras.inspect.decay import fall_text

    summary = json.loads((out / "report.json").read_text())
    for kind, directions in summary["decay"]["trained"].items():
        for name, s in directions.items():
            print(
                f"{kind:8s} {name}: falls 10x {fall_text(s, 'fall_10x')}, "
                f"1000x {fall_text(s, 'fall_1000x')}"
            )
    return 0


def _attention(args, cfg, out):
    """A translation run: attention maps of test words (or the words of `--text`)."""
    from rnn_keras.inspect import attention, report
    from rnn_keras.tasks import make_task

    task = make_task(cfg)
    written = attention.inspect(report.load(args.run_dir), task, out, _words(args.text))
    for path in written:
        print(path)
    for row in json.loads((out / "report.json").read_text())["attention"]:
        share = row["monotone_share"]
        print(
            f"{row['source']}: {row['output']}"
            + (f"  (monotone {share:.0%})" if share is not None else "")
        )
    return 0


def _words(text):
    if text is None:
        return None
    path = pathlib.Path(text)
    return (path.read_text(encoding="utf-8") if path.is_file() else text).split()


def user_errors():
    from rnn_keras.data import DataError
    from rnn_keras.train.checkpoint import CheckpointError
    from rnn_keras.train.saving import ModelFileError

    return (DataError, CheckpointError, ModelFileError)


def cli(argv=None):
    return run_cli(lambda: main(argv), user_errors, "nothing was changed in the run")


if __name__ == "__main__":
    sys.exit(cli())
