"""Captioning's measures and pictures: BLEU-4 (sacrebleu), exact match, attribute accuracy.

Attribute accuracy reads a caption of the generated scenes as slots: per object its
size, colour and shape, and for two objects the relation. A caption scores the slots
it gets right against the reference that suits it best; missing slots are wrong.
"""

import re

import numpy as np

from rnn_keras import figures
from rnn_keras.data import scenes
from rnn_keras_common.scores import corpus_bleu

OBJECT = re.compile(r"a (\w+) (\w+) (\w+)")


def slots(caption):
    """`[size, colour, shape, ..., relation]` of a caption (see the module docstring)."""
    found = [s for m in OBJECT.finditer(caption) for s in m.groups()]
    relation = [r for r in scenes.INVERSE if f" {r} " in f" {caption} "]
    return found + relation[:1]


def attribute_hits(caption, references):
    """`(right slots, reference slots)` against the best-suited reference."""
    got = slots(caption)
    best = (0, len(slots(references[0])))
    for ref in references:
        want = slots(ref)
        right = sum(g == w for g, w in zip(got, want)) - max(0, len(got) - len(want))
        best = max(best, (max(right, 0), len(want)), key=lambda b: b[0] / max(b[1], 1))
    return best


def scores(captions, references, attributes=True):
    """`{bleu4, exact, attributes}` of `captions` against each image's `references`."""
    out = {
        "bleu4": corpus_bleu(captions, references),
        "exact": float(np.mean([c in r for c, r in zip(captions, references)])),
    }
    if attributes:
        hits = np.array([attribute_hits(c, r) for c, r in zip(captions, references)])
        out["attributes"] = float(hits[:, 0].sum() / max(hits[:, 1].sum(), 1))
    return out


def _figure(count, cols, height):
    plt = figures.pyplot()
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, height * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return plt, fig, axes


def picture_grid(images, captions, path, cols=4):
    """Images with their captions underneath, wrapped, as one PNG."""
    import textwrap

    with figures.fonts_for(captions, path):
        plt, fig, axes = _figure(len(images), cols, 3.3)
        for ax, image, caption in zip(axes.flat, images, captions):
            ax.imshow(image.astype(np.uint8))
            ax.set_title("\n".join(textwrap.wrap(caption, 30)), fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    plt.close(fig)


def attention_grid(model, images, task, path):
    """For each image, the attention over the feature grid at every word, over the image."""
    from rnn_keras.tasks.seq2seq import attention_maps

    maps = attention_maps(model, list(images.astype(np.float32)), task.cfg.max_output)
    words = max(len(o) for o, _ in maps) + 1
    side = int(round(np.sqrt(maps[0][1].shape[1])))
    tokens = [[*task.targets.decode_tokens(ids), "</s>"] for ids, _ in maps]
    with figures.fonts_for([t for row in tokens for t in row], path):
        plt, fig, axes = _figure(len(images) * words, words, 1.6)
        for row, (image, row_tokens, (_, alpha)) in enumerate(zip(images, tokens, maps)):
            for col, (token, a) in enumerate(zip(row_tokens, alpha)):
                ax = axes[row, col]
                ax.imshow(image.astype(np.uint8))
                ax.imshow(a.reshape(side, side), cmap="magma", alpha=0.6, interpolation="bilinear",
                          extent=(0, image.shape[1], image.shape[0], 0))  # fmt: skip
                ax.set_title(token, fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
    plt.close(fig)
