"""Export a training run to ONNX.

    python -m export RUN_DIR                  # model.onnx (+ step.onnx), Scan form: fastest on CPU
    python -m export RUN_DIR --path native    # one ONNX RNN node per layer: the form for CUDA
    python -m export RUN_DIR --path loop      # tf2onnx: the while loop as an ONNX Loop
    python -m export RUN_DIR --out-dir DIR

Each file passes onnx.checker and a TensorFlow-vs-onnxruntime parity check on
real inputs (max abs difference <= 1e-4) before it is written under its name.
"""

import sys

from rnn_keras_common.cli import parser as cli_parser


def main(argv=None):
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
    args = parser.parse_args(argv)
    if args.path:
        _refuse_path_of_encoder_decoders(args)
    if args.out_dir:
        from rnn_keras_common.cli import check_out_folder

        check_out_folder(args.out_dir, "--out-dir", keep=True)  # before TensorFlow loads

    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from . import api

    path = args.path or "scan"
    results = api.export_run(args.run_dir, path, out_dir=args.out_dir)
    for file, diff in results:
        form = "tf2onnx" if file.name.endswith(("encoder.onnx", "decoder_step.onnx")) else path
        print(f"{file}  ({form}; max abs diff vs TensorFlow {diff:.2g})")
    return 0


def _refuse_path_of_encoder_decoders(args):
    """An encoder-decoder has one form: a `--path` it would ignore is refused (before TF)."""
    from rnn_keras_common.run_config import read_run_config

    task = read_run_config(args.run_dir).task
    if task in ("translate", "caption"):
        raise ValueError(
            f"--path {args.path}: a {task} run exports in one form, tf2onnx's (encoder.onnx "
            "and decoder_step.onnx), on the CPU and CUDA alike; leave --path out."
        )


def cli(argv=None):
    """The console script: user errors end as one `error:` line, exit 2."""
    from .cli_errors import run_cli

    return run_cli(lambda: main(argv))


if __name__ == "__main__":
    sys.exit(cli())
