"""Character vocabulary: id 0 is padding, ids 1..n the characters seen in training.

TensorFlow-free: the ONNX inference path reads it from the model's metadata.
"""

import json

import numpy as np

PAD = 0


class VocabularyError(ValueError):
    """Text holds characters the model never saw."""


class Vocab:
    """Maps characters to ids `1..len(chars)`; id 0 is reserved for padding."""

    def __init__(self, chars):
        chars = list(chars)
        if not chars or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("A vocabulary is a non-empty list of distinct single characters.")
        self.chars = chars
        self._ids = {c: i + 1 for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        """Size including the padding id: the model's input and output depth."""
        return len(self.chars) + 1

    def encode(self, text):
        unknown = sorted({c for c in text if c not in self._ids})
        if unknown:
            shown = "".join(unknown[:20])
            raise VocabularyError(
                f"The text holds {len(unknown)} character(s) the model was not trained on: "
                f"{shown!r}. Remove or replace them (the vocabulary is {''.join(self.chars)!r})."
            )
        return [self._ids[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i - 1] for i in ids if i != PAD)

    def to_json(self):
        return json.dumps(self.chars, ensure_ascii=False)

    @classmethod
    def from_json(cls, text):
        try:
            chars = json.loads(text)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Malformed vocabulary JSON: {err}") from err
        if not isinstance(chars, list):
            raise ValueError("Malformed vocabulary JSON: expected a list of characters.")
        return cls(chars)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.chars == other.chars


def pad(rows, length=None):
    """Right-pad id lists with `PAD` to `(len(rows), length)`."""
    length = length or max(len(r) for r in rows)
    out = np.full((len(rows), length), PAD, np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r[:length]
    return out
