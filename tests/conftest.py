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
