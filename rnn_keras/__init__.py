"""rnn-keras: the classic recurrent network `s_t = f(U x_t + W s_{t-1} + b)`,
`o_t = softmax(V s_t + c)`, as Keras layers trained by BPTT.

The layers are imported lazily, so that the TensorFlow-free modules
(`rnn_keras.vocab`, `rnn_keras.sampling`, `rnn_keras.corpus`) can be used by the
ONNX inference path without importing TensorFlow.
"""

import importlib

__all__ = ["RNNCell", "RNN", "Bidirectional", "DeepBidirectional", "OneHot"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        from rnn_keras._quiet import import_tensorflow

        import_tensorflow()  # first, so its start-up log stays quiet
        return getattr(importlib.import_module("rnn_keras.layers"), name)
    raise AttributeError(f"module 'rnn_keras' has no attribute {name!r}")
