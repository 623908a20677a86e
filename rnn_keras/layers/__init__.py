"""The Keras layers of the classic recurrent network."""

from rnn_keras_common._quiet import check_backend, import_tensorflow

import_tensorflow()  # before the layers import it, so its start-up log stays quiet
check_backend()  # another Keras backend would fail later, deep inside a layer

# ruff: noqa: E402

from rnn_keras.layers.attention import AdditiveAttention
from rnn_keras.layers.bidirectional import Bidirectional
from rnn_keras.layers.cell import RNNCell
from rnn_keras.layers.coordinates import AddCoordinates
from rnn_keras.layers.decoder import AttentionDecoder, bridge
from rnn_keras.layers.deep import DeepBidirectional
from rnn_keras.layers.dropout import Dropout
from rnn_keras.layers.onehot import OneHot, embedding_initializer
from rnn_keras.layers.pool import SequencePool
from rnn_keras.layers.sequence import RNN

__all__ = [
    "RNNCell",
    "RNN",
    "Bidirectional",
    "DeepBidirectional",
    "OneHot",
    "SequencePool",
    "AdditiveAttention",
    "AttentionDecoder",
    "bridge",
    "AddCoordinates",
    "Dropout",
    "embedding_initializer",
]
