"""Import TensorFlow without its C++ start-up chatter.

TF_CPP_MIN_LOG_LEVEL hides TensorFlow's own log, but a few lines are written by
absl before logging is initialised and ignore it; they go to file descriptor 2
directly, so that descriptor is pointed at /dev/null for the import only.
Python-level errors are raised after it is restored, so nothing real is hidden.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ.get("RNN_KERAS_VERBOSE_TF"):
        import tensorflow  # noqa: F401

        return
    with _stderr_silenced():
        import tensorflow as tf

        # device discovery logs too (e.g. "failed call to cuInit" without a GPU); listing
        # the physical devices does it now, and logical devices can still be configured
        tf.config.list_physical_devices()
