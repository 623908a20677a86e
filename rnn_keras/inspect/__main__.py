"""Seeing the memory of a trained run.

    python -m rnn_keras.inspect RUN_DIR                       # the run's own validation text
    python -m rnn_keras.inspect RUN_DIR --text "To be, or not to be"
    python -m rnn_keras.inspect RUN_DIR --text passage.txt --out figures/

Writes into RUN_DIR/inspect/ (or --out): decay.png (gradient norms against the
distance back, trained beside untrained), units.png (the units that track quotes,
brackets, line position, speaker names, vowels), directions.png (a bidirectional
model's forward and backward shares of each prediction), report.json, and
index.html, one self-contained page with a unit picker. For a translation run:
attention.png (where the decoder looked for each output token), report.json and an
index.html of both; for a captioning run the same over the image grid (`--image` for your
own images).

    python -m rnn_keras.inspect runs/translate-... --text "hello world"
    python -m rnn_keras.inspect runs/caption-... --image scene.png photo.jpg
"""

import json
import pathlib
import sys

from rnn_keras_common.cli import (
    check_out_folder,
    fill_defaults,
    run_cli,
    seed_type,
    text_or_file,
    unread_flags,
)
from rnn_keras_common.cli import parser as cli_parser


def parse_args(argv):
    p = cli_parser("python -m rnn_keras.inspect", __doc__)
    p.add_argument("run_dir", help="a folder written by train.py")
    p.add_argument(
        "--text",
        help="a text file, - (standard input), or the text itself (default: the run's text)",
    )
    p.add_argument("--image", nargs="+", help="caption runs: image files (default: test scenes)")
    p.add_argument("--out", help="where to write (default RUN_DIR/inspect)")
    # None = not given: the attention of encoder-decoders reads none of these
    p.add_argument("--windows", type=int, help="windows of text the decay averages (default 32)")
    p.add_argument("--length", type=int, help="characters per window, T (default 100)")
    p.add_argument("--seed", type=seed_type, help="which windows (default 0)")
    args = p.parse_args(argv)
    # a window of T characters measures the decay T - 1 steps back: T = 1 would measure none
    for flag, low in (("windows", 1), ("length", 2)):
        if getattr(args, flag) is not None and not low <= getattr(args, flag) <= 10_000:
            p.error(f"--{flag} must be in [{low}, 10000]")
    if args.out and pathlib.Path(args.out).is_file():
        p.error(f"--out {args.out} is a file; pass a folder for the figures")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from rnn_keras_common.config import ConfigError
    from rnn_keras_common.run_config import read_run_config

    cfg = read_run_config(args.run_dir)  # a bad folder is refused before TensorFlow loads
    refuse_unread(args, cfg.task)
    if cfg.task in ("translate", "caption") and cfg.attention is False:
        raise ConfigError(
            f"{args.run_dir} was trained with --no-attention: its decoder reads one summary "
            "of the input, so there is no attention to see. Inspect a run trained with it."
        )
    out = check_out_folder(args.out or pathlib.Path(args.run_dir) / "inspect")
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from rnn_keras.inspect import report

    if cfg.task in ("translate", "caption"):
        return _attention(args, cfg, out)
    written = report.inspect(args.run_dir, cfg, out, args)
    for path in written:
        print(path)
    summary = json.loads((out / "report.json").read_text())
    for kind, name, ten, thousand, ten_u, thousand_u in report.falls(summary):
        print(
            f"{kind:8s} {name}: falls 10x {ten}, 1000x {thousand} "
            f"(untrained: 10x {ten_u}, 1000x {thousand_u})"
        )
    return 0


def _attention(args, cfg, out):
    """A translation run: attention maps of test words (or the words of `--text`)."""
    from rnn_keras.inspect import attention, report
    from rnn_keras.tasks import make_task

    task = make_task(cfg)
    images = _images(args.image, task.images["train"].shape[1]) if args.image else None
    model = report.load(args.run_dir)
    title = f"The attention of {pathlib.Path(args.run_dir).resolve().name}"
    written = attention.inspect(model, task, out, _sources(task, args.text), images, title)
    for path in written:
        print(path)
    for row in json.loads((out / "report.json").read_text())["attention"]:
        share = row["monotone_share"]
        print(
            f"{row['source']}: {row['output']}"
            + (f"  (monotone {share:.0%})" if share is not None else "")
        )
    return 0


# what each kind of run reads beside the run folder and --out, with the defaults
DEFAULTS = dict(windows=32, length=100, seed=0)
READS = {
    "translate": ("text",),
    "caption": ("image",),
    **{task: ("text", *DEFAULTS) for task in ("lm", "tag", "classify")},
}


def refuse_unread(args, task):
    """`ConfigError` naming each given flag a `task` run would ignore; then the defaults."""
    from rnn_keras_common.config import ConfigError

    unread = unread_flags(args, ("text", "image", *DEFAULTS), READS[task])
    if unread:
        named = " and ".join(f"--{k}" for k in unread)
        what = {
            "translate": "the attention over --text's words",
            "caption": "the attention over --image files",
        }.get(task, "--text's memory with --windows, --length, --seed")
        raise ConfigError(
            f"a {task} run would ignore {named}: its inspection reads {what}. Leave "
            f"{'them' if len(unread) > 1 else 'it'} out."
        )  # fmt: skip
    args.length_given = args.length is not None  # if not, a short --text is one window
    fill_defaults(args, DEFAULTS)


def _images(paths, size):
    """`{path: (size, size, 3) uint8}` of the --image files (`DataError` naming one)."""
    from rnn_keras.data import DataError
    from rnn_keras.data.images import read_image
    from rnn_keras_common.images import image_files

    try:
        paths = [str(p) for p in image_files(paths)]  # a folder: its images
    except ValueError as err:
        raise DataError(f"--image {err}") from err
    return {p: read_image(p, size, named_in="--image") for p in paths}


def _sources(task, text):
    """A translator's sources in `--text` (the text or a file of it), line by line, by the
    rules `export.infer` and the page apply (CMUdict's: each word, lowercased); None: the
    test split's."""
    if text is None:
        return None
    from rnn_keras_common.vocab import translation_sources_by_line

    sources = translation_sources_by_line(task.vocab, text_or_file(text))
    if not sources:
        from rnn_keras.data import DataError

        raise DataError("--text holds nothing to translate; pass a word or a file of them.")
    return sources


def user_errors():
    from rnn_keras.data import DataError
    from rnn_keras.train.checkpoint import CheckpointError
    from rnn_keras.train.saving import ModelFileError

    return (DataError, CheckpointError, ModelFileError)


def cli(argv=None):
    return run_cli(lambda: main(argv), user_errors, "nothing was changed in the run")


if __name__ == "__main__":
    sys.exit(cli())
