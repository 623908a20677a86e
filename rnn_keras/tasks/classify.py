"""`classify`: one label per passage, read by a (bidirectional) RNN and pooled.

Default data: passages of `seq_len` lines from the 38 bundled plays, labelled
with their play (`--classify-by category` for the play's category). The split
holds out whole blocks inside every play: passages are numbered within their
play, cut into blocks of `BLOCK` consecutive ones, and every block whose index
is `HELD_OUT` modulo `EVERY` is validation, so a validation passage's neighbours
are validation passages too, and every play is in both sets.

`--data FILE`: the user's `(text, label)` examples (`rnn_keras.data.labelled`),
split by label (stratified) with `val_fraction`.
"""

import collections
import functools

import numpy as np

from rnn_keras.data import DataError, plays
from rnn_keras.tasks.base import (
    ShuffledBatches,
    in_batches,
    pooled_args,
    token_model,
    vocabulary_line,
    word_vocabulary,
)
from rnn_keras_common import labelled, scripts
from rnn_keras_common.scores import class_scores
from rnn_keras_common.vocab import UNKNOWN, TokenVocab, Vocab

BLOCK, EVERY, HELD_OUT = 20, 10, 5
UNK_ID = 1  # a passage with no word at all (only spaces) reads as one unknown word


def passages(text, lines_per_passage):
    """Consecutive lines of verse or prose of `text`, `lines_per_passage` at a time.

    Speaker lines (`NAME:`) are left out: a name identifies its play, so a
    classifier would learn names instead of style and fail on unseen plays.
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.endswith(":")]
    return [
        "\n".join(lines[i : i + lines_per_passage])
        for i in range(0, len(lines) - lines_per_passage + 1, lines_per_passage)
    ]


def play_data(lines_per_passage=6, classify_by="play"):
    """`(train, val, labels)` of the plays; train/val are `[(passage, label_id)]`."""
    corpus = plays.load_plays()
    check_passage_length(corpus, lines_per_passage)
    labels = [name for _, name, _ in corpus] if classify_by == "play" else list(plays.CATEGORIES)
    train, val = [], []
    for category, name, text in corpus:
        label = labels.index(name if classify_by == "play" else category)
        for i, passage in enumerate(passages(text, lines_per_passage)):
            held_out = (i // BLOCK) % EVERY == HELD_OUT
            (val if held_out else train).append((passage, label))
    return train, val, labels


def check_passage_length(corpus, lines_per_passage):
    """`DataError` when a play would have no held-out passage: the first held-out block
    starts at passage `BLOCK * HELD_OUT`, so every play needs one more passage than that."""
    needed = BLOCK * HELD_OUT + 1
    shortest = min(len(passages(text, 1)) for _, _, text in corpus)
    longest_ok = shortest // needed
    if lines_per_passage > longest_ok:
        raise DataError(
            f"--seq-len {lines_per_passage}: passages of {lines_per_passage} lines leave the "
            f"shortest play fewer than the {needed} passages the held-out split needs (every "
            f"{EVERY}th block of {BLOCK} from the {HELD_OUT + 1}th). Pass --seq-len "
            f"{longest_ok} or less (the default is 6), or your own --data."
        )


def user_data(path, val_fraction, seed, text=None, validation=None, columns=None):
    """`(train, val, labels)` of a labelled file (`text`: its contents), split by label, or
    all of it for training beside `validation`, `(path, examples)` of a `--val-data` file;
    `columns`: the file's `labelled.Columns`."""
    from sklearn.model_selection import train_test_split

    rows = labelled.read_labelled(path, text, columns)
    if validation is not None:
        return _with_validation_file(path, rows, *validation)
    counts = labelled.check_stratifiable(path, [y for _, y in rows])
    labels = labelled.label_order(counts)
    ids = {label: i for i, label in enumerate(labels)}
    examples = [(text, ids[y]) for text, y in rows]
    try:
        train, val = train_test_split(
            examples, test_size=val_fraction, random_state=seed, stratify=[y for _, y in examples]
        )
    except ValueError as err:  # fewer validation examples than labels
        raise DataError(
            f"--data {path}: {len(examples)} examples with {len(labels)} labels cannot be "
            f"split with --val-fraction {val_fraction} ({err}). Add examples or raise "
            "--val-fraction."
        ) from err
    return train, val, labels


