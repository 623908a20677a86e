"""What the tasks share: batches of padded examples and the token-model encoder.

A task gives the training loop `model()`, `train` (a batch source whose
`position` is its whole state, for checkpoints), `val_batches()` and
`metrics(totals)`, and `source`, the text it learned from (hashed into the run
so a resume can check its data, and sampled for the export's parity check).
Batches are `(tokens, targets, weights)`; `weights` is 0 at padding so the loss
counts real steps only. Models end in logits `V s_t + c`:
the softmax `o_t = softmax(V s_t + c)` is left to the loss (`from_logits=True`)
and to sampling.
"""

import functools

import keras
import numpy as np

from rnn_keras.data import DataError
from rnn_keras.layers import (
    RNN,
    Bidirectional,
    DeepBidirectional,
    Dropout,
    OneHot,
    SequencePool,
    embedding_initializer,
)
from rnn_keras_common.vocab import PAD, UNKNOWN, TokenVocab, pad


class ShuffledBatches:
    """Padded batches of `(ids, targets)` pairs in a per-epoch shuffled order."""

    def __init__(self, examples, batch_size, seed, tag_targets=False, arrays=None):
        if len(examples) < batch_size:
            raise DataError(
                f"Only {len(examples)} training examples for a batch of {batch_size}; "
                "add data or use a smaller --batch-size."
            )
        self.examples, self.batch_size, self.seed = examples, batch_size, seed
        # `arrays(chosen)` makes a batch's arrays; by default `batch_arrays` (tag or classify)
        self.arrays = arrays or functools.partial(batch_arrays, tag_targets=tag_targets)
        self.per_epoch = len(examples) // batch_size
        self.position = 0

    def next_batch(self):
        epoch, k = divmod(self.position, self.per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.examples))
        self.position += 1
        chosen = [self.examples[i] for i in order[k * self.batch_size : (k + 1) * self.batch_size]]
        return (*self.arrays(chosen), False)


BUCKET = 32  # pad time to a multiple of this: few distinct shapes, so XLA compiles few times


