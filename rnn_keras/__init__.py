"""rnn-keras: the classic recurrent network `s_t = f(U x_t + W s_{t-1} + b)`,
`o_t = softmax(V s_t + c)`, as Keras layers trained by BPTT.

Rooms: `layers/` (the Keras layers), `recurrence.py` (the time loop and fused BPTT),
`bptt.py` (the article's explicit BPTT in NumPy), `data/` (readers), `config.py`,
`tasks/` (one module per task), `train/` (the loop and its records).

Importing the package registers every layer with Keras, so `import rnn_keras` is
enough for `keras.models.load_model`. What the TensorFlow-free inference path shares
with training lives in the sibling package `rnn_keras_common`.
"""

from rnn_keras.layers import RNN, Bidirectional, DeepBidirectional, OneHot, RNNCell
from rnn_keras_common import __version__  # noqa: F401

__all__ = ["RNNCell", "RNN", "Bidirectional", "DeepBidirectional", "OneHot"]
