"""Train the classic RNN by BPTT (`python train.py`, or `rnn-keras-train` once installed).

    python train.py                                  # char LM on the bundled plays, ~5 min
    python train.py --task tag --bidirectional --layers 2 --minutes 2
    python train.py --task classify                  # which play a passage is from
    python train.py --task translate                 # spelling -> pronunciation (CMUdict)
    python train.py --task caption                   # image -> caption (generated scenes)
    python train.py --task classify --data my.tsv    # yours: TSV/CSV/JSONL, CoNLL, pairs, images
    python train.py --task tag --data train.conllu --val-data dev.conllu  # your own dev file
    python train.py --text my.txt --steps 2000 --run-dir runs/mine
    python train.py --resume runs/mine               # continue after a stop or a kill
    python train.py --resume runs/mine --steps 4000  # extend it (a finished run too)

It prints the resolved config, trains with a live progress bar, and ends by
saying where the artefacts are (and, for the LM, printing a sample), then the
commands that use them (inference, inspection, the browser page, resuming).
"""

import argparse
import dataclasses
import datetime
import importlib
import os
import pathlib
import shlex
import sys
import typing

from rnn_keras_common import stops
from rnn_keras_common._quiet import import_tensorflow
from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import run_cli


def parse_args(argv):
    from rnn_keras_common import config
    from rnn_keras_common.config import TrainConfig

    p = cli_parser("train.py", __doc__)
    p.add_argument("--run-dir", help="folder for this run's artefacts (default runs/TASK-TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --run-dir")
    p.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="export the trained model to ONNX at the end (default on)",
    )
    comments = _field_comments()
    for field in dataclasses.fields(TrainConfig):
        flag, kind = "--" + field.name.replace("_", "-"), _flag_type(field.type)
        if config.allowed(field.name):
            comments[field.name] = f"{comments.get(field.name, '')} [{config.allowed(field.name)}]"
        if kind is bool:
            p.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=comments.get(field.name),
            )
        else:
            p.add_argument(flag, type=kind, default=None, help=comments.get(field.name))
    return p.parse_args(argv)


def _flag_type(annotation):
    """`int | None` -> int, and so on: the flag's type is the config field's."""
    kinds = [t for t in typing.get_args(annotation) if t is not type(None)] or [annotation]
    return kinds[0] if kinds[0] in (bool, int, float) else str


def _field_comments():
    """Help text for each flag: the comment beside its TrainConfig field."""
    import inspect

    from rnn_keras_common import config

    comments = {}
    for line in inspect.getsource(config.TrainConfig).splitlines():
        name, _, rest = line.strip().partition(":")
        if "#" in rest and name.isidentifier():
            comments[name] = rest.split("#", 1)[1].strip().replace("%", "%%")
    return comments


def _given(args):
    """The TrainConfig fields given on the command line (a `--text` made absolute)."""
    from rnn_keras_common.config import TrainConfig

    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if getattr(args, f.name) is not None
    }
    for path in ("text", "data", "val_data"):  # the run must not depend on the folder it began in
        if (given.get(path) or "").strip():  # a blank one is refused as it is, not as the cwd
            given[path] = os.path.abspath(given[path])
    return given


def build_config(args):
    from rnn_keras_common import readers
    from rnn_keras_common.config import TrainConfig

    overrides = _given(args)
    if "steps" in overrides and "minutes" not in overrides:
        overrides["minutes"] = None
    cfg = TrainConfig(**overrides).resolved()
    readers.refuse_unread(cfg, overrides)  # a flag this run would silently ignore
    return cfg


