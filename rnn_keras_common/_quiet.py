"""Import TensorFlow without its C++ start-up chatter, with oneDNN's kernels on (x86).

TF_CPP_MIN_LOG_LEVEL hides TensorFlow's own log, but a few lines are written by
absl before logging is initialised and ignore it; they go to file descriptor 2
directly, so that descriptor is pointed at /dev/null for the import only.
Python-level errors are raised after it is restored, so nothing real is hidden.
"""

import contextlib
import os
import platform
import sys


class BackendError(ImportError):
    """Keras was loaded on another backend than TensorFlow, which rnn_keras needs."""


def use_tensorflow_backend():
    """For our command lines, which are TensorFlow programs: Keras on TensorFlow whatever
    KERAS_BACKEND or ~/.keras/keras.json say for the user's other work (read once, when
    Keras is first imported, so this is a no-op afterwards)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"


def check_backend():
    """`BackendError` naming the fix when Keras runs on another backend: the layers'
    recurrence is a `tf.while_loop` with a TensorFlow gradient, which no other backend runs."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise BackendError(
            f"rnn_keras runs on Keras' TensorFlow backend, but Keras was loaded with the "
            f"'{backend}' backend (KERAS_BACKEND or ~/.keras/keras.json). Set "
            "KERAS_BACKEND=tensorflow before Keras is first imported."
        )


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


def use_onednn():
    """oneDNN's kernels for TensorFlow on every x86 CPU, unless the user chose
    (TF_ENABLE_ONEDNN_OPTS). TensorFlow turns them on only on CPUs with VNNI, BF16 or AMX
    (`bench.isa.TF_ONEDNN_FLAGS`), so it would leave them off on AVX2-only CPUs, where its
    Eigen kernels cost our training step: `python -m bench --isa avx2` on an AVX-512 machine
    with oneDNN off as TensorFlow leaves it, train_b32 fused 111 ms against 68 with it on,
    `train.py`'s LM 70,000 against 92,000 characters/s. Read once, when TensorFlow loads.
    x86 only: that is where it was measured (on ARM, TensorFlow's oneDNN goes through ACL)."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    use_onednn()
    if "tensorflow" in sys.modules or os.environ.get("RNN_KERAS_VERBOSE_TF"):
        import tensorflow  # noqa: F401

        return
    with _stderr_silenced():
        import tensorflow as tf

        # device discovery logs too (e.g. "failed call to cuInit" without a GPU); listing
        # the physical devices does it now, and logical devices can still be configured
        tf.config.list_physical_devices()