def _with_validation_file(path, rows, val_path, val_rows):
    """`(train, val, labels)`: every row trains; a validation label training lacks is refused."""
    labels = labelled.label_order({y for _, y in rows})
    if len(labels) < 2:
        raise DataError(f"--data {path}: only one label ({labels[0]!r}); give at least two.")
    unseen = sorted({y for _, y in val_rows} - set(labels))
    if unseen:
        raise DataError(
            f"--val-data {val_path}: label(s) {', '.join(map(repr, unseen[:10]))} never appear "
            f"in --data {path}, so the model cannot predict them. Remove those examples, or "
            "add some of each label to --data."
        )
    ids = {label: i for i, label in enumerate(labels)}
    return [(t, ids[y]) for t, y in rows], [(t, ids[y]) for t, y in val_rows], labels


def make_vocabulary(cfg, train, val):
    """Characters of every passage, or the training passages' most frequent words, and
    a line on what the words cover ("" for characters).

    Words come from training passages only: a validation word the model never
    saw in training reads as `<unk>`, as it would for a new text.
    """
    if cfg.unit == "char":
        return Vocab.from_text("".join(p for p, _ in train + val)), ""
    if cfg.data:
        texts = (p for p, _ in train)
        scripts.check_words_can_split(texts, f"--data {cfg.data}", "Pass --unit char.")
    probe = TokenVocab([UNKNOWN], "word")
    counts = collections.Counter(w for p, _ in train for w in probe.split(p))
    vocab = word_vocabulary(counts, cfg.min_count, cfg.max_vocab, "word")
    return vocab, vocabulary_line(vocab, counts, [w for p, _ in val for w in probe.split(p)])


def classifier(vocab_size, num_classes, **encoder):
    """One label per sequence from the pooled states: `(batch, classes)` logits."""
    return token_model(vocab_size, num_classes, False, "classifier", **encoder)


class Task:
    name, stateful = "classify", False

    def __init__(self, cfg, text=None):
        self.cfg = cfg
        if cfg.data:
            train, val = self._user_data(cfg)
            if len(train) < cfg.batch_size:
                raise DataError(
                    f"--data {cfg.data}: {len(train)} training examples, fewer than one batch "
                    f"of {cfg.batch_size}. Add examples or pass a smaller --batch-size."
                )
        else:
            train, val, self.labels = play_data(cfg.seq_len, cfg.classify_by)
            self.source = "\n\n".join(p for p, _ in train + val)
        self.vocab, covered = make_vocabulary(cfg, train, val)
        encode = self.encode
        self.val = [(encode(p), y) for p, y in val]
        self.train = ShuffledBatches(
            [(encode(p), y) for p, y in train], cfg.batch_size, cfg.seed, tag_targets=False
        )
        counts = np.bincount([y for _, y in self.val], minlength=len(self.labels))
        self.majority_baseline = float(counts.max() / counts.sum())
        self.summary = class_counts(self.labels, train, val) + (f"\n{covered}" if covered else "")

    def _user_data(self, cfg):
        """`(train, val)` of `--data` (and `--val-data`), whose texts are hashed into the run."""
        self.source, validation = labelled.read_utf8(cfg.data), None
        columns = labelled.Columns.of(cfg)
        if cfg.val_data:
            read = functools.partial(labelled.read_labelled, columns=columns)
            self.val_source, rows = labelled.read_validation(cfg.val_data, read)
            validation = (cfg.val_data, rows)
        train, val, self.labels = user_data(
            cfg.data, cfg.val_fraction, cfg.seed, self.source, validation, columns
        )
        return train, val

    def encode(self, passage):
        """Ids of the passage's characters or words, cut to what the classifier reads."""
        if self.vocab.unit == "char":
            return self.vocab.encode(passage)[: self.cfg.max_tokens]
        return self.vocab.encode(self.vocab.split(passage))[: self.cfg.max_tokens] or [UNK_ID]

    def model(self):
        return classifier(len(self.vocab), len(self.labels), **pooled_args(self.cfg))

    def val_batches(self):
        return in_batches(self.val, self.cfg.batch_size, False, self.cfg.eval_batches)

    def metrics(self, t):
        scores = class_scores(t["confusion"])
        return {
            "val_loss": float(t["loss"] / t["count"]),
            "val_accuracy": scores["accuracy"],
            "val_macro_f1": scores["macro_f1"],
            "majority_baseline": self.majority_baseline,
        }


def class_counts(labels, train, val):
    """One line of examples per label, train/validation: the imbalance, stated."""
    tr, va = collections.Counter(y for _, y in train), collections.Counter(y for _, y in val)
    shown = ", ".join(f"{labels[i]} {tr[i]}/{va[i]}" for i in range(min(len(labels), 40)))
    more = f", and {len(labels) - 40} more (classes.csv at the end)" if len(labels) > 40 else ""
    return f"{len(train)} training / {len(val)} validation examples; per label: {shown}{more}"
