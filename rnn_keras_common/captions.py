"""Users' captions files (no TensorFlow: training and `export.infer --evaluate` read them).

A folder of PNG/JPEG files and `captions.tsv` (file<TAB>caption, several lines per image
allowed; a `file<TAB>caption` header line is skipped), e.g. a copy of Flickr8k (its
`Flickr8k.token.txt` names `name.jpg#0`..`#4`: the `#N` is dropped). Without a
`captions.tsv`, a `captions.csv` or `captions.txt` with an `image,caption` header
(Kaggle's Flickr8k and Flickr30k folders) is read; their images may sit in an `Images/`
(or `images/`) subfolder. Captions are lowercased and split into words (`vocab.words`).
Every problem is a `DataError` naming the file (and line).
"""

import csv
import io
import pathlib
import re

from rnn_keras_common import files
from rnn_keras_common.files import DataError
from rnn_keras_common.vocab import words as caption_words

HEADERS = [["file", "caption"], ["image", "caption"], ["filename", "caption"]]
CAPTION_FILES = ("captions.tsv", "captions.csv", "captions.txt")  # the first found is read
IMAGE_FOLDERS = ("", "Images", "images")  # where a captions file's names are looked up
CAPTION_NUMBER = re.compile(r"(\.[A-Za-z]+)#\d+$")  # after the extension


def captions_file(folder):
    """The folder's captions file: `captions.tsv`, else a `captions.csv` or `.txt` there."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"--data {folder}: no such folder. Pass a folder of images with captions.tsv."
        )
    found = [folder / n for n in CAPTION_FILES if (folder / n).is_file()]
    return found[0] if found else folder / CAPTION_FILES[0]


def read_captions(folder):
    """`({file name: [captions]}, the captions file's text)`."""
    path = captions_file(folder)
    text = files.read_utf8(path, "--data", "captions.tsv (file<TAB>caption per line)")
    tsv = path.suffix == ".tsv" or "\t" in text.partition("\n")[0]
    captions = {}
    for number, fields in (_tsv_fields if tsv else _csv_fields)(path, text):
        words = caption_words(fields[1])
        if not words:
            raise DataError(f"{path}, line {number}: the caption of {fields[0]} is empty.")
        name = CAPTION_NUMBER.sub(r"\1", fields[0].strip())  # Flickr8k's `name.jpg#0`..`#4`
        captions.setdefault(name, []).append(" ".join(words))
    if not captions:
        raise DataError(f"{path}: no captions. Put one file<TAB>caption per line.")
    return captions, text


def _tsv_fields(path, text):
    """`(line number, [file, caption])` of a file<TAB>caption file, a header line skipped."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip():
            raise DataError(f"{path}, line {number}: expected file<TAB>caption.")
        if number > 1 or [f.strip().lower() for f in fields] not in HEADERS:
            yield number, fields


def _csv_fields(path, text):
    """`(line number, [file, caption])` of a CSV whose header names its image and caption."""
    reader = csv.reader(io.StringIO(text))
    header = [f.strip().lower() for f in next(reader, [])]
    named = [h for h in HEADERS if set(h) <= set(header)]
    if not named:
        raise DataError(
            f"{path}, line 1: expected a header naming the image and caption columns "
            f"(image,caption), got {header}."
        )
    columns = [header.index(n) for n in named[0]]
    for row in reader:
        if not any(f.strip() for f in row):
            continue
        if len(row) != len(header) or not row[columns[0]].strip():
            raise DataError(
                f"{path}, line {reader.line_num}: expected {len(header)} fields as the header "
                "names. Quote a caption that holds commas."
            )
        yield reader.line_num, [row[c] for c in columns]


def image_path(folder, name):
    """Where a captions file's `name` is: in the folder, or in its `Images/` subfolder."""
    paths = [pathlib.Path(folder, sub, name) for sub in IMAGE_FOLDERS]
    return next((p for p in paths if p.is_file()), paths[0])
