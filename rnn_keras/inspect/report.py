"""`inspect(run_dir, ...)`: every figure, the report and the page of one run."""

import json
import pathlib

import keras
import numpy as np

from rnn_keras import data, figures
from rnn_keras.inspect import decay, page, units
from rnn_keras.train import checkpoint, runs, saving
from rnn_keras_common.cli import text_or_file

PASSAGE = 600  # characters shown over the units
PER_PROPERTY = 3  # units offered in the page's picker per property


def load(run_dir):
    best = pathlib.Path(run_dir) / "best.keras"
    path = best if best.is_file() else checkpoint.latest_dir(run_dir) / "model.keras"
    return saving.load_model(path)


def run_text(run_dir, cfg, given):
    """`--text` (a file or the text), else the run's held-out text (its `--val-data` file, or
    the tail of its text), else its sample; a `--data` run's examples: `data_examples`."""
    if given:
        return text_or_file(given)
    if cfg.data is not None:
        return data_examples(run_dir, cfg)
    if cfg.val_data and pathlib.Path(cfg.val_data).is_file():
        return data.read_utf8(cfg.val_data, "--val-data", "a UTF-8 text file")  # all --text trained
    if cfg.text is None or pathlib.Path(cfg.text).is_file():
        return from_line_start(data.split(data.read_text(cfg.text), cfg.val_fraction)[1])
    sample = runs.read_sample(run_dir)
    if sample is None:
        raise data.DataError(f"{run_dir} keeps no text sample; pass --text.")
    return sample


def data_examples(run_dir, cfg):
    """A classifier's `[(text, label)]` or a CoNLL tagger's `[(tokens, tags)]`, read as
    training read them (the file's own columns, not its raw lines): from the run's
    `--val-data` or `--data` file while there, else from its sample, its cut record dropped."""
    from rnn_keras_common import labelled
    from rnn_keras_common.columns import Columns

    def read(path, text=None):
        if cfg.task == "tag":
            return labelled.read_conll(path, text)
        return labelled.read_labelled(path, text, Columns.of(cfg))

    for path in (cfg.val_data, cfg.data):
        if path and pathlib.Path(path).is_file():
            return read(path)
    sample = runs.read_sample(run_dir) or ""
    if len(sample) >= runs.SAMPLE_CHARS:  # cut mid-record: a sentence ends at a blank line
        sample = sample[: sample.rfind("\n\n" if cfg.task == "tag" else "\n") + 1]
    try:
        return read(cfg.data, sample)
    except data.DataError:
        raise data.DataError(
            f"--data {cfg.data} is no longer there and the run's sample holds none of its "
            "examples whole: put the file back, or pass --text."
        ) from None


def from_line_start(text):
    """The held-out tail begins wherever the split cut it, often mid-word ("e:" of a speaker's
    name): the passage shown starts at its first whole line, when it has a later one."""
    start = text.find("\n") + 1
    return text[start:] if 0 < start < len(text) else text


def streams(cfg, vocab, text, labels=()):
    """`(ids, targets or None)` as one stream: what the task's model reads, and its targets;
    `text` may be a `--data` run's examples (`data_examples`), its labels `labels`."""
    if not isinstance(text, str):
        return _example_stream(cfg, vocab, text, labels)
    if vocab.unit != "char":
        return np.array(vocab.encode(vocab.split(text)), np.int32), None
    known = set(vocab.chars)
    if cfg.task == "tag" and cfg.data is None:
        from rnn_keras.tasks.tag import tagging_data

        lines, tags = tagging_data("".join(c for c in text if c in known or c.isspace()), 10**6)
        lines = [(ln, t) for ln, t in zip(lines, tags) if set(ln) <= known]
        if not lines:
            raise data.DataError(
                "The text gives the tagger no line of two or more words: pass text with its "
                'spaces, e.g. "To be, or not to be" (they mark the word ends it is scored on).'
            )
        ids = np.array(vocab.encode("".join(ln for ln, _ in lines)), np.int32)
        return ids, np.concatenate([t for _, t in lines]).astype(np.int32)
    ids = np.array(vocab.encode("".join(c for c in text if c in known)), np.int32)
    return ids, (np.append(ids[1:], 0) if cfg.task == "lm" else None)


def _example_stream(cfg, vocab, examples, labels):
    """A CoNLL tagger's tokens and tag ids, sentence after sentence (a sentence with a tag
    the run never saw left out); a classifier's texts, one after another, no targets."""
    if cfg.task == "tag":
        ids = {tag: i for i, tag in enumerate(labels)}
        kept = [(t, g) for t, g in examples if set(g) <= ids.keys()]
        tokens = np.array(vocab.encode([t for ts, _ in kept for t in ts]), np.int32)
        return tokens, np.array([ids[g] for _, gs in kept for g in gs], np.int32)
    return streams(cfg, vocab, "\n".join(t for t, _ in examples))  # as one text


