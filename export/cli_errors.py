"""The exception types the export and inference CLIs print as one `error:` line."""

from rnn_keras_common.cli import run_cli as _run_cli

from .metadata import MetadataError


def user_errors():
    from .session import DeviceError
    from .web import WebError

    kinds = [MetadataError, DeviceError, WebError, FileNotFoundError, ValueError]
    try:
        from .parity import ParityError

        kinds.append(ParityError)
    except ImportError:  # inference-only install: no TensorFlow
        pass
    return tuple(kinds)


def run_cli(main):
    return _run_cli(main, user_errors, "no half-written .onnx file is left")
