"""Attention maps of an encoder-decoder run: where the decoder looked for each output token.

For a few sources (the run's test words, or `--text` words), the model decodes greedily;
the teacher-forced pass over its own output then returns the attention weights
`alpha_tj` it used at every step (the same arithmetic, see `layers/decoder.py`). One
heatmap per source: source tokens across, output tokens down. The report gives, per
source, how monotone the alignment is (share of steps whose most attended position
does not move left), the pattern a G2P model should learn.
"""

import json

import numpy as np

from rnn_keras import figures
from rnn_keras.inspect import page
from rnn_keras.tasks.seq2seq import attention_maps

EXAMPLES = 6


def monotone_share(alpha):
    """Share of steps whose most attended position is not left of the previous step's."""
    peaks = alpha.argmax(axis=1)
    return float(np.mean(np.diff(peaks) >= 0)) if len(peaks) > 1 else 1.0


def plot(examples, path):
    plt = figures.pyplot()
    cols = min(3, len(examples))
    rows = -(-len(examples) // cols)
    texts = [t for source, outputs, _ in examples for t in (*source, *outputs)]
    with figures.fonts_for(texts, path):
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
        for ax, (source, outputs, alpha) in zip(axes.flat, examples):
            ax.imshow(alpha, cmap="Greys", vmin=0, vmax=1, aspect="auto")
            ax.set_xticks(range(len(source)), source, fontsize=8)
            ax.set_yticks(range(len(outputs)), outputs, fontsize=7)
            title = f"{''.join(source)} -> {' '.join(outputs[:-1])}"
            ax.set_title(title if len(title) <= 48 else title[:47] + "…", fontsize=8)  # a
            # runaway output (an untrained decoder's 64 tokens) would cover its neighbours'
            # titles; the table of the page and report.json keep it whole
        for ax in list(axes.flat)[len(examples) :]:
            ax.axis("off")
        fig.suptitle("attention: output token (down) x source position (across)", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    plt.close(fig)


def inspect(model, task, out, words=None, images=None, title="The attention"):
    """`attention.png`, `report.json` and `index.html` (the figure and a table, one page as
    for the other runs) of a translate run (`words`: its sources) or a caption run
    (`images`: `{name: (size, size, 3) uint8}`); returns the paths."""
    if task.cfg.attention is False:
        raise ValueError("This run was trained with --no-attention: there is no attention to see.")
    out.mkdir(parents=True, exist_ok=True)
    rows = (_captions if task.name == "caption" else _words)(model, task, out, words or images)
    (out / "report.json").write_text(json.dumps({"attention": rows}, indent=2))
    shares = ["" if r["monotone_share"] is None else f"{r['monotone_share']:.0%}" for r in rows]
    table = page.table(
        [(r["source"], r["output"], share) for r, share in zip(rows, shares)],
        ["source", "output (greedy)", "monotone steps"],
    )
    section = ("Where the decoder looked", page.image(out / "attention.png") + table)
    page.write(out / "index.html", title, [section])
    return [out / "attention.png", out / "report.json", out / "index.html"]


def _words(model, task, out, words=None):
    """A translation run: `attention.png`, the attention over each source's tokens, output
    token by token; returns the report's rows."""
    sources = words or [src for _, _, src in task.references["test"][:EXAMPLES]]
    ids = [task.source_ids(s) for s in sources]
    maps = attention_maps(model, ids, task.cfg.max_output)
    examples, report = [], []
    for src, (o, alpha) in zip(sources, maps):
        shown = list(src) if task.vocab.unit == "char" else task.vocab.split(src)
        outputs = [*task.targets.decode_tokens(o), "</s>"]
        examples.append((shown, outputs, alpha))
        report.append({"source": src, "output": task.joiner.join(outputs[:-1]),
                       "monotone_share": monotone_share(alpha)})  # fmt: skip
    plot(examples, out / "attention.png")
    return report


def _captions(model, task, out, given=None):
    """A captioning run: each image's attention over its feature grid, word by word
    (`given` images by name, or the first 4 test images); returns the report's rows."""
    from rnn_keras.tasks import caption_metrics

    if given:
        names, images = list(given), np.stack(list(given.values()))
    else:
        images = task.images["test"][:4]
        names = [f"test image {i}" for i in range(len(images))]
    caption_metrics.attention_grid(model, images, task, out / "attention.png")
    return [{"source": name, "output": c, "monotone_share": None}
            for name, c in zip(names, task.decode(model, images))]  # fmt: skip