def windows(ids, targets, count, length, seed, fit=False):
    """`count` windows of `length` ids (and targets); `fit`: a text shorter than one window
    is one window of all of it (`--length` not given), rather than refused."""
    if fit and 3 <= len(ids) < length + 1:  # two steps back at least: a curve, not a point
        count, length = 1, len(ids) - 1
    if len(ids) < length + 1:
        raise data.DataError(
            f"The text gives {len(ids)} usable tokens, fewer than one window of {length + 1}; "
            "pass a longer --text or a smaller --length."
        )
    starts = np.random.default_rng(seed).integers(0, len(ids) - length, count)
    x = np.stack([ids[s : s + length] for s in starts])
    y = None if targets is None else np.stack([targets[s : s + length] for s in starts])
    return x, y


def inspect(run_dir, cfg, out, args):
    """Write the figures, `report.json` and `index.html` into `out`; returns their paths."""
    model = load(run_dir)
    vocab, labels = runs.read_vocab(run_dir)
    text = run_text(run_dir, cfg, args.text)
    ids, targets = streams(cfg, vocab, text, labels)
    if not isinstance(text, str):  # a --data run's examples: the passage below reads texts
        text = "\n".join(t if isinstance(t, str) else " ".join(t) for t, _ in text)
    fit = not getattr(args, "length_given", True)
    x, y = windows(ids, targets, args.windows, args.length, args.seed, fit)
    keras.utils.set_random_seed(cfg.seed)
    untrained = keras.models.clone_model(model)  # the same architecture, freshly initialised
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "decay": {
            "trained": decay.measure(model, x, y, "memory decay, trained"),
            "untrained": decay.measure(untrained, x, y, "memory decay, untrained"),
        }
    }
    decay.plot(result["decay"]["trained"], result["decay"]["untrained"], out / "decay.png")
    sections = [("Memory decay", page.image(out / "decay.png") + _fall_table(result))]
    written = [out / "decay.png"]
    picker = {}
    if vocab.unit == "char":
        known = set(vocab.chars)  # built once, not once per character
        passage = "".join(c for c in text if c in known)[:PASSAGE]
        picker, extra = _units(model, vocab, passage, out, result)
        sections += extra
        written.append(out / "units.png")
        # a tagger's head reads [h_f, h_b] at every step; a classifier's reads the pooled states
        if cfg.task == "tag" and _directions(model, vocab, passage, out, result):
            sections.append(("Forward and backward", page.image(out / "directions.png")))
            written.append(out / "directions.png")
    else:
        passage = ""
    (out / "report.json").write_text(json.dumps(result, indent=1))
    page.write(
        out / "index.html", f"The memory of {pathlib.Path(run_dir).name}", sections, passage, picker
    )
    return [*written, out / "report.json", out / "index.html"]


def falls(result):
    """`(curve, recurrence, trained 10x, trained 1000x, untrained 10x, untrained 1000x)` rows:
    the fall distances of the trained model beside those of the same shape untrained."""
    untrained = result["decay"]["untrained"]
    return [
        (kind, name)
        + tuple(
            decay.fall_text(curve, key)
            for curve in (s, untrained[kind][name])
            for key in ("fall_10x", "fall_1000x")
        )
        for kind, directions in result["decay"]["trained"].items()
        for name, s in directions.items()
    ]


def _fall_table(result):
    return page.table(
        falls(result),
        ["curve", "recurrence", "10x fall", "1000x fall", "untrained 10x", "untrained 1000x"],
    )


def _units(model, vocab, passage, out, result):
    acts = units.activations(model, vocab.encode(passage))
    corr, names = units.correlations(acts, units.properties(passage))
    best = units.top_units(corr, names, PER_PROPERTY)
    result["units"] = [{"property": p, "direction": d, "unit": u, "r": r} for p, d, u, r in best]
    units.plot(
        passage, acts, [b for i, b in enumerate(best) if i % PER_PROPERTY == 0], out / "units.png"
    )
    picker = {
        f"{d} unit {u} ({p}, r={r:+.2f})": np.round(acts[d][:, u], 3).tolist()
        for p, d, u, r in best
    }
    rows = [(p, d, u, f"{r:+.3f}") for p, d, u, r in best]
    table = page.table(rows, ["property", "recurrence", "unit", "correlation"])
    return picker, [("Units that track properties", page.image(out / "units.png") + table)]


def _directions(model, vocab, passage, out, result):
    shares = units.direction_shares(model, vocab.encode(passage))
    if shares is None:
        return False
    plt = figures.pyplot()
    forward, backward = (s[:120] for s in shares)
    result["directions"] = {
        "forward_mean": float(shares[0].mean()),
        "backward_mean": float(shares[1].mean()),
    }
    with figures.fonts_for(passage[:120], out / "directions.png"):
        fig, ax = plt.subplots(figsize=(14, 3))
        ax.plot(forward, label="forward ||h_f V_f||")
        ax.plot(backward, label="backward ||h_b V_b||")
        ax.set_xticks(range(len(forward)), figures.char_labels(passage[:120]), fontsize=6)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "directions.png", dpi=110)
    plt.close(fig)
    return True