def batch_arrays(examples, tag_targets):
    longest = max(len(ids) for ids, _ in examples)
    tokens = pad([ids for ids, _ in examples], -(-longest // BUCKET) * BUCKET)
    if tag_targets:
        targets = pad([t for _, t in examples], tokens.shape[1])
        return tokens, targets, (tokens != PAD).astype(np.float32)
    return tokens, np.array([y for _, y in examples], np.int32), np.ones(len(examples), np.float32)


def in_batches(examples, batch_size, tag_targets=False, limit=0, arrays=None):
    """Padded batches in order; at most `limit` of them (0: all), spread evenly over the
    examples (not the first ones: one play of a held-out text); `arrays` as in
    `ShuffledBatches`."""
    arrays = arrays or functools.partial(batch_arrays, tag_targets=tag_targets)
    starts = range(0, len(examples), batch_size)
    if limit and len(starts) > limit:
        starts = [starts[int(k)] for k in np.linspace(0, len(starts) - 1, limit)]
    for i in starts:
        yield arrays(examples[i : i + batch_size])


def validation_note(task, cfg):
    """A line when each evaluation reads part of the validation batches (`--eval-batches`)."""
    val = task.val
    total = getattr(val, "batches_per_pass", None) or -(-len(val) // cfg.batch_size)
    if not cfg.eval_batches or total <= cfg.eval_batches:
        return ""
    return (
        f"validation: each evaluation reads {cfg.eval_batches} of the {total:,} batches, spread "
        "over them (--eval-batches 0 reads all; `python -m export.infer RUN --evaluate FILE` "
        "scores a whole file)"
    )


def encoder_args(cfg):
    """The config's encoder settings as `tag.tagger` / `classify.classifier` take them."""
    return dict(
        units=cfg.units,
        num_layers=cfg.layers,
        bidirectional=cfg.bidirectional,
        activation=cfg.activation,
        dropout=cfg.dropout,
        recurrent_gain=cfg.recurrent_gain,
    )


def pooled_args(cfg):
    """`encoder_args` and the many-to-one readout, for one output per sequence."""
    return {**encoder_args(cfg), "pool": cfg.pool}


def units_list(units, num_layers):
    return list(units) if isinstance(units, (list, tuple)) else [units] * num_layers


def encoder(h, sizes, bidirectional, return_sequences, activation, dropout, recurrent_gain=None):
    """Unidirectional stack, one Bidirectional layer, or DeepBidirectional.

    `recurrent_gain`: every W starts as an orthogonal matrix times this gain (None: 1).
    """

    def cell():  # a new initializer per RNN (see `orthogonal`)
        return dict(activation=activation, recurrent_initializer=orthogonal(recurrent_gain))

    if bidirectional and len(sizes) > 1:
        return DeepBidirectional(
            sizes,
            dropout=dropout,
            return_sequences=return_sequences,
            name="deep_bidirectional",
            **cell(),
        )(h)
    if bidirectional:
        return Bidirectional(
            RNN(sizes[0], name="rnn", return_sequences=return_sequences, **cell()),
            name="bidirectional",
        )(h)
    for i, u in enumerate(sizes):
        if i and dropout:
            h = Dropout(dropout)(h)
        last = i == len(sizes) - 1
        h = RNN(u, name=f"rnn_{i}", return_sequences=return_sequences or not last, **cell())(h)
    return h


def token_model(
    vocab_size,
    outputs,
    per_step,
    name,
    units=128,
    num_layers=1,
    bidirectional=True,
    activation="tanh",
    dropout=0.0,
    pool="mean",
    recurrent_gain=None,
):
    """`tokens` (0 = padding, masked) -> one-hot -> encoder -> `logits` = V s + c.

    `units` (int or one per layer), `num_layers`, `bidirectional`, `activation`,
    `dropout` and `recurrent_gain` choose the encoder (see `encoder`); `pool` the many-to-one
    readout when not `per_step` (see `rnn_keras.layers.pool`).
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    h = token_inputs(vocab_size, mask_zero=True)(tokens)
    sizes = units_list(units, num_layers)
    h = encoder(h, sizes, bidirectional, True, activation, dropout, recurrent_gain)
    if not per_step:
        backward = sizes[-1] if bidirectional else 0
        h = SequencePool(pool, backward_units=backward, name="pool")(h)
        if dropout:  # the pooled features feed the head: the one place a 1-layer model can drop
            h = Dropout(dropout, name="pool_dropout")(h)
    logits = keras.layers.Dense(outputs, name="head")(h)  # V s + c
    return keras.Model(tokens, logits, name=name)


def token_inputs(vocab_size, embedding=0, mask_zero=False):
    """The layer that makes `x_t` of token ids: one-hot, or (`embedding` D > 0) `E x_t`."""
    if embedding:
        return keras.layers.Embedding(
            vocab_size,
            embedding,
            embeddings_initializer=embedding_initializer(),
            mask_zero=mask_zero,
            name="embedding",
        )
    return OneHot(vocab_size, mask_zero=mask_zero, name="one_hot")


def orthogonal(gain):
    """A new recurrent initializer: Keras' own name at gain 1 or None (the configs saved so far).

    New per call: one unseeded Keras 3 initializer called twice returns the same values.
    """
    return "orthogonal" if gain in (None, 1.0) else keras.initializers.Orthogonal(gain=gain)


def word_vocabulary(counts, min_count, max_size, unit):
    """The training words seen at least `min_count` times (the `max_size` most frequent);
    `DataError` when `--min-count` leaves none, which would train a model that reads only
    `<unk>`."""
    vocab = TokenVocab.from_counts(counts, min_count, max_size, unit)
    if len(vocab.chars) == 1 and counts:
        top, n = counts.most_common(1)[0]
        raise DataError(
            f"--min-count {min_count}: no training word is seen that often (the most frequent, "
            f"{top!r}, {n} times), so every word would read as {UNKNOWN}. Lower --min-count."
        )
    return vocab


def vocabulary_line(vocab, counts, val_words):
    """The words kept of those seen, and the share of validation words read as `<unk>`:
    what `--min-count` and `--max-vocab` cost."""
    ids = vocab.encode(val_words)
    unknown = ids.count(vocab.encode([UNKNOWN])[0]) / max(len(ids), 1)
    return (
        f"vocabulary: {len(vocab.chars) - 1:,} of the {len(counts):,} words seen in training; "
        f"{unknown:.1%} of validation words read as {UNKNOWN}"
    )