def resume_config(args):
    """The run's config with the flags `--resume` allows; others refused, naming them."""
    from rnn_keras_common import config

    for flag, value in (("--run-dir", args.run_dir), ("--overwrite", args.overwrite or None)):
        if value is not None:
            raise config.ConfigError(
                f"{flag} cannot go with --resume {args.resume}: a resumed run stays in its "
                "folder. Drop it."
            )
    from rnn_keras_common import readers, run_config

    saved = run_config.read_run_config(args.resume)
    cfg = run_config.for_resume(saved, _given(args), args.resume)
    readers.refuse_unread(cfg, _given(args))  # e.g. --temperature on a tagger's resume
    return cfg


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # logs show lines as they happen
    # every flag is checked before TensorFlow loads and before anything is written
    cfg = resume_config(args) if args.resume else build_config(args)
    import_tensorflow()
    from rnn_keras.train import distributed

    distributed.configure_devices(cfg.strategy, cfg.replicas)  # before TF makes its devices
    from rnn_keras.train import report

    trainer, result, run_dir = _train(args, cfg)
    report.finish(trainer, result, run_dir)
    if args.export and distributed.is_chief():
        return export_run(run_dir, trainer)
    return 0


def _train(args, cfg):
    """Start or resume the run; TensorFlow's out-of-memory becomes a `MemoryError`."""
    import tensorflow as tf

    from rnn_keras.train import training

    try:
        if args.resume:
            print(f"Resuming {args.resume}")
            _RUNS.append(args.resume)
            return (*training.resume(args.resume, cfg), args.resume)
        run_dir, made = args.run_dir, []
        if not run_dir:
            run_dir, made = claim_default_dir(cfg.task, cfg.strategy)
        _RUNS.append(run_dir)
        try:
            return (*training.train_and_evaluate(cfg, run_dir, overwrite=args.overwrite), run_dir)
        except BaseException:
            _remove_if_empty(made)  # refused before it started (its data, memory): none left
            raise
    except tf.errors.ResourceExhaustedError as err:  # its message is pages of allocator state
        raise MemoryError(err.message.splitlines()[0] if err.message else "") from err


