"""Refuse a run that cannot fit in memory before it touches anything.

TensorFlow on CPU either raises `ResourceExhaustedError` deep inside the first
step or, worse, lets the kernel's OOM killer end the process with no message.
A lower bound of what a run needs, from the config alone, catches absurd sizes
(`--units 65536`) with one line that names the cause.
"""

import os

from rnn_keras_common.config import ConfigError

FLOAT = 4  # bytes of a float32


def parameters(cfg, vocab_size, classes):
    """Weights of the model: E (if embedded), U, W, b per direction and layer, the head V, c.

    (Of the recurrent stack and its head: a decoder's or a CNN's extra weights are left
    out, so this stays a lower bound.)
    """
    dirs = 2 if cfg.bidirectional else 1
    total, fan_in = 0, vocab_size  # x_t is one-hot: U has a row per character
    if cfg.embedding:  # E (vocab, D), then U reads D
        total, fan_in = vocab_size * cfg.embedding, cfg.embedding
    for _ in range(cfg.layers):
        total += dirs * (fan_in * cfg.units + cfg.units * cfg.units + cfg.units)
        fan_in = dirs * cfg.units
    return total + fan_in * classes + classes


BASE = 2**29  # TensorFlow, Keras and XLA themselves: about 0.5 GiB before any weight


def needed_bytes(cfg, vocab_size, classes):
    """A lower bound: weights, gradients, optimiser slots, BPTT's saved states.

    Measured peaks are about twice this (tag, 4 x 2048 bidirectional: 4.0 GiB
    peak RSS for an estimate of 2.2 GiB), so a refusal is never a run that fits.
    """
    slots = 2 if cfg.optimizer == "adam" else int(cfg.momentum > 0)
    # weights, their gradients, the slots, and one temporary copy an update makes
    weights = parameters(cfg, vocab_size, classes) * FLOAT * (3 + slots)
    time = cfg.max_tokens if cfg.task == "classify" else cfg.seq_len
    dirs = 2 if cfg.bidirectional else 1
    states = cfg.batch_size * time * cfg.layers * dirs * cfg.units * FLOAT * 2  # s_t and f'
    return BASE + weights + states + cfg.batch_size * time * classes * FLOAT


def available_bytes():
    """Memory the kernel says a new allocation can get (`MemAvailable`), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_memory(cfg, task):
    """`ConfigError` naming the sizes when the run needs more memory than is available."""
    classes = len(task.labels) if task.labels else len(task.vocab)
    need, have = needed_bytes(cfg, len(task.vocab), classes), available_bytes()
    if have is not None and need > have:
        raise ConfigError(
            f"out of memory: --units {cfg.units} --layers {cfg.layers} --batch-size "
            f"{cfg.batch_size} needs at least {need / 2**30:.1f} GiB, and this machine has "
            f"{have / 2**30:.1f} GiB available. Use smaller --units, --layers, --batch-size "
            "or --seq-len."
        )
