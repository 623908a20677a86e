"""Scores (NumPy only; rapidfuzz for edit distances): classification's from a confusion
matrix, translation's error rates. Training's validation and `python -m export.infer
--evaluate` compute them alike."""

import csv
import io

import numpy as np

from rnn_keras_common import scripts


def class_scores(confusion):
    """From `(true, predicted)` counts: accuracy, macro-F1 and per class `(p, r, f1, support)`.

    Macro-F1 averages over the classes that occur (support > 0), so a label absent
    from a small validation set neither helps nor hurts.
    """
    c = np.asarray(confusion, np.float64)
    tp, support, predicted = np.diag(c), c.sum(axis=1), c.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(c.sum(), 1.0)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": list(zip(precision, recall, f1, support)),
    }


def classes_table(labels, scores):
    """`label,precision,recall,f1,support` CSV of `class_scores(...)["per_class"]`; csv
    quotes a label holding commas or quotes."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["label", "precision", "recall", "f1", "support"])
    for label, (p, r, f1, n) in zip(labels, scores["per_class"]):
        writer.writerow([label, f"{p:.4f}", f"{r:.4f}", f"{f1:.4f}", int(n)])
    return table.getvalue()


def error_rates(predictions, references):
    """`(WER, PER)`: share of sources wrong; edits / reference tokens (closest reference)."""
    from rapidfuzz.distance import Levenshtein

    wrong = edits = length = 0
    for predicted, options in zip(predictions, references):
        distances = [Levenshtein.distance(list(predicted), list(r)) for r in options]
        best = int(np.argmin(distances))
        wrong += distances[best] > 0
        edits += distances[best]
        length += len(options[best])
    return wrong / max(len(predictions), 1), edits / max(length, 1)


def corpus_bleu(hypotheses, references):
    """Corpus BLEU-4 in [0, 1] (sacrebleu) of strings against each one's list of reference
    strings (as many as it has: sacrebleu's streams padded with None).

    sacrebleu's 13a tokenizer cuts at spaces and punctuation; references written without
    spaces (Chinese, Japanese) take its `zh` one instead, each ideograph a token, as WMT
    scores Chinese: under 13a a whole sentence would be one token.
    """
    import sacrebleu

    streams = max(len(r) for r in references)
    refs = [[r[k] if k < len(r) else None for r in references] for k in range(streams)]
    unspaced = scripts.unspaced_share(r for each in references for r in each) > 0.5
    tokenize = "zh" if unspaced else "13a"
    return sacrebleu.corpus_bleu(hypotheses, refs, tokenize=tokenize).score / 100
