"""What the encoder-decoder tasks (translate, caption) share: batches, the decoder side of
the model, decoding a trained Keras model step by step, and its attention maps.

The training model maps `[source, target_in]` to logits over the target vocabulary
by teacher forcing: `target_in` is the target shifted right behind the start token,
and the loss is the masked cross-entropy against the target followed by the end
token. Token id 1 (`END`, "</s>") both starts and ends every target.
"""

import keras
import numpy as np
import tensorflow as tf

from rnn_keras.layers import AttentionDecoder, SequencePool, bridge
from rnn_keras.tasks.base import orthogonal
from rnn_keras_common import decoding
from rnn_keras_common.vocab import PAD, pad

END = 1  # the id of "</s>" in every target vocabulary: the first entry of its tokens
BUCKET = 16  # pad time to a multiple of this: few shapes for XLA, little padding for words
# inputs decoded at each periodic evaluation (translate's sources, caption's images): WER to
# about +-1 point, a small share of a run's time; the test split at the end is decoded whole
VAL_DECODED = 2000


def decoded_share(count, limit):
    """The slice of `count` inputs an evaluation decodes: at most `limit` (None: all), an even
    spread over them, the same every time."""
    return slice(None, None, -(-count // limit)) if limit and count > limit else slice(None)


def distinct(splits):
    """Each split once: with `--val-data` the test split is the validation split itself."""
    return list({id(split): split for split in splits}.values())


def length_note(targets, max_output):
    """A line when some target token lists are longer than `--max-output`: decoding stops
    there, so those never come out whole (Tatoeba's sentences as characters, say)."""
    lengths = [len(t) for t in targets]
    longer = sum(n > max_output for n in lengths)
    if not longer:
        return ""
    return (
        f"\nnote: {longer:,} of {len(lengths):,} targets are longer than --max-output "
        f"{max_output} tokens (the longest {max(lengths)}): decoding stops at {max_output}, so "
        f"they never come out whole. Pass --max-output {max(lengths)} to decode them in full."
    )


def teacher_forcing(source_ids, target_ids):
    """One example: `(source, decoder input = [END, *target], output = [*target, END])`."""
    return source_ids, [END, *target_ids], [*target_ids, END]


def _bucketed(rows):
    longest = max(len(r) for r in rows)
    return pad(rows, -(-longest // BUCKET) * BUCKET)


def batch_arrays(examples, sources=None):
    """`([source, target_in], target_out, weights)`, padded; `weights` 0 at padding.

    `sources`: the batch's source array when it is not token rows (captioning's images).
    """
    source = _bucketed([e[0] for e in examples]) if sources is None else sources
    target_in = _bucketed([e[1] for e in examples])
    target_out = pad([e[2] for e in examples], target_in.shape[1])
    return [source, target_in], target_out, (target_out != PAD).astype(np.float32)


def attentive_decoder(memory, summary, target_in, vocab_size, units, attention, activation,
                      recurrent_gain=None, embedding=0, dropout=0.0):  # fmt: skip
    """`s_0 = tanh(Dense(summary))`, then the decoder attending to `memory` -> logits.

    `recurrent_gain`: the decoder's `W` starts orthogonal times this gain (None: 1);
    `embedding`: the previous token's embedding size (0: one-hot); `dropout`: the
    decoder's (see `AttentionDecoder`).
    """
    s0 = bridge(units)(summary)
    decoder = AttentionDecoder(
        units,
        vocab_size,
        attention_units=attention,
        activation=activation,
        recurrent_initializer=orthogonal(recurrent_gain),
        embedding_dim=embedding,
        dropout=dropout,
        name="decoder",
    )
    return decoder([target_in, s0, memory])


def summary_of(memory, backward_units):
    """The encoder's final states: forward at the last real step, backward at the first."""
    return SequencePool("last", backward_units=backward_units, name="summary")(memory)


class DecodingCache:
    """The `KerasDecoding` of the model last asked for: made once per model, not per evaluation."""

    def __init__(self):
        self.model = self.decoding = None

    def __call__(self, model):
        if model is not self.model:
            self.model, self.decoding = model, KerasDecoding(model)
        return self.decoding


def memory_mask(source, memory_shape):
    """1 at real memory positions: the non-padding tokens, or every cell of an image grid."""
    if np.issubdtype(np.asarray(source).dtype, np.integer):
        return (source != PAD).astype(np.float32)
    return np.ones(memory_shape[:2], np.float32)


class KerasDecoding:
    """Greedy or beam decoding of a trained encoder-decoder model in TensorFlow.

    `encode(source)` runs the encoder once; `step` is the decoder's one-step function,
    compiled once; the search is `rnn_keras_common.decoding`, shared with onnxruntime.
    """

    def __init__(self, model):
        self.decoder = next(la for la in model.layers if isinstance(la, AttentionDecoder))
        _, s0, memory = self.decoder.input
        self.encoder = keras.Model(model.inputs[0], [memory, s0])
        self._encode = tf.function(self.encode_tensors, reduce_retracing=True)
        self._step = tf.function(self.decoder.step, reduce_retracing=True)

    def encode_tensors(self, source):
        """`(memory, keys, s0)` as tensors: what `encoder.onnx` is converted from."""
        memory, s0 = self.encoder(source, training=False)
        return memory, self.decoder.keys(memory), s0

    def encode(self, source):
        """`(memory, keys, mask, s0)` as NumPy arrays for padded `source` ids."""
        memory, keys, s0 = self._encode(tf.constant(source))
        return memory.numpy(), keys.numpy(), memory_mask(source, memory.shape), s0.numpy()

    def step_for(self, memory, keys, mask):
        gather = decoding.row_gatherer(memory, keys, mask)

        def step(tokens, state, rows):
            logits, state, _ = self._step(tf.constant(tokens, tf.int32), state, *gather(rows))
            return logits.numpy(), state.numpy()

        return step

    def decode(self, source, max_len, beam=1, alpha=1.0, nbest=1):
        """Per source row, the `nbest` `(tokens, score)` (greedy: one, score None)."""
        memory, keys, mask, s0 = self.encode(source)
        return decoding.search(
            self.step_for(memory, keys, mask), s0, END, max_len, beam, alpha, nbest
        )


def attention_maps(model, sources, max_len, outputs=None):
    """Per source: `(output ids, alpha (outputs + 1, memory positions))` of greedy decoding,
    or of the given `outputs` (id lists without the end, e.g. a beam's best).

    `sources`: token id lists (translation) or images (captioning).
    """
    tokens = not np.issubdtype(np.asarray(sources[0]).dtype, np.floating)
    source = pad(sources) if tokens else np.stack(sources)
    decoding = KerasDecoding(model)
    if outputs is None:
        outputs = [list(h[0][0]) for h in decoding.decode(source, max_len)]
    target_in = pad([[END, *o] for o in outputs])
    decoder = next(la for la in model.layers if isinstance(la, AttentionDecoder))
    memory, s0 = decoding.encoder(source)
    mask = memory_mask(source, memory.shape) > 0
    _, alpha = decoder([target_in, s0, memory], memory_mask=mask, return_attention=True)
    alpha = np.asarray(alpha)  # (batch, outputs + 1, positions): the last row chose the end
    lengths = mask.sum(axis=1)
    return [(o, alpha[i, : len(o) + 1, : lengths[i]]) for i, o in enumerate(outputs)]
