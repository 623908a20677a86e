"""Scripts written without spaces between words, which word units cannot read.

Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan run their words together: a
"word" cut at spaces, or a run of letters, is then a whole phrase or sentence, seen
once. A classifier on such words learns its training lines by heart and reads half of
its validation words as `<unk>` (measured: 50%, accuracy at the majority baseline on
two labels it tells apart with characters), and a translator's targets become one
token per sentence. Characters are the unit that works for them.
"""

import itertools
import unicodedata

from rnn_keras_common.files import DataError

# the Unicode character names of the letters of scripts written without spaces
UNSPACED = (
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "HIRAGANA",
    "KATAKANA",
    "THAI CHARACTER",
    "LAO LETTER",
    "KHMER LETTER",
    "MYANMAR LETTER",
    "TIBETAN LETTER",
)
SAMPLE = 200_000  # letters looked at: the file's start says which script it is in


def unspaced_share(texts):
    """The share of the letters of `texts` (their first `SAMPLE`) in a script without spaces."""
    letters = (c for t in texts for c in t if unicodedata.category(c).startswith("L"))
    sample = list(itertools.islice(letters, SAMPLE))
    unspaced = sum(unicodedata.name(c, "").startswith(UNSPACED) for c in sample)
    return unspaced / max(len(sample), 1)


def check_words_can_split(texts, where, fix):
    """`DataError` when `texts` are mostly written without spaces between words."""
    share = unspaced_share(texts)
    if share > 0.5:
        raise DataError(
            f"{where}: {share:.0%} of the letters are in a script written without spaces "
            "between words (Chinese, Japanese, Thai, ...), so as words each line is a token "
            f"or two that new text rarely repeats. {fix}"
        )
