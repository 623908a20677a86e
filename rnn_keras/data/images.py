"""Users' captioned images for training: the folder's captions file is read by
`rnn_keras_common.captions` (shared with `export.infer --evaluate`; re-exported here), its
images as inference reads them (`rnn_keras_common.images`: EXIF-turned, RGB, resized to
`SIZE` x `SIZE`), split by file name (`data.hashed_split`). Every problem is a `DataError`
naming the file (and line).
"""

import pathlib

import numpy as np

from rnn_keras import data
from rnn_keras.data import DataError
from rnn_keras_common import images
from rnn_keras_common.captions import captions_file, image_path, read_captions  # noqa: F401

SIZE = 64


def read_image(path, size=SIZE, named_in="captions.tsv"):
    """`(size, size, 3)` uint8 RGB of an image file; `DataError` if it cannot be read."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image (named in {named_in}).")
    try:
        return images.read_rgb(path, size, size)
    except ValueError as err:
        raise DataError(str(err)) from err


def read_folder(folder, val_fraction, split=None):
    """`(captions file's text, {split: (images uint8, [references])})`; `split`: every
    image's split (e.g. "train"), instead of one by its name's hash."""
    captions, text = read_captions(folder)
    found, named_in = {s: ([], []) for s in ("train", "val", "test")}, captions_file(folder).name
    for name, refs in captions.items():
        images, references = found[split or data.hashed_split(name, val_fraction)]
        images.append(read_image(image_path(folder, name), named_in=named_in))
        references.append(refs)
    if split:
        return text, _stacked(found)
    if not found["train"][0] or not found["val"][0]:
        raise DataError(
            f"--data {folder}: {len(found['train'][0])} training and {len(found['val'][0])} "
            "validation images after the split; add images or change --val-fraction."
        )
    return text, _stacked(found)


def _stacked(found):
    empty = np.zeros((0, SIZE, SIZE, 3), np.uint8)
    return {s: (np.stack(i) if i else empty, r) for s, (i, r) in found.items()}
