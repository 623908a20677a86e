"""Word segmentation's examples from plain text (NumPy only): training reads them, and so
does `export.infer --evaluate` on a segmenting tagger, with no TensorFlow."""

import numpy as np


def tagging_data(text, max_len=64, min_words=2):
    """Lines without spaces and their word-end tags: `(lines_without_spaces, tags)`."""
    lines, tags = [], []
    for line in text.splitlines():
        words = line.split()
        if len(words) < min_words or line.endswith(":"):
            continue  # speaker names and one-word lines teach nothing
        chars = "".join(words)[:max_len]
        ends = np.zeros(len(chars), np.int32)
        pos = np.cumsum([len(w) for w in words]) - 1
        ends[pos[pos < len(chars)]] = 1
        lines.append(chars)
        tags.append(ends)
    return lines, tags
