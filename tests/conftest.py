import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:  # the GPU machine runs tests/test_gpu.py with onnxruntime alone, no TensorFlow
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()  # quietly, before keras imports it
    import keras
except ImportError:
    keras = None


# The slowest files, slowest first (`--durations=0`, summed per file, 2-core Zen 5): xdist's
# `--dist loadfile` hands out files in collection order, so a slow file collected last keeps
# one worker busy while the other has nothing left (test_web came last: ~40 s of 526).
SLOW_FIRST = (
    "test_distributed.py",
    "test_web.py",
    "test_resume.py",
    "test_translate.py",
    "test_faults.py",
    "test_training.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    # a stable sort: each file's tests stay together and in their order
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))


@pytest.fixture(autouse=True)
def _seed():
    if keras is not None:
        keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def float64():
    """Layers and inputs in float64 (the global dtype policy is cached, so set it too)."""
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
