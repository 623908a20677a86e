"""`lm`: next-character prediction with truncated BPTT over parallel streams."""

import math

import keras
import numpy as np

from rnn_keras import data
from rnn_keras.layers import RNN, Dropout
from rnn_keras.tasks.base import orthogonal, token_inputs, units_list
from rnn_keras_common.files import read_utf8
from rnn_keras_common.streams import LMStreams  # noqa: F401 (re-exported)
from rnn_keras_common.vocab import Vocab


def char_lm(vocab_size, units=512, num_layers=1, activation="tanh", recurrent_gain=None,
            embedding=0, dropout=0.0):  # fmt: skip
    """Character language model with its states as inputs and outputs (for TBPTT).

    `recurrent_gain`: every `W` starts orthogonal times this gain (None: 1);
    `embedding`: 0 feeds one-hot `x_t` to the first `U` (the article's form), D > 0 an
    embedding `E x_t` of D dims (`U E` is then the one-hot `U`: the exports fold it);
    `dropout`: on the states passed from each layer to the next, in training only
    (Zaremba et al.'s non-recurrent connections; `s_{t-1}` is never dropped).

    Inputs: `tokens` `(batch, time)` and one `state_i` `(batch, units_i)` per layer.
    Outputs: `logits` `(batch, time, vocab)` and each layer's final state.
    The head is `Dense` with `kernel` = V, `bias` = c.
    """
    sizes = units_list(units, num_layers)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    states_in = [keras.Input((u,), name=f"state_{i}") for i, u in enumerate(sizes)]
    h = token_inputs(vocab_size, embedding)(tokens)  # (batch, time, vocab or D): x_t
    states_out = []
    for i, (u, s0) in enumerate(zip(sizes, states_in)):
        if i and dropout:
            h = Dropout(dropout, name=f"dropout_{i}")(h)
        h, s = RNN(
            u,
            activation=activation,
            recurrent_initializer=orthogonal(recurrent_gain),
            return_sequences=True,
            return_state=True,
            name=f"rnn_{i}",
        )(h, initial_state=s0)  # (batch, time, units)
        states_out.append(s)
    logits = keras.layers.Dense(vocab_size, name="head")(h)  # V s_t + c
    return keras.Model([tokens, *states_in], [logits, *states_out], name="char_lm")


class Task:
    name, stateful = "lm", True

    def __init__(self, cfg, text):
        self.cfg, self.labels = cfg, None
        self.source = text  # what the run learned from: hashed and sampled into the run
        # samples start from a line break when the text has one, else from its own first
        # character: a prime the vocabulary lacks could never be encoded
        self.prime = "\n" if "\n" in text else text[0]
        if cfg.val_data:  # your own held-out text (PTB's valid, enwik8's): all of text trains
            self.val_source = read_utf8(cfg.val_data, "--val-data", "a UTF-8 text file")
            # its characters too, as char-LM benchmarks build one vocabulary over the splits
            self.vocab = Vocab.from_text(text + self.val_source)
            train, val = self.vocab.encode(text), self.vocab.encode(self.val_source)
        else:
            self.vocab = Vocab.from_text(text)
            train, val = data.split(self.vocab.encode(text), cfg.val_fraction)
        self.train = LMStreams(train, cfg.batch_size, cfg.seq_len)
        if len(val) - 1 < cfg.batch_size:
            where = f"--val-data {cfg.val_data}" if cfg.val_data else "The held-out text"
            raise data.DataError(
                f"{where}: {len(val)} characters, too few for {cfg.batch_size} validation "
                "streams. Give a longer text, or a smaller --batch-size."
            )
        self.val = LMStreams(
            val, cfg.batch_size, min(cfg.seq_len, (len(val) - 1) // cfg.batch_size)
        )

    def model(self):
        cfg = self.cfg
        return char_lm(
            len(self.vocab),
            cfg.units,
            cfg.layers,
            cfg.activation,
            cfg.recurrent_gain,
            cfg.embedding,
            cfg.dropout,
        )

    def val_batches(self):
        for i, (x, y) in enumerate(self.val.all_batches()):
            if self.cfg.eval_batches and i >= self.cfg.eval_batches:
                return
            yield x, y, np.ones(x.shape, np.float32)

    def metrics(self, t):
        loss = t["loss"] / t["count"]
        return {"val_loss": loss, "val_bpc": loss / math.log(2)}
