"""Hidden units over text: which units of `s_t` track simple properties of the characters.

As in Karpathy, Johnson & Fei-Fei (2015): run a passage through the model,
correlate every unit's activation with per-character properties (inside quotes
or brackets, position in the line, inside a speaker name, vowel), and show the
passage coloured by the units that follow them best.
"""

import numpy as np
import tensorflow as tf

from rnn_keras import figures
from rnn_keras.inspect import unrolled

VOWELS = set("aeiouyAEIOUY")


def properties(text):
    """`{name: (len(text),) float}` per-character properties of `text`."""
    quote, bracket, column = False, 0, 0
    rows = {
        k: []
        for k in (
            "inside quotes",
            "inside brackets",
            "position in line",
            "inside a speaker name",
            "vowel",
        )
    }
    line_is_speaker = [ln.rstrip().endswith(":") for ln in text.split("\n")]
    line = 0
    for c in text:
        rows["inside quotes"].append(float(quote))
        rows["inside brackets"].append(float(bracket > 0))
        rows["position in line"].append(float(column))
        rows["inside a speaker name"].append(float(line_is_speaker[line] and c != "\n"))
        rows["vowel"].append(float(c in VOWELS))
        quote = not quote if c in '"“”' else quote
        bracket = max(0, bracket + (c in "([{") - (c in ")]}"))
        column, line = (0, line + 1) if c == "\n" else (column + 1, line)
    return {k: np.asarray(v) for k, v in rows.items()}


def activations(model, ids):
    """`{direction: (len(ids), units)}` states over one passage, in text order."""
    _, directions = unrolled.run(model, tf.constant([ids], tf.int32))
    return {d.name: np.asarray(d.stacked()[0]) for d in directions}


def correlations(acts, props):
    """`{direction: (units, properties)}` Pearson correlations (0 where a side is constant)."""
    names = [k for k, v in props.items() if v.std() > 0]  # a constant says nothing
    if not names:
        return {}, []
    p = np.stack([props[k] for k in names], axis=1)  # (time, properties)
    out = {}
    for name, a in acts.items():
        a0, p0 = a - a.mean(0), p - p.mean(0)
        denom = np.outer(np.sqrt((a0**2).sum(0)), np.sqrt((p0**2).sum(0)))
        out[name] = np.divide(a0.T @ p0, denom, out=np.zeros_like(denom), where=denom > 0)
    return out, names


def top_units(corr, names, per_property=1):
    """`[(property, direction, unit, r)]`: the units most correlated with each property."""
    best = []
    for j, prop in enumerate(names):
        ranked = sorted(
            ((abs(c[u, j]), d, u, c[u, j]) for d, c in corr.items() for u in range(c.shape[0])),
            reverse=True,
        )
        best += [(prop, d, u, float(r)) for _, d, u, r in ranked[:per_property]]
    return best


def plot(text, acts, best, path, width=120):
    """A strip per top unit over the first `width` characters (blue -1 .. red +1)."""
    plt = figures.pyplot()
    shown = text[:width]
    with figures.fonts_for(shown, path):
        fig, axes = plt.subplots(len(best), 1, figsize=(14, 0.9 * len(best) + 0.6), squeeze=False)
        for ax, (prop, d, u, r) in zip(axes[:, 0], best):
            strip = acts[d][: len(shown), u][None]
            ax.imshow(strip, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
            ax.set_yticks([])
            ax.set_xticks(range(len(shown)), figures.char_labels(shown), fontsize=6)
            ax.set_title(f"{d} unit {u}: r = {r:+.2f} with '{prop}'", fontsize=8, loc="left")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    plt.close(fig)


def direction_shares(model, ids):
    """`(forward, backward)` norms `(time,)` of each direction's part of the logits.

    For a bidirectional top layer, `logits = [h_f, h_b] V + c = h_f V_f + h_b V_b + c`.
    """
    logits, directions = unrolled.run(model, tf.constant([ids], tf.int32))
    if len(directions) < 2:  # one recurrence (a one-layer LM): one direction, nothing to share
        return None
    fw, bw = directions[-2], directions[-1]
    if not (bw.reverse and not fw.reverse):
        return None
    V = np.asarray(model.get_layer("head").kernel)
    units = fw.states[0].shape[-1]
    hf, hb = np.asarray(fw.stacked()[0]), np.asarray(bw.stacked()[0])
    return np.linalg.norm(hf @ V[:units], axis=-1), np.linalg.norm(hb @ V[units:], axis=-1)
