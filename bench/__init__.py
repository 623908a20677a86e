"""`python -m bench`: the same RNN timed in every framework (see README, Benchmarks)."""

import sys


def user_errors():
    """What the bench commands print as one `error:` line: the project's own input errors."""
    from export.errors import DeviceError
    from export.metadata import MetadataError

    kinds = [MetadataError, DeviceError, FileNotFoundError, FileExistsError]
    # rnn_keras's own errors can only have been raised once it was imported; looking them up
    # otherwise would load TensorFlow (seconds) or fail where there is none (the GPU machine)
    if "rnn_keras" in sys.modules:
        from rnn_keras.data import DataError
        from rnn_keras.train.checkpoint import CheckpointError
        from rnn_keras.train.saving import ModelFileError

        kinds += [DataError, CheckpointError, ModelFileError]
    return tuple(kinds)


def cli(main, argv=None):
    """Run a bench command's `main(argv)` as `train.py` runs: a user's mistake is one
    `error:` line and exit 2, not a traceback."""
    from rnn_keras_common.cli import run_cli

    return run_cli(lambda: main(argv), user_errors, "no results were written")
