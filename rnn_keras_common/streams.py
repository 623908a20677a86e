"""A text cut into parallel streams for truncated BPTT (NumPy only): training reads it,
and so does `export.infer --evaluate` on a language model, with no TensorFlow."""

import numpy as np

from rnn_keras_common.files import DataError


class LMStreams:
    """The text cut into `batch_size` parallel streams, read `seq_len` characters at a time.

    Batch k is characters `[k T, (k+1) T)` of every stream (inputs) and the
    same shifted by one (targets), so the final state of batch k is the right
    initial state of batch k+1 (char-rnn's truncated BPTT). `position` is the
    only state; it goes into checkpoints.
    """

    def __init__(self, ids, batch_size, seq_len):
        ids = np.asarray(ids, np.int32)
        per_stream = (len(ids) - 1) // batch_size
        if per_stream < seq_len or seq_len < 1:
            raise DataError(
                f"The text ({len(ids)} characters) is too short for one batch of "
                f"{batch_size} streams x {seq_len} characters. Use a longer text or a "
                "smaller --batch-size / --seq-len."
            )
        self.batch_size, self.seq_len = batch_size, seq_len
        self.inputs = ids[: per_stream * batch_size].reshape(batch_size, per_stream)
        self.targets = ids[1 : per_stream * batch_size + 1].reshape(batch_size, per_stream)
        self.batches_per_pass = per_stream // seq_len
        self.position = 0

    def next_batch(self):
        """`(inputs, targets, weights, starts_pass)`; `starts_pass`: reset the carried state."""
        k = self.position % self.batches_per_pass
        cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
        self.position += 1
        x = self.inputs[:, cols]
        return x, self.targets[:, cols], np.ones(x.shape, np.float32), k == 0

    def all_batches(self):
        """Every batch once, in order (for evaluation)."""
        for k in range(self.batches_per_pass):
            cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
            yield self.inputs[:, cols], self.targets[:, cols]
