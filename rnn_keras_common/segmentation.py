"""Word segmentation's examples from plain text (NumPy only): training reads them, and so
does `export.infer --evaluate` on a segmenting tagger, with no TensorFlow."""

import numpy as np


def tagging_data(text, max_len=64, min_words=2):
    """Lines without spaces and their word-end tags, `(windows, tags)`: a line longer than
    `max_len` characters is cut into consecutive windows of `max_len`, as `export.runtime`'s
    tagger cuts it (a paragraph per line was read only up to its first `max_len`)."""
    lines, tags = [], []
    for line in text.splitlines():
        words = line.split()
        if len(words) < min_words or line.endswith(":"):
            continue  # speaker names and one-word lines teach nothing
        chars = "".join(words)
        ends = np.zeros(len(chars), np.int32)
        ends[np.cumsum([len(w) for w in words]) - 1] = 1
        for start in range(0, len(chars), max_len):
            lines.append(chars[start : start + max_len])
            tags.append(ends[start : start + max_len])
    return lines, tags
