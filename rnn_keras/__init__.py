"""rnn-keras: the classic recurrent network `s_t = f(U x_t + W s_{t-1} + b)`,
`o_t = softmax(V s_t + c)`, as Keras layers trained by BPTT."""

from rnn_keras._quiet import import_tensorflow

import_tensorflow()  # before anything below imports it, so its start-up log stays quiet

from rnn_keras.layers import (  # noqa: E402
    RNN,
    Bidirectional,
    DeepBidirectional,
    OneHot,
    RNNCell,
)

__all__ = ["RNNCell", "RNN", "Bidirectional", "DeepBidirectional", "OneHot"]
__version__ = "0.1.0"
