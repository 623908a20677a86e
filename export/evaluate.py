"""`python -m export.infer RUN --evaluate FILE`: an exported classifier, token tagger,
translator or captioner scored on a labelled file (or folder) of yours, in the formats
`--data` reads, or a language model or word segmenter on a text file, with no TensorFlow,
as training scores its validation set (`rnn_keras_common.scores`).

Language models: cross-entropy in nats and bits per character and perplexity, the text cut
into the run's streams and read `seq_len` characters at a time with the state carried, so
that the run's own held-out text scores what training reported.

Classifiers and taggers: accuracy, macro-F1 and per label precision, recall, F1 and support
(a segmenter's labels: inside a word, or its end, per character; a text's spaces the truth).
A label the model never saw in training is scored as a class of its own that it never
predicts: those examples count as wrong. Translators: `source<TAB>target` pairs (a source on
several lines has several right answers), decoded with `--beam`; WER (share of sources
wrong) and PER (token edits per reference token), and for word targets BLEU when sacrebleu
is installed. Captioners: a folder as `--data` takes it (images and a captions file);
exact match (the caption is one of the image's references) and BLEU-4 (sacrebleu).
"""

import collections
import functools
import importlib.util
import math

import numpy as np

from rnn_keras_common import captions as captions_file
from rnn_keras_common import labelled
from rnn_keras_common.files import flag_named, read_utf8
from rnn_keras_common.scores import class_scores, classes_table, corpus_bleu, error_rates
from rnn_keras_common.segmentation import tagging_data
from rnn_keras_common.streams import LMStreams
from rnn_keras_common.vocab import source_rules, target_joiner

from .encoder_decoder import Captioner, Translator
from .runtime import Classifier, LanguageModel, Tagger, TokenTagger


def evaluate(model, path, beam=1, max_len=None):
    """A classifier's or tagger's `{"examples", "counted" (what they are: examples, tokens or
    characters), "labels", "unseen", "unreadable", "accuracy", "macro_f1", "per_class",
    "table"}`; a translator's `{"sources", "beam", "wer", "per",
    "unreadable"[, "bleu"]}`; a captioner's `{"images", "beam", "exact"[, "bleu4"]}`; a
    language model's `{"characters", "streams", "seq_len", "nats_per_char", "bits_per_char",
    "perplexity", "left_out"}`. `max_len`: an encoder-decoder's token limit (default: the
    run's `--max-output`)."""
    if isinstance(model, LanguageModel):
        return _language(model, path)
    if isinstance(model, Translator):
        return _translation(model, path, beam, max_len)
    if isinstance(model, Captioner):
        return _captioning(model, path, beam, max_len)
    truth, predicted, unreadable = _answers(model, path)
    labels, known = list(model.labels), set(model.labels)
    unseen = sorted(set(truth) - known)
    strangers = sum(y not in known for y in truth)
    if strangers > len(truth) / 2:  # not this model's labels, or the columns swapped
        raise labelled.DataError(
            f"--evaluate {path}: {strangers:,} of {len(truth):,} examples carry labels this model "
            f"never saw in training, such as {unseen[0][:40]!r} (it knows "
            f"{', '.join(map(repr, labels[:5]))}{', ...' if len(labels) > 5 else ''}). Is it "
            "the file for this model, with text<TAB>label columns (or a header naming them)?"
        )
    labels += unseen
    index = {label: i for i, label in enumerate([*labels, UNREADABLE])}
    confusion = np.zeros((len(index), len(index)), np.int64)
    np.add.at(confusion, ([index[y] for y in truth], [index[p] for p in predicted]), 1)
    scores = class_scores(confusion)  # UNREADABLE: a column only, never a true label
    scores["per_class"] = scores["per_class"][:-1]
    counts = {label: int(confusion[index[label]].sum()) for label in unseen}
    counted = "tokens" if isinstance(model, TokenTagger) else "examples"
    counted = "characters" if isinstance(model, Tagger) else counted
    return {**scores, "examples": len(truth), "counted": counted, "labels": labels,
            "unseen": counts, "unreadable": unreadable,
            "table": classes_table(labels, scores)}  # fmt: skip


UNREADABLE = object()  # the answer to a text with characters the model never saw: wrong


