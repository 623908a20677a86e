"""Users' labelled files: `(text, label)` examples for classify, CoNLL sentences for tag,
`source<TAB>target` pairs for translate.

Every problem is a `DataError` that names the file and line and says the fix;
nothing here writes anything, so a bad file never touches a run folder.

- classify: TSV, one `text<TAB>label` per line, or CSV (`.csv`); a header line naming
  the `text` (or `sentence`, as GLUE's files do) and `label` columns is read in either,
  in any order (other columns ignored), and a CSV must have one; `--text-column` and
  `--label-column` name other columns (a Kaggle file's `review` and `sentiment`), and
  then a TSV needs a header too. A CSV's fields may be
  separated by `;` or `|` instead of `,` (spreadsheets in many locales write `;`): the
  header says which. JSON Lines (`.jsonl`, as `datasets`' `to_json` writes): one object
  per line with `text` (or `sentence`) and `label` keys (or the keys the two flags name);
  labels may be numbers. A `.json` file: one list of such objects.
- tag: CoNLL, one token per line with its tag in the last column (columns split
  on whitespace; every line of a file has the same number), a blank line between
  sentences; `-DOCSTART-` lines are skipped. A `.conllu` file is Universal
  Dependencies' CoNLL-U: each word's FORM tagged with its UPOS (`#` comments,
  multiword-token ranges `1-2` and empty nodes `8.1` skipped).
- translate: `source<TAB>target` per line (`read_pairs`; further columns ignored).
"""

import collections
import csv
import io
import json

from rnn_keras_common import files
from rnn_keras_common.columns import Columns
from rnn_keras_common.files import DataError


def read_utf8(path):
    """The labelled file `--data` names (a byte-order mark dropped)."""
    return files.read_utf8(path, "--data", "your labelled file")


def read_validation(path, read, flag="--val-data"):
    """`(text, read(path, text))` of a `--val-data` (or `--evaluate`) file, its errors naming
    that flag (the readers' messages name `--data`, the flag of the file they usually read)."""
    with files.flag_named(flag):
        text = read_utf8(path)
        return text, read(path, text)


def read_labelled(path, text=None, columns=None):
    """`[(text, label)]` from a TSV or CSV file (see the module docstring).

    `text`: the file's contents when the caller has read them already. `columns`: the
    `Columns` to read (`Columns.of(config)`); None reads `text` (or `sentence`) and `label`.
    """
    text = read_utf8(path) if text is None else text
    ending = str(path).lower().rpartition(".")[2]
    read = {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_rows}.get(ending, _tsv_rows)
    rows = read(path, text, columns or Columns())
    if not rows:
        raise DataError(f"--data {path}: no examples. Put one `text<TAB>label` per line.")
    return rows


