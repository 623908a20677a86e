"""The compiled pieces of the training loop: loss, gradient step, update, evaluation.

The step is the keras-io custom-loop shape: tape, loss, `tape.gradient`,
global-norm clipping, `optimizer.apply`, in one compiled function (`step`) whose
update runs only when the loss and the gradient are finite (`tf.cond`): no NaN ever
reaches the weights or the optimiser's moments, and the caller, seeing the non-finite
values it returns, stops or skips. With XLA, one call instead of two (`gradients`,
then `apply`) keeps the gradients inside the compiled function: on the LM's step (3x256,
B=64, T=100) 0.98-1.03x as fast on 2-core AVX-512, 1.04-1.07x with the libraries capped to
AVX2 (`bench.measure lm`, alternated).
"""

import math

import keras
import tensorflow as tf


def masked_cross_entropy(logits, targets, weights, label_smoothing=0.0):
    """Sum of `-log softmax(logits)[target]` over real steps, and their count.

    `targets` `(batch, time)` or `(batch,)`; `weights` the same shape, 0 at padding.
    `label_smoothing` e (training only): the target distribution is `(1 - e)` on the
    target plus `e / K` on each of the K classes (Szegedy et al. 2016), as Keras'
    `CategoricalCrossentropy(label_smoothing=e)`; its uniform part
    `-(1/K) sum_k log p_k = logsumexp(z) - mean(z)` needs no one-hot tensor.
    """
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(targets, tf.int32), logits)
    if label_smoothing:
        uniform = tf.reduce_logsumexp(logits, axis=-1) - tf.reduce_mean(logits, axis=-1)
        ce = (1.0 - label_smoothing) * ce + label_smoothing * uniform
    return tf.reduce_sum(ce * weights), tf.reduce_sum(weights)


def all_finite(loss, norm):
    """Whether a step's loss and gradient norm (host values) are finite: what `step` updates on."""
    return math.isfinite(float(loss)) and math.isfinite(float(norm))


def make_optimizer(cfg):
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    return keras.optimizers.Adam(cfg.lr)


def dense_gradients(tape, loss, variables):
    """`tape.gradient`, with an embedding's IndexedSlices (a gather's gradient) made dense.

    Keras 3's Adam squares IndexedSlices row by row: a token seen k times in a batch
    adds the sum of its k squared slices to `v` instead of the square of their sum,
    so its rows take larger steps than Adam's (measured: 0.42 against 0.30 after three
    steps of two equal slices). Dense, every weight gets Adam's update, as PyTorch's
    dense `nn.Embedding` gradient does; the tables are small (vocabulary x 64).
    """
    grads = tape.gradient(loss, variables)
    return [g if g is None else tf.convert_to_tensor(g) for g in grads]


def model_outputs(model, tokens, states, training):
    """Logits and new carried states (the LM) or logits alone (tag/classify)."""
    if states is None:
        return model(tokens, training=training), None
    out = model([tokens, *states], training=training)
    return out[0], list(out[1:])


class StepFunctions:
    """`step(...)` (the loop's: `gradients` then `apply`), `gradients(...)`, `apply(...)` and
    `evaluate(...)`, compiled once per run."""

    def __init__(self, model, optimizer, clip_norm, jit_compile, confusion=True,
                 label_smoothing=0.0):  # fmt: skip
        self.model, self.optimizer, self.clip_norm = model, optimizer, clip_norm
        self.label_smoothing = label_smoothing  # the training loss's; evaluation's is plain
        self.confusion = confusion  # off where classes are many (a translation's targets)
        self.jit_compile = jit_compile
        compile_ = dict(jit_compile=jit_compile, reduce_retracing=True)
        self.gradients = tf.function(self._gradients, **compile_)
        self.apply = tf.function(self._apply, **compile_)
        # XLA compiles the cond into the step; a plain graph's `If` measured no faster
        # (0.95-1.02x) than two calls, which leave grappler the whole update to optimise
        self.step = tf.function(self._step, **compile_) if jit_compile else self._two_calls
        self.evaluate = tf.function(self._evaluate, **compile_)

    def _gradients(self, tokens, targets, weights, states=None):
        with tf.GradientTape() as tape:
            logits, new_states = model_outputs(self.model, tokens, states, True)
            total, count = masked_cross_entropy(logits, targets, weights, self.label_smoothing)
            loss = total / tf.maximum(count, 1.0)  # mean over real tokens
        grads = dense_gradients(tape, loss, self.model.trainable_variables)
        norm = tf.linalg.global_norm(grads)
        return loss, grads, norm, new_states

    def _step(self, tokens, targets, weights, states, lr):
        """`gradients` then, if the loss and gradient are finite, `apply`: one call.
        Returns the loss, the gradient's norm and the new states (the LM's; else None)."""
        loss, grads, norm, new_states = self._gradients(tokens, targets, weights, states)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        tf.cond(finite, lambda: self._apply(grads, norm, lr), lambda: None)
        return loss, norm, new_states

    def _two_calls(self, tokens, targets, weights, states, lr):
        """`step`'s contract as `gradients`, then `apply` only if all is finite."""
        loss, grads, norm, new_states = self.gradients(tokens, targets, weights, states)
        if all_finite(loss, norm):
            self.apply(grads, norm, lr)
        return loss, norm, new_states

    def _apply(self, grads, norm, lr):
        """Clip to `clip_norm` (with the norm `gradients` already computed) and update."""
        self.optimizer.learning_rate.assign(lr)
        grads, _ = tf.clip_by_global_norm(grads, self.clip_norm, use_norm=norm)
        self.optimizer.apply(grads, self.model.trainable_variables)

    def _evaluate(self, tokens, targets, weights, states=None):
        logits, new_states = model_outputs(self.model, tokens, states, False)
        total, count = masked_cross_entropy(logits, targets, weights)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
        targets = tf.cast(targets, tf.int32)
        counts = {"loss": total, "count": count}
        if self.confusion:  # accuracy, precision, recall and F1 all follow from it
            counts["confusion"] = confusion(targets, predicted, weights, logits.shape[-1])
        return counts, new_states


def confusion(targets, predicted, weights, classes):
    """`(classes, classes)` counts of (true, predicted) over real steps, as one matmul.

    (A matmul of one-hots rather than `tf.math.confusion_matrix`'s scatter: XLA-friendly.)
    """
    true = tf.one_hot(tf.reshape(targets, [-1]), classes) * tf.reshape(weights, [-1, 1])
    return tf.matmul(true, tf.one_hot(tf.reshape(predicted, [-1]), classes), transpose_a=True)