def _answers(model, path):
    """`(true labels, predicted labels, unreadable texts)`: one label per passage, or one
    per token."""
    if isinstance(model, Classifier):
        columns = labelled.Columns.of(model.meta["config"] or {})  # as the run read its --data
        rows = _read(path, functools.partial(labelled.read_labelled, columns=columns))
        readable = list(filter(_reads(model.vocab), (text for text, _ in rows)))
        found = dict(zip(readable, model.classify_many(readable) if readable else []))
        predicted = [found[t][0] if t in found else UNREADABLE for t, _ in rows]
        return [y for _, y in rows], predicted, [t for t, _ in rows if t not in found]
    if isinstance(model, Tagger):
        return _segmentation(model, path)
    if isinstance(model, TokenTagger):  # tokens: an unknown one reads as <unk>
        sentences = _read(path, labelled.read_conll)
        found = model.tag_many([tokens for tokens, _ in sentences])
        truth = [t for _, tags in sentences for t in tags]
        return truth, [t for tags in found for t in tags], []
    raise ValueError(f"--evaluate cannot score a {model.meta['task']} model.")


def _segmentation(model, path):
    """A segmenting tagger, character by character (inside a word, or its end): a text's
    own spaces are the answers, its lines read as training reads them, but whole (the
    model reads a long line in windows, as trained). A line with a character the model
    never saw is unreadable: wrong throughout."""
    text = read_utf8(path, "--evaluate", "a UTF-8 text of lines of words")
    lines, tags = tagging_data(text, max_len=10**9)
    if not lines:
        raise labelled.DataError(
            f"--evaluate {path}: no line of two or more words; a segmenting tagger is scored "
            "on lines whose words are separated by spaces."
        )
    labels = list(model.labels)
    readable = list(filter(_reads(model.vocab), lines))
    found = dict(zip(readable, model.word_ends_many(readable))) if readable else {}
    truth, predicted = [], []
    for line, ends in zip(lines, tags):
        truth += [labels[e] for e in ends]
        guess = found.get(line)
        predicted += [UNREADABLE] * len(line) if guess is None else [labels[e] for e in guess]
    return truth, predicted, [line for line in lines if line not in found]


