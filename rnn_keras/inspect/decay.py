"""How far back the memory reaches: gradient norms against the distance `T - t`.

Two curves per recurrence (layer and direction), over many windows of real text:
- `||dL_T / ds_t||`: the loss at a direction's last processed step (the last
  character for a forward direction, the first for a backward one), back to each
  earlier state, through every path (per-step models: lm, tag);
- `||ds_T / ds_t||_F`: the recurrence alone, the product of `W diag(f')`.
Bengio et al. (1994) and Pascanu et al. (2013) explain why both fall
geometrically for a contracting tanh RNN.
"""

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_keras import figures
from rnn_keras.inspect import unrolled


def loss_gradient_norms(model, tokens, targets):
    """`{direction: (batch, T)}` norms of `dL/ds` by distance 0..T-1 from the loss's step."""
    with tf.GradientTape(persistent=True) as tape:
        logits, directions = unrolled.run(model, tf.constant(tokens))
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits
        losses = {
            False: tf.reduce_sum(ce(targets[:, -1], logits[:, -1])),  # forward: the last step
            True: tf.reduce_sum(ce(targets[:, 0], logits[:, 0])),  # backward: the first
        }
    out = {}
    for d in directions:
        grads = tape.gradient(losses[d.reverse], d.states)  # processing order
        # float64: squaring a float32 gradient below ~4e-23 underflows to 0, which cut every
        # curve off there (a trained LM's falls below that within 60 steps)
        norms = [np.linalg.norm(np.asarray(g, np.float64), axis=-1) for g in grads[::-1]]
        out[d.name] = np.stack(norms, axis=1)
    del tape
    return out


def jacobian_norms(model, tokens, label=None):
    """`{direction: (batch, T)}` of `||ds_T/ds_t||_F` by distance; a bar named `label` on a
    terminal (a product of `units x units` matrices per window: tens of seconds)."""
    _, directions = unrolled.run(model, tf.constant(tokens))
    bar = tqdm(directions, desc=label, unit="recurrence", disable=None if label else True)
    return {d.name: unrolled.recurrent_jacobian_norms(d) for d in bar}


def fall_distance(curve, factor):
    """The first distance at which `curve` is `factor` times below its value at distance 0."""
    below = np.nonzero(curve <= curve[0] / factor)[0]
    return int(below[0]) if below.size else None


def fall_text(summary_, key):
    """`"within 12 steps"`, or where the curve never fell that far within the window
    `"not within the 99 steps measured"` (a short `--text` measures few)."""
    distance, longest = summary_[key], len(summary_["median"]) - 1
    if distance is None:
        return f"not within the {_steps(longest)} measured"
    return f"within {_steps(distance)}"


def _steps(n):
    return f"{n} step" if n == 1 else f"{n} steps"


def summary(norms):
    """Median and quartiles over the windows, and the 10x / 1000x fall distances."""
    median = np.median(norms, axis=0)
    return {
        "median": median.tolist(),
        "q25": np.quantile(norms, 0.25, axis=0).tolist(),
        "q75": np.quantile(norms, 0.75, axis=0).tolist(),
        "fall_10x": fall_distance(median, 10.0),
        "fall_1000x": fall_distance(median, 1000.0),
    }


def measure(model, tokens, targets=None, label=None):
    """`{"loss": {direction: summary}, "jacobian": {...}}` (no "loss" without targets)."""
    norms = jacobian_norms(model, tokens, label)
    result = {"jacobian": {k: summary(v) for k, v in norms.items()}}
    if targets is not None:
        grads = loss_gradient_norms(model, tokens, targets)
        result["loss"] = {k: summary(v) for k, v in grads.items()}
    return result


def plot(trained, untrained, path):
    """Both curves, trained (solid, quartiles shaded) beside untrained (dashed), log scale."""
    plt = figures.pyplot()
    kinds = [k for k in ("loss", "jacobian") if k in trained]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4), squeeze=False)
    titles = {"loss": "||dL_T / ds_t||", "jacobian": "||ds_T / ds_t||_F"}
    for ax, kind in zip(axes[0], kinds):
        for i, (name, s) in enumerate(trained[kind].items()):
            colour = f"C{i}"
            x = np.arange(len(s["median"]))
            ax.plot(x, s["median"], color=colour, label=f"{name} (trained)")
            ax.fill_between(x, s["q25"], s["q75"], color=colour, alpha=0.2)
            ax.plot(
                x,
                untrained[kind][name]["median"],
                "--",
                color=colour,
                alpha=0.7,
                label=f"{name} (untrained)",
            )
        # an exact 0 (float32 underflow, ~1e-38) ends a curve instead of plunging off the axis
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("distance T - t (steps back)")
        ax.set_title(titles[kind])
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
