"""The Keras layers of the classic recurrent network."""

from rnn_keras.layers.bidirectional import Bidirectional
from rnn_keras.layers.cell import RNNCell
from rnn_keras.layers.deep import DeepBidirectional
from rnn_keras.layers.onehot import OneHot
from rnn_keras.layers.sequence import RNN

__all__ = ["RNNCell", "RNN", "Bidirectional", "DeepBidirectional", "OneHot"]