def _tsv_rows(path, text, columns):
    rows, lines = [], [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    first = lines[0][1].split("\t") if lines else []
    header = columns.index(first)
    if header is None and columns.named and lines:
        raise DataError(
            f"--data {path}, line 1: no header naming {columns.wanted()} (it has {first}). "
            f"{columns.fix()}"
        )
    width, (t, y) = (len(first), header) if header else (2, (0, 1))
    for number, line in lines[1:] if header else lines:
        fields = line.split("\t")
        if len(fields) != width:
            raise DataError(
                f"--data {path}, line {number}: {len(fields)} tab-separated columns; "
                f"expected {width} (text<TAB>label). Use a .csv file for text that holds tabs."
            )
        rows.append(_example(path, f"line {number}", fields[t], fields[y]))
    return rows


# The header line decides; `,` first, as csv and spreadsheets default. Value: what a row's
# error calls the delimiter.
CSV_DELIMITERS = {",": "commas", ";": "semicolons", "|": "'|'"}


def _csv_reader(text, columns):
    """A csv reader past the header, the header's fields and its (text, label) indexes, with
    the first delimiter whose header names both (`,`'s reader and None when none does)."""
    for delimiter in CSV_DELIMITERS:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        fields = next(reader, [])
        found = columns.index(fields)
        if found is not None:
            return reader, fields, found
    reader = csv.reader(io.StringIO(text))
    return reader, next(reader, []), None


def _csv_rows(path, text, columns):
    reader, fields, found = _csv_reader(text, columns)
    if found is None:
        raise DataError(
            f"--data {path}, line 1: the header names no {columns.wanted()} columns (it has "
            f"{fields}). {columns.fix()}"
        )
    rows = []
    for row in reader:
        if not any(f.strip() for f in row):
            continue
        if len(row) != len(fields):
            raise DataError(
                f"--data {path}, line {reader.line_num}: {len(row)} columns; the header has "
                f"{len(fields)}. Quote a text that holds "
                f"{CSV_DELIMITERS[reader.dialect.delimiter]}."
            )
        rows.append(_example(path, f"line {reader.line_num}", row[found[0]], row[found[1]]))
    return rows


def _jsonl_rows(path, text, columns):
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            message = f"--data {path}, line {number}: not JSON ({e}). One object per line."
            raise DataError(message) from None
        where = f"line {number}"
        rows.append(_example(path, where, *_record_fields(path, where, record, columns)))
    return rows


def _json_rows(path, text, columns):
    """A `.json` file: one list of objects (`datasets`' `to_json(lines=False)`, pandas'
    `to_json(orient="records")`); `number` in errors counts the objects from 1."""
    try:
        records = json.loads(text)
    except ValueError as e:
        raise DataError(f"--data {path}: not JSON ({e}).") from None
    if not isinstance(records, list):
        raise DataError(
            f"--data {path}: expected a list of objects with {columns.wanted()}, got a "
            f"{type(records).__name__}. (One object per line is a .jsonl file.)"
        )
    return [
        _example(path, f"object {n}", *_record_fields(path, f"object {n}", record, columns))
        for n, record in enumerate(records, 1)
    ]


def _record_fields(path, where, record, columns):
    """A JSON Lines record's (text, label) as strings; a number label as its digits."""
    keys = list(record) if isinstance(record, dict) else []
    found = columns.index(keys)
    if found is None:
        raise DataError(
            f"--data {path}, {where}: expected an object with {columns.wanted()} keys, got "
            f"{str(record)[:80]!r}. {columns.fix()}"
        )
    text, label = record[keys[found[0]]], record[keys[found[1]]]
    if not isinstance(text, str) or isinstance(label, (dict, list, float)) or label is None:
        raise DataError(
            f"--data {path}, {where}: text must be a string and label a string or an "
            f"integer (got {type(text).__name__} and {type(label).__name__})."
        )
    return text, str(label)


def _example(path, where, text, label):
    """`(text, label)`; `where`: "line 3" (or "object 3" in a .json list)."""
    if not text.strip():
        raise DataError(f"--data {path}, {where}: the text is empty. Remove it.")
    if not label.strip():
        raise DataError(f"--data {path}, {where}: the label is empty. Give every text one.")
    return text, label.strip()


def label_order(labels):
    """The labels in the order they are numbered and shown: by value when every label is
    an integer (ratings 1..10 as 1, 2, .., 10, not 1, 10, 2), else alphabetically."""
    labels = set(labels)
    if all(label.lstrip("+-").isdecimal() for label in labels):
        return sorted(labels, key=lambda label: (int(label), label))
    return sorted(labels)


def check_stratifiable(path, labels):
    """A stratified split needs at least two examples of every label."""
    counts = collections.Counter(labels)
    single = sorted(label for label, n in counts.items() if n < 2)
    if len(single) > len(labels) / 2:  # most labels are one text's: the texts, it seems
        raise DataError(
            f"--data {path}: {len(counts):,} different labels in {len(labels):,} examples, "
            f"such as {single[0][:40]!r}: the label column seems to hold the texts. A file "
            "without a header is read as text<TAB>label; name its columns in a first line "
            "(e.g. label<TAB>text)."
        )
    if single:
        raise DataError(
            f"--data {path}: label(s) {', '.join(map(repr, single[:10]))} have a single "
            "example, which cannot be split into training and validation. Add examples "
            "or remove the label."
        )
    if len(counts) < 2:
        raise DataError(f"--data {path}: only one label ({labels[0]!r}); give at least two.")
    return counts


def read_conll(path, text=None):
    """`[(tokens, tags)]` sentences of a CoNLL file (see the module docstring); `text` as above."""
    text = read_utf8(path) if text is None else text
    if str(path).lower().endswith(".conllu"):
        return _conllu_sentences(path, text)
    sentences, tokens, tags, width = [], [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        if len(fields) < 2 or (width is not None and len(fields) != width):
            expected = "at least 2" if width is None else str(width)
            raise DataError(
                f"--data {path}, line {number}: {len(fields)} column(s), expected {expected} "
                "(token ... tag, the same on every line)."
            )
        width = len(fields)
        tokens.append(fields[0])
        tags.append(fields[-1])
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise DataError(f"--data {path}: no sentences. Put one `token tag` per line.")
    return sentences


def _conllu_sentences(path, text):
    """CoNLL-U: ID FORM LEMMA UPOS ... in 10 tab-separated columns; FORM and UPOS are kept."""
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise DataError(
                f"--data {path}, line {number}: {len(fields)} tab-separated column(s), expected "
                "10 (CoNLL-U: ID FORM LEMMA UPOS ...). Name a plain CoNLL file .conll."
            )
        if "-" in fields[0] or "." in fields[0]:  # a multiword token's range, an empty node
            continue
        tokens.append(fields[1])
        tags.append(fields[3])
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise DataError(f"--data {path}: no sentences (CoNLL-U word lines).")
    return sentences


MIN_PAIRS = 10  # fewer cannot be split into training and validation usefully


OTHER_FORMATS = (".csv", ".json", ".jsonl")  # what classify reads and translate does not


def read_pairs(path, text=None, target_units="words", minimum=MIN_PAIRS):
    """`[(source, target tokens)]` from a `source<TAB>target` UTF-8 file.

    Further columns, the same number on every line, are ignored: Tatoeba's pairs (keras-io's
    `fra.txt`) carry an attribution third.
    The target is split on whitespace (`target_units='words'`) or into characters.
    """
    text = files.read_utf8(path, "--data", "your source<TAB>target file") if text is None else text
    pairs, width = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"--data {path}, line {number}"
        width = width or max(len(fields), 2)  # the first line's, e.g. 3 in Tatoeba's fra.txt
        if len(fields) == 1 and not pairs and str(path).lower().endswith(OTHER_FORMATS):
            raise DataError(
                f"--data {path}: --task translate reads tab-separated pairs (source<TAB>target "
                "a line, as Tatoeba's files), not CSV or JSON. Save it as such a .tsv first."
            )
        if len(fields) != width:
            raise DataError(
                f"{where}: {len(fields)} tab-separated column(s); expected "
                + (f"{width}, as on the first line." if width > 2 else "2 (source<TAB>target).")
            )
        source, target = (f.strip() for f in fields[:2])
        if not source or not target:
            side = "source" if not source else "target"
            raise DataError(f"{where}: the {side} is empty. Every pair needs both sides.")
        pairs.append((source, tuple(target.split() if target_units == "words" else target)))
    if len(pairs) < minimum:
        raise DataError(
            f"--data {path}: {len(pairs)} pair(s); give at least {minimum} "
            "(source<TAB>target per line)" + (" to train and validate on." if minimum > 1 else ".")
        )
    return pairs
