"""Export a training run to ONNX.

    python -m export RUN_DIR                  # model.onnx (+ step.onnx), Scan form: fastest on CPU
    python -m export RUN_DIR --path native    # one ONNX RNN node per layer: the form for CUDA
    python -m export RUN_DIR --path loop      # tf2onnx: the while loop as an ONNX Loop
    python -m export RUN_DIR --out-dir DIR
    python -m export RUN_DIR --int8           # + model.int8.onnx: int8 weights, a quarter the size
    python -m export RUN_DIR --path native --fp16  # + model.fp16.onnx: fp16 for GPUs, half the size

Each file passes onnx.checker and a TensorFlow-vs-onnxruntime parity check on
real inputs (max abs difference <= 1e-4) before it is written under its name.
"""

import sys

from rnn_keras_common.cli import parser as cli_parser


def _parser():
    parser = cli_parser("python -m export", __doc__)
    parser.add_argument("run_dir", help="a folder written by train.py")
    parser.add_argument(
        "--path",
        choices=["scan", "native", "loop"],
        help="lowering of model.onnx: hoisted input projection + one Scan (scan, the default, "
        "fastest on CPU), one ONNX RNN node per layer (native, for CUDA) or tf2onnx's Loop; "
        "translate and caption runs have one form (tf2onnx's) and take no --path",
    )
    parser.add_argument("--out-dir", help="where to write the .onnx files (default: RUN_DIR)")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write int8 copies (model.int8.onnx, step.int8.onnx: onnxruntime's dynamic "
        "quantization of the Scan form, checked against the float files); lm, tag and "
        "classify runs",
    )
    parser.add_argument(
        "--fp16",
        action="store_true",
        help="also write fp16 copies (model.fp16.onnx, step.fp16.onnx: float16 weights and "
        "arithmetic, float32 inputs and outputs, checked against the float files; on CUDA "
        "cuDNN runs them on tensor cores); scan or native form, lm, tag and classify runs",
    )
    return parser


def _check_flags(args):
    """Refuse flag combinations that would be ignored, before TensorFlow loads (seconds)."""
    if args.fp16 and args.path == "loop":
        raise ValueError(
            "--fp16 with --path loop: fp16 copies are of the scan or native form (native "
            "for CUDA); leave --path loop out."
        )
    if args.int8 and args.path not in (None, "scan"):
        raise ValueError(
            f"--int8 with --path {args.path}: int8 copies are of the Scan form (the default), "
            "whose every matmul becomes int8; native's RNN nodes and the Loop's recurrence "
            "would stay float. Leave --path out."
        )
    if args.path or args.int8 or args.fp16:
        _refuse_flags_of_encoder_decoders(args)
    if args.out_dir:
        from rnn_keras_common.cli import check_out_folder

        check_out_folder(args.out_dir, "--out-dir", keep=True)


def main(argv=None):
    args = _parser().parse_args(argv)
    _check_flags(args)
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from . import api

    path = args.path or "scan"
    results = api.export_run(args.run_dir, path, out_dir=args.out_dir)
    for file, diff in results:
        form = "tf2onnx" if file.name.endswith(("encoder.onnx", "decoder_step.onnx")) else path
        print(f"{file}  ({form}; max abs diff vs TensorFlow {diff:.2g})")
    kinds = [kind for kind in ("int8", "fp16") if getattr(args, kind)]
    for kind in kinds:
        for file, source, diff, agreement, what in api.quantize_run(args.run_dir, results, kind):
            print(
                f"{file}  ({kind} of {source.name}; max abs diff vs float {diff:.2g}, the same "
                f"class at {agreement:.1%} of {what})"
            )
    if note := api.stale_copies_note(results, kinds):
        print(note, file=sys.stderr)
    return 0


def _refuse_flags_of_encoder_decoders(args):
    """An encoder-decoder has one form and no int8 or fp16 copy: a flag it would ignore is refused
    (before TensorFlow loads)."""
    from rnn_keras_common.run_config import read_run_config

    task = read_run_config(args.run_dir).task
    if task in ("translate", "caption") and args.path:
        raise ValueError(
            f"--path {args.path}: a {task} run exports in one form, tf2onnx's (encoder.onnx "
            "and decoder_step.onnx), on the CPU and CUDA alike; leave --path out."
        )
    for flag in ("int8", "fp16"):
        if task in ("translate", "caption") and getattr(args, flag):
            raise ValueError(
                f"--{flag}: a {task} run's encoder and decoder are exported in float32 only; "
                f"--{flag} is for lm, tag and classify runs. Leave it out."
            )


def cli(argv=None):
    """The console script: user errors end as one `error:` line, exit 2."""
    from .cli_errors import run_cli

    return run_cli(lambda: main(argv))


if __name__ == "__main__":
    sys.exit(cli())
