"""The exception types the export and inference CLIs print as one `error:` line."""

from rnn_keras_common.cli import run_cli as _run_cli

from .metadata import MetadataError
from .tolerance import ParityError


def user_errors():
    from .session import DeviceError
    from .web import WebError

    return (MetadataError, DeviceError, WebError, FileNotFoundError, ValueError, ParityError)


def run_cli(main):
    return _run_cli(main, user_errors, "no half-written .onnx file is left")
