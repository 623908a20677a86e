"""`python -m export.infer RUN --evaluate FILE`: an exported classifier or token tagger
scored on a labelled file of yours (the formats `--data` reads), with no TensorFlow.

Accuracy, macro-F1 and per label precision, recall, F1 and support, as training reports
its validation set (`rnn_keras_common.scores`). A label the model never saw in training is
scored as a class of its own that it never predicts: those examples count as wrong.
"""

import numpy as np

from rnn_keras_common import labelled
from rnn_keras_common.scores import class_scores, classes_table

from .runtime import Classifier, TokenTagger


def evaluate(model, path):
    """`{"examples", "labels", "unseen", "accuracy", "macro_f1", "per_class", "table"}`."""
    truth, predicted = _answers(model, path)
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
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), np.int64)
    np.add.at(confusion, ([index[y] for y in truth], [index[p] for p in predicted]), 1)
    scores = class_scores(confusion)
    counts = {label: int(confusion[index[label]].sum()) for label in unseen}
    return {**scores, "examples": len(truth), "labels": labels, "unseen": counts,
            "table": classes_table(labels, scores)}  # fmt: skip


def _answers(model, path):
    """`(true labels, predicted labels)`: one per passage, or one per token."""
    if isinstance(model, Classifier):
        rows = _read(path, labelled.read_labelled)
        found = model.classify_many([text for text, _ in rows])
        return [y for _, y in rows], [label for label, _ in found]
    if isinstance(model, TokenTagger):
        sentences = _read(path, labelled.read_conll)
        found = model.tag_many([tokens for tokens, _ in sentences])
        return [t for _, tags in sentences for t in tags], [t for tags in found for t in tags]
    raise ValueError(
        "--evaluate scores classifiers and taggers trained with --data (a labelled file); "
        f"this is a {model.meta['task']} model of another kind."
    )


def _read(path, read):
    return labelled.read_validation(path, read, "--evaluate")[1]


def report(result, path):
    """The lines `export.infer --evaluate` prints."""
    lines = [
        f"{path}: {result['examples']:,} examples; accuracy {result['accuracy']:.4f}, "
        f"macro-F1 {result['macro_f1']:.4f}"
    ]
    if result["unseen"]:
        shown = list(result["unseen"].items())
        named = ", ".join(f"{label!r} {n}" for label, n in shown[:10])
        named += f", and {len(shown) - 10} more" if len(shown) > 10 else ""
        lines.append(f"labels the model never saw in training (counted as wrong): {named}")
    return "\n".join([*lines, result["table"].rstrip("\n")])
