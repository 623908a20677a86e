"""Keras models for the three tasks, all ending in logits `V s_t + c`.

The softmax `o_t = softmax(V s_t + c)` is left to the loss
(`from_logits=True`, numerically stable) and to sampling.
"""

import keras

from rnn_keras.layers import RNN, Bidirectional, DeepBidirectional, OneHot


def _units_list(units, num_layers):
    return list(units) if isinstance(units, (list, tuple)) else [units] * num_layers


def char_lm(vocab_size, units=512, num_layers=1, activation="tanh"):
    """Character language model with its states as inputs and outputs (for TBPTT).

    Inputs: `tokens` `(batch, time)` and one `state_i` `(batch, units_i)` per layer.
    Outputs: `logits` `(batch, time, vocab)` and each layer's final state.
    The head is `Dense` with `kernel` = V, `bias` = c.
    """
    sizes = _units_list(units, num_layers)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    states_in = [keras.Input((u,), name=f"state_{i}") for i, u in enumerate(sizes)]
    h = OneHot(vocab_size, name="one_hot")(tokens)  # (batch, time, vocab): x_t
    states_out = []
    for i, (u, s0) in enumerate(zip(sizes, states_in)):
        h, s = RNN(
            u, activation=activation, return_sequences=True, return_state=True, name=f"rnn_{i}"
        )(h, initial_state=s0)  # (batch, time, units)
        states_out.append(s)
    logits = keras.layers.Dense(vocab_size, name="head")(h)  # V s_t + c
    return keras.Model([tokens, *states_in], [logits, *states_out], name="char_lm")


def _encoder(h, sizes, bidirectional, return_sequences, activation, dropout):
    """Unidirectional stack, one Bidirectional layer, or DeepBidirectional."""
    if bidirectional and len(sizes) > 1:
        return DeepBidirectional(
            sizes,
            dropout=dropout,
            activation=activation,
            return_sequences=return_sequences,
            name="deep_bidirectional",
        )(h)
    if bidirectional:
        return Bidirectional(
            RNN(sizes[0], activation=activation, name="rnn", return_sequences=return_sequences),
            name="bidirectional",
        )(h)
    for i, u in enumerate(sizes):
        if i and dropout:
            h = keras.layers.Dropout(dropout)(h)
        last = i == len(sizes) - 1
        h = RNN(
            u, activation=activation, name=f"rnn_{i}", return_sequences=return_sequences or not last
        )(h)
    return h


def _token_model(
    vocab_size,
    outputs,
    per_step,
    name,
    units=128,
    num_layers=1,
    bidirectional=True,
    activation="tanh",
    dropout=0.0,
):
    """`tokens` (0 = padding, masked) -> one-hot -> encoder -> `logits` = V s + c.

    `units` (int or one per layer), `num_layers`, `bidirectional`, `activation`
    and `dropout` choose the encoder (see `_encoder`).
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    h = OneHot(vocab_size, mask_zero=True, name="one_hot")(tokens)
    h = _encoder(h, _units_list(units, num_layers), bidirectional, True, activation, dropout)
    if not per_step:
        # mean of s_t over the real steps: every step gets gradient directly, where the
        # last state alone would leave the start of a long passage to vanishing gradients
        h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    logits = keras.layers.Dense(outputs, name="head")(h)  # V s + c
    return keras.Model(tokens, logits, name=name)


def tagger(vocab_size, num_tags=2, **encoder):
    """Tags per character: `tokens` `(batch, time)` to `(batch, time, tags)`; `encoder` as above."""
    return _token_model(vocab_size, num_tags, True, "tagger", **encoder)


def classifier(vocab_size, num_classes, **encoder):
    """One label per sequence from the mean state over real steps: `(batch, classes)` logits."""
    return _token_model(vocab_size, num_classes, False, "classifier", **encoder)
