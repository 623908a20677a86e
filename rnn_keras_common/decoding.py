"""Choosing the next character from logits: temperature, top-k, top-p (nucleus).

Written once, in NumPy, and used by both the TensorFlow and the onnxruntime
generators, so the same seed gives the same text in both runtimes. The random
draws come from `SplitMix64`, small enough that the web page (`export/web/`)
implements it too: the same seed gives the same text in the browser as well.
"""

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    """Steele, Lea & Flood's SplitMix64 (2014): 64-bit state, one uniform float per call.

    Chosen over NumPy's PCG64 for portability: four lines of 64-bit arithmetic that
    JavaScript's BigInt reproduces exactly (`export/web/sampling.js`).
    """

    def __init__(self, seed=0):
        self.state = int(seed) & MASK

    def next_uint64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def random(self):
        """A float in [0, 1) from the top 53 bits, as NumPy's `random()` builds one."""
        return (self.next_uint64() >> 11) * 2.0**-53


def check_sampling_args(temperature=1.0, top_k=0, top_p=1.0):
    if not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"`temperature` must be > 0, got {temperature!r}. Use e.g. 0.8.")
    if not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"`top_k` must be an integer >= 0 (0 = off), got {top_k!r}.")
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1] (1 = off), got {top_p!r}.")


def probabilities(logits, temperature=1.0, top_k=0, top_p=1.0):
    """Softmax of `logits / temperature` `(vocab,)`, restricted to top-k / top-p, renormalised."""
    z = np.asarray(logits, np.float64) / temperature
    z[0] = -np.inf  # id 0 is padding, never a character
    if top_k:
        kth = np.sort(z)[-min(top_k, z.size)]
        z[z < kth] = -np.inf
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        # keep the smallest set of most likely ids whose mass reaches top_p
        cut = int(np.searchsorted(np.cumsum(p[order]), top_p)) + 1
        keep = np.zeros_like(p, bool)
        keep[order[:cut]] = True
        p = np.where(keep, p, 0.0)
        p /= p.sum()
    return p


def sample(logits, rng, temperature=1.0, top_k=0, top_p=1.0):
    """One id drawn from `probabilities(...)` with `rng` (anything with `random()`)."""
    p = probabilities(logits, temperature, top_k, top_p)
    # inverse CDF on one uniform draw: a tiny logit difference between runtimes
    # changes the choice only if the draw falls right on a boundary
    return int(min(np.searchsorted(np.cumsum(p), rng.random(), side="right"), p.size - 1))