def _language(model, path):
    """Cross-entropy on a text file, read as training reads its held-out text: cut into the
    run's streams (fewer for a short text), `seq_len` characters at a time, the state carried
    from batch to batch. Characters the model never saw are left out, and counted."""
    text = read_utf8(path, "--evaluate", "a UTF-8 text file")
    known = set(model.vocab.chars)
    left_out = collections.Counter(c for c in text if c not in known)
    ids = model.vocab.encode("".join(c for c in text if c in known))
    if len(ids) < 2:
        raise labelled.DataError(
            f"--evaluate {path}: {len(ids)} character(s) this model knows; scoring a "
            "prediction takes at least 2. Pass a longer text in the model's characters."
        )
    config = model.meta["config"]
    batch = max(1, min(config["batch_size"], (len(ids) - 1) // config["seq_len"]))
    streams = LMStreams(ids, batch, max(1, min(config["seq_len"], (len(ids) - 1) // batch)))
    states, total, count = model.zero_states(batch), 0.0, 0
    for x, y in streams.all_batches():
        logits, states = model.step(x, states)  # (streams, seq_len, vocab)
        z = logits.astype(np.float64)
        logp = z - z.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        total -= np.take_along_axis(logp, y[..., None], axis=-1).sum()
        count += y.size
    nats = total / count
    return {"characters": count, "streams": batch, "seq_len": streams.seq_len,
            "nats_per_char": nats, "bits_per_char": nats / math.log(2),
            "perplexity": math.exp(nats), "left_out": dict(left_out.most_common())}  # fmt: skip


def _read(path, read):
    return labelled.read_validation(path, read, "--evaluate")[1]


def _translation(model, path, beam, max_len=None):
    config = model.meta["config"]
    joiner = target_joiner(config)
    chars = joiner == ""
    read = functools.partial(labelled.read_pairs, target_units="chars" if chars else "words")
    references = {}  # source -> its right answers, in the file's order
    lowercase = source_rules(model.vocab)["lowercase"]  # as typed text is read: "HELLO"
    for source, target in _read(path, functools.partial(read, minimum=1)):
        source = source.lower() if lowercase else source
        if not config.get("data") and not config.get("stress"):
            target = tuple(p.rstrip("012") for p in target)  # CMUdict's stress, as trained
        references.setdefault(source, []).append(target)
    sources = list(references)
    readable = list(filter(_reads(model.vocab), sources))  # the rest count as wrong
    outputs = model.translate(readable, beam=beam, max_len=max_len) if readable else []
    decoded = dict(zip(readable, outputs))
    found = [list(t) if chars else t.split() for t in (decoded.get(s, "") for s in sources)]
    wer, per = error_rates(found, list(references.values()))
    result = {"sources": len(sources), "beam": beam, "wer": wer, "per": per}
    result["unreadable"] = [s for s in sources if s not in decoded]
    if config.get("data"):  # a user's sentences; a character target's on its joined text
        refs = [[joiner.join(r) for r in options] for options in references.values()]
        result |= _bleu("bleu", [joiner.join(f) for f in found], refs)
    return result


def _captioning(model, folder, beam, max_len=None):
    with flag_named("--evaluate"):
        captions = captions_file.read_captions(folder)[0]
    paths = [captions_file.image_path(folder, name) for name in captions]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise labelled.DataError(
            f"--evaluate {folder}: no such image {missing[0]} (named in "
            f"{captions_file.captions_file(folder).name}){' and others' * (len(missing) > 1)}."
        )
    found = model.caption([str(p) for p in paths], beam=beam, max_len=max_len)
    references = list(captions.values())
    exact = float(np.mean([c in refs for c, refs in zip(found, references)]))
    result = {"images": len(paths), "beam": beam, "exact": exact}
    return result | _bleu("bleu4", found, references)


def _bleu(key, hypotheses, references):
    """`{key: corpus BLEU}`, or a note when sacrebleu (a training requirement) is missing."""
    if importlib.util.find_spec("sacrebleu") is None:
        return {"note": "BLEU needs sacrebleu: pip install sacrebleu==2.6.0"}
    return {key: corpus_bleu(hypotheses, references)}


def _reads(vocab):
    """Whether a character vocabulary knows every character of a text (a word vocabulary
    reads any word, an unknown one as `<unk>`): a test built once for a whole file."""
    if vocab.unit != "char":
        return lambda text: True
    known = set(vocab.chars)
    return lambda text: set(text) <= known


def report(result, path):
    """The lines `export.infer --evaluate` prints."""
    if "nats_per_char" in result:
        lines = _language_lines(result, path)
    elif "exact" in result:
        lines = _caption_lines(result, path)
    elif "wer" in result:
        lines = _translation_lines(result, path)
    else:
        lines = _class_lines(result, path)
    return "\n".join([*lines, *([result["note"]] if "note" in result else [])])


def _language_lines(result, path):
    read = f"{result['streams']} streams x {result['seq_len']}, the state carried"
    lines = [
        f"{path}: {result['characters']:,} characters ({read}); "
        f"{result['nats_per_char']:.4f} nats/char, {result['bits_per_char']:.4f} bits/char, "
        f"perplexity {result['perplexity']:.3f}"
    ]
    if left := result["left_out"]:
        shown = ", ".join(f"{c!r} {n}" for c, n in list(left.items())[:10])
        lines.append(f"left out, as the model never saw them in training: {shown}")
    return lines


def _caption_lines(result, path):
    bleu = f", BLEU-4 {100 * result['bleu4']:.1f}" if "bleu4" in result else ""
    images = f"{result['images']:,} images, beam {result['beam']}"
    return [f"{path}: {images}; exact match {result['exact']:.4f}{bleu}"]


def _translation_lines(result, path):
    bleu = f", BLEU {100 * result['bleu']:.1f}" if "bleu" in result else ""
    sources = f"{result['sources']:,} sources, beam {result['beam']}"
    lines = [f"{path}: {sources}; WER {result['wer']:.4f}, PER {result['per']:.4f}{bleu}"]
    return lines + _unreadable_lines(result["unreadable"], "source")


def _class_lines(result, path):
    lines = [
        f"{path}: {result['examples']:,} {result['counted']}; accuracy {result['accuracy']:.4f}, "
        f"macro-F1 {result['macro_f1']:.4f}"
    ]
    if result["unseen"]:
        shown = list(result["unseen"].items())
        named = ", ".join(f"{label!r} {n}" for label, n in shown[:10])
        named += f", and {len(shown) - 10} more" if len(shown) > 10 else ""
        lines.append(f"labels the model never saw in training (counted as wrong): {named}")
    what = "line" if result["counted"] == "characters" else "text"  # a segmenter's: lines
    lines += _unreadable_lines(result["unreadable"], what)
    return [*lines, result["table"].rstrip("\n")]


def _unreadable_lines(unreadable, what):
    if not unreadable:
        return []
    shown = ", ".join(repr(u[:40]) for u in unreadable[:5]) + (
        ", ..." if len(unreadable) > 5 else ""
    )
    return [
        f"{len(unreadable)} {what}(s) hold characters the model never saw in training, "
        f"counted as wrong: {shown}"
    ]
