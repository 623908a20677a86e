"""Users' captioned images: a folder of PNG/JPEG files and `captions.tsv` (file<TAB>caption,
several lines per image allowed; a `file<TAB>caption` header line is skipped), e.g. a copy
of Flickr8k (its `Flickr8k.token.txt` names `name.jpg#0`..`#4`: the `#N` is dropped).

Images are read as inference reads them (`rnn_keras_common.images`: EXIF-turned,
RGB, resized to `SIZE` x `SIZE`);
captions are lowercased and split into words (`vocab.words`). Split by file name
(`data.hashed_split`). Every problem is a `DataError` naming the file (and line).
"""

import pathlib
import re

import numpy as np

from rnn_keras import data
from rnn_keras.data import DataError
from rnn_keras_common import images
from rnn_keras_common.vocab import words as caption_words

SIZE = 64
HEADERS = [["file", "caption"], ["image", "caption"], ["filename", "caption"]]
CAPTION_NUMBER = re.compile(r"(\.[A-Za-z]+)#\d+$")  # after the extension


def read_captions(folder):
    """`({file name: [captions]}, the TSV's text)`."""
    path = pathlib.Path(folder) / "captions.tsv"
    if not pathlib.Path(folder).is_dir():
        raise DataError(
            f"--data {folder}: no such folder. Pass a folder of images with captions.tsv."
        )
    text = data.read_utf8(path, "--data", "captions.tsv (file<TAB>caption per line)")
    captions = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip():
            raise DataError(f"{path}, line {number}: expected file<TAB>caption.")
        if number == 1 and [f.strip().lower() for f in fields] in HEADERS:
            continue
        words = caption_words(fields[1])
        if not words:
            raise DataError(f"{path}, line {number}: the caption of {fields[0]} is empty.")
        name = CAPTION_NUMBER.sub(r"\1", fields[0].strip())  # Flickr8k's `name.jpg#0`..`#4`
        captions.setdefault(name, []).append(" ".join(words))
    if not captions:
        raise DataError(f"{path}: no captions. Put one file<TAB>caption per line.")
    return captions, text


def read_image(path, size=SIZE, named_in="captions.tsv"):
    """`(size, size, 3)` uint8 RGB of an image file; `DataError` if it cannot be read."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image (named in {named_in}).")
    try:
        return images.read_rgb(path, size, size)
    except ValueError as err:
        raise DataError(str(err)) from err


def read_folder(folder, val_fraction):
    """`(captions.tsv text, {split: (images uint8, [references])})`."""
    captions, text = read_captions(folder)
    found = {s: ([], []) for s in ("train", "val", "test")}
    for name, refs in captions.items():
        images, references = found[data.hashed_split(name, val_fraction)]
        images.append(read_image(pathlib.Path(folder) / name))
        references.append(refs)
    if not found["train"][0] or not found["val"][0]:
        raise DataError(
            f"--data {folder}: {len(found['train'][0])} training and {len(found['val'][0])} "
            "validation images after the split; add images or change --val-fraction."
        )
    empty = np.zeros((0, SIZE, SIZE, 3), np.uint8)
    return text, {s: (np.stack(i) if i else empty, r) for s, (i, r) in found.items()}