def claim_default_dir(task, strategy="default", root="runs"):
    """`runs/TASK-TIME`, made at once (mkdir is atomic): runs started in the same second get
    `-2`, `-3`... where the second used to find the first's folder and stop. Returns the
    folder and the folders made (`runs/` too when it was). The workers of one multi-worker
    run share the plain name and make nothing here: only the chief writes the run."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if strategy == "multi-worker":
        return str(pathlib.Path(root, f"{task}-{stamp}")), []
    made = [] if pathlib.Path(root).is_dir() else [pathlib.Path(root)]
    pathlib.Path(root).mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        path = pathlib.Path(root, f"{task}-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            path.mkdir()
            return str(path), [*made, path]
        except FileExistsError:
            continue
    raise FileExistsError(f"{root}/{task}-{stamp}-*: 10,000 folders exist; pass --run-dir.")


def _remove_if_empty(made):
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:  # not empty (a lock file, another run's folder), or gone
            return


def export_package():
    """The export package: `export/` in a source checkout, `rnn_keras_export` once installed.

    The wheel ships the repository's `export/` under that name, so that installing
    rnn-keras claims no generic top-level name; which one applies is decided by where
    this file lives, never by what happens to be importable from the current folder.
    """
    source = pathlib.Path(__file__).resolve().parents[1] / "export" / "api.py"
    return "export" if source.is_file() else "rnn_keras_export"


def export_run(run_dir, trainer):
    """The ONNX export at the end of a run (the export package sits above training)."""
    try:
        api = importlib.import_module(export_package() + ".api")
    except ImportError as err:
        print(f"(ONNX export skipped: {err})")
        return 0
    try:
        results = api.export_run(run_dir)
    except (ValueError, RuntimeError) as err:  # e.g. a parity failure: the run itself is kept
        print(
            f"error: the run is trained and saved in {run_dir}, but its ONNX export failed: "
            f"{err} Retry with `python -m export {run_dir}` (`--path loop`: tf2onnx's form).",
            file=sys.stderr,
        )
        return 2
    form = "tf2onnx" if trainer.cfg.task in ("translate", "caption") else "Scan form"
    print(f"\nONNX ({form}; max abs difference to TensorFlow on real inputs):")
    for path, diff in results:
        print(f"  {path}  {diff:.2g}")
    if note := api.stale_copies_note(results):  # a resumed run's copies are of the old weights
        print(note, file=sys.stderr)
    if trainer.task.name == "lm":
        runtime = importlib.import_module(export_package() + ".runtime")
        lm = runtime.load(results[-1][0])
        text = lm.generate(
            trainer.task.prime,
            trainer.cfg.sample_length,
            trainer.cfg.temperature,
            seed=trainer.cfg.seed,
        )
        print("\nSample (onnxruntime, same seed):\n" + text)
    print(next_steps(run_dir, trainer.cfg.task, trainer.cfg.data))
    return 0


def checkout_elsewhere():
    """The source checkout's root when train.py runs from it but the current folder is
    another one, where `python -m export.infer` would not find the package; else None."""
    root = pathlib.Path(__file__).resolve().parents[1]
    return root if export_package() == "export" and pathlib.Path.cwd() != root else None


def next_steps(run_dir, task, data=None):
    """What a user can do with the exported run, as commands to copy (from the checkout,
    with the run's absolute path, when the current folder is another one); a run of your
    `data` is also scored on a test file like it."""
    resume, root = resume_command(run_dir), checkout_elsewhere()
    if root:
        run_dir = pathlib.Path(run_dir).resolve()
    package, run_dir = export_package(), shlex.quote(str(run_dir))
    given = {"lm": "--length 400", "caption": "--image picture.png"}.get(task, '--text "..."')
    memory = "attention" if task in ("translate", "caption") else "memory"
    rows = [
        (f"python -m {package}.infer {run_dir} {given}", "onnxruntime, no TensorFlow"),
        (f"python -m rnn_keras.inspect {run_dir}", f"see its {memory}"),
        (f"python -m {package}.web {run_dir}", "the model in your browser"),
        (f"{resume} --steps N", "train it further"),
    ]
    if data:
        test = "test_images/" if task == "caption" else f"test{pathlib.Path(data).suffix}"
        rows.insert(1, (f"python -m {package}.infer {run_dir} --evaluate {test}", "score it"))
    elif task in ("lm", "tag"):  # a text's characters, or its spaces, are the answers
        why = "nats/char on a text" if task == "lm" else "score it on a text"
        rows.insert(1, (f"python -m {package}.infer {run_dir} --evaluate held_out.txt", why))
    if root:
        rows.insert(0, (f"cd {shlex.quote(str(root))}", "python -m finds the packages there"))
    width = max(len(c) for c, _ in rows)
    return "\nNext:\n" + "\n".join(f"  {c:<{width}}  # {why}" for c, why in rows)


def user_errors():
    from rnn_keras.train.errors import user_errors

    return user_errors()


def cli(argv=None):
    """The console script: `main()` with user errors as one `error:` line, exit 2.

    SIGTERM (`kill`, a batch scheduler's stop) ends the run as Ctrl-C does (`stops`): one
    line naming the checkpoint kept and the command that goes on from it.
    """
    with stops.handled():
        return run_cli(lambda: main(argv), user_errors, left_intact)


_RUNS = []  # the folder of the run under way: what a stop says of it


def left_intact():
    """What a stop (Ctrl-C, a full disk) leaves: the latest checkpoint and how to go on."""
    latest = pathlib.Path(_RUNS[-1], "checkpoints", "latest") if _RUNS else None
    if latest is None or not latest.is_file():
        return "the last good checkpoint is intact"
    step = latest.read_text().strip().removeprefix("step-")
    return f"the checkpoint of step {step} is intact; go on with `{resume_command(_RUNS[-1])}`"


def resume_command(run_dir):
    """The command that goes on with `run_dir`, runnable from the current folder."""
    if export_package() != "export":
        return f"rnn-keras-train --resume {shlex.quote(str(run_dir))}"
    root = checkout_elsewhere()
    if root is None:
        return f"python train.py --resume {shlex.quote(str(run_dir))}"
    train, run_dir = root / "train.py", pathlib.Path(run_dir).resolve()
    return f"python {shlex.quote(str(train))} --resume {shlex.quote(str(run_dir))}"


if __name__ == "__main__":
    sys.exit(cli())
