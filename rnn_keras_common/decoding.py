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
        raise ValueError(
            f"temperature (--temperature) must be > 0, got {temperature!r}. Use e.g. 0.8 (for "
            "the most likely character every time, top_k=1: --top-k 1)."
        )
    if not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k (--top-k) must be an integer >= 0 (0 = off), got {top_k!r}.")
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p (--top-p) must be in (0, 1] (1 = off), got {top_p!r}.")


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


# Sequence decoding for encoder-decoders (translation, captioning). `step(tokens, state,
# rows)` is the runtime's decoder step: `tokens` `(n,)` the previous token of n
# hypotheses, `state` their decoder states `(n, units)`, `rows` `(n,)` which source each
# hypothesis belongs to (the step gathers that source's encoder states); it returns
# `(logits (n, vocab), new_state)`. TensorFlow and onnxruntime pass their own `step`;
# the search itself is this one NumPy code, so both give the same output.


def log_softmax(logits):
    """`log softmax` over the last axis in float64, with id 0 (padding) never chosen."""
    z = np.asarray(logits, np.float64).copy()
    z[..., 0] = -np.inf
    z -= z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def greedy(step, state, start, end, max_len):
    """The most likely token at every step, for a batch: a list of token lists (no `end`)."""
    n = len(state)
    tokens, rows = np.full(n, start, np.int64), np.arange(n)
    out, done = [[] for _ in range(n)], np.zeros(n, bool)
    for _ in range(max_len):
        logits, state = step(tokens, state, rows)
        tokens = log_softmax(logits).argmax(axis=-1)
        for i in np.flatnonzero(~done):
            if tokens[i] == end:
                done[i] = True
            else:
                out[i].append(int(tokens[i]))
        if done.all():
            break
    return out


def _normalised(score, length, alpha):
    """Length normalisation: log-probability / length**alpha (alpha 0 = none)."""
    return score / max(length, 1) ** alpha


def beam_search(step, state, start, end, max_len, width=5, alpha=1.0, nbest=1):
    """Beam search of `width` for every source; `nbest` `(tokens, score)` per source, best first.

    All live hypotheses of all sources go through `step` together, one call per output
    step. A hypothesis ends when it emits `end`; a source is done when it has `width`
    ended hypotheses, or at `max_len` (its live ones then count as ended). Scores are
    log-probabilities divided by `length ** alpha`, the length counting `end`. With
    `width=1` this is `greedy`.
    """
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"The beam width must be an integer >= 1, got {width!r}.")
    n = len(state)
    hyps = [(i, (), 0.0) for i in range(n)]  # (source, tokens, log-probability)
    finished = [[] for _ in range(n)]
    for _ in range(max_len):
        rows = np.array([h[0] for h in hyps])
        last = np.array([h[1][-1] if h[1] else start for h in hyps])
        logits, new_state = step(last, state, rows)
        logp = log_softmax(logits)
        hyps, keep = _extend(hyps, logp, finished, width, end, alpha)
        if not hyps:
            break
        state = new_state[keep]
    for source, tokens, score in hyps:  # out of steps: what is still live counts as ended
        finished[source].append((tokens, _normalised(score, len(tokens), alpha)))
    return [sorted(f, key=lambda h: -h[1])[:nbest] for f in finished]


def _extend(hyps, logp, finished, width, end, alpha):
    """One step of every source's beam: the new live hypotheses and their parents' indices."""
    live, parents = [], []
    by_source = {}
    for j, h in enumerate(hyps):
        by_source.setdefault(h[0], []).append(j)
    for source, members in by_source.items():
        scores = np.array([hyps[j][2] for j in members])[:, None] + logp[members]
        flat = np.argsort(-scores, axis=None, kind="stable")[: 2 * width]
        kept = 0
        for rank, f in enumerate(flat):
            k, token = divmod(int(f), scores.shape[1])
            j, score = members[k], float(scores.flat[f])
            if not np.isfinite(score):
                break
            tokens = hyps[j][1]
            if token == end:
                if rank >= width:
                    continue  # an ending ranked below the beam is not one of its k best
                finished[source].append((tokens, _normalised(score, len(tokens) + 1, alpha)))
                if len(finished[source]) >= width:
                    kept = width  # this source is done: nothing of it stays live
                    live = [h for h in live if h[0] != source]
                    parents = parents[: len(live)]
                    break
                continue
            if kept < width:
                live.append((source, (*tokens, token), score))
                parents.append(j)
                kept += 1
    return live, np.array(parents, np.int64)


def search(step, state, end, max_len, beam=1, alpha=1.0, nbest=1):
    """Greedy (`beam=1`, one result with score None) or beam search; `end` also starts."""
    if beam == 1 and nbest == 1:
        return [[(tuple(t), None)] for t in greedy(step, state, end, end, max_len)]
    return beam_search(step, state, end, end, max_len, beam, alpha, nbest)


def row_gatherer(*arrays):
    """`gather(rows)`: each array's rows for the hypotheses (`arrays[i][rows]`).

    The last result is reused while `rows` is unchanged: greedy keeps one hypothesis
    per source, and a beam keeps `width` per source for most steps, so the encoder
    states are copied once rather than at every step.
    """
    last = {}

    def gather(rows):
        if "rows" not in last or not np.array_equal(last["rows"], rows):
            last["rows"], last["out"] = np.array(rows), [a[rows] for a in arrays]
        return last["out"]

    return gather
