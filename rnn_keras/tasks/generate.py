"""Text generation with the TensorFlow language model, one compiled call per character."""

import numpy as np
import tensorflow as tf

from rnn_keras_common import decoding as sampling


class Generator:
    """Samples from a `char_lm` model; `sampling` is shared with the ONNX generator."""

    def __init__(self, model, vocab):
        self.model, self.vocab = model, vocab
        self.sizes = [int(t.shape[-1]) for t in model.inputs[1:]]
        self._run = tf.function(lambda tokens, states: model([tokens, *states], training=False))

    def _step(self, ids, states):
        out = self._run(np.asarray([ids], np.int32), states)
        return out[0].numpy()[0, -1], list(out[1:])

    def generate(self, prime="\n", length=300, temperature=1.0, top_k=0, top_p=1.0, seed=0):
        """`prime` followed by `length` sampled characters."""
        sampling.check_sampling_args(temperature, top_k, top_p)
        if not prime:
            raise ValueError("prime (--prime) must hold a character, e.g. '\\n' or 'ROMEO:'.")
        rng = sampling.SplitMix64(seed)
        states = [tf.zeros((1, u)) for u in self.sizes]
        logits, states = self._step(self.vocab.encode(prime), states)
        out = []
        for _ in range(length):
            next_id = sampling.sample(logits, rng, temperature, top_k, top_p)
            out.append(next_id)
            logits, states = self._step([next_id], states)
        return prime + self.vocab.decode(out)
