"""Character vocabulary: id 0 is padding, ids 1..n the characters seen in training.

TensorFlow-free: the ONNX inference path reads it from the model's metadata.
"""

import functools
import json
import re
import sys
import unicodedata

import numpy as np

PAD = 0
VOCAB_SHOWN = 120  # characters of a vocabulary an error line lists


class VocabularyError(ValueError):
    """Text holds characters the model never saw."""


class Vocab:
    """Maps characters to ids `1..len(chars)`; id 0 is reserved for padding."""

    unit = "char"

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
                f"{shown!r}. Remove or replace them ({self._listed()})."
            )
        return [self._ids[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i - 1] for i in ids if i != PAD)

    def _listed(self, at_most=VOCAB_SHOWN):
        """The vocabulary for an error line; a Chinese one's thousands of characters begun."""
        chars = "".join(self.chars)
        if len(chars) <= at_most:
            return f"the vocabulary is {chars!r}"
        return f"the vocabulary's {len(chars):,} characters begin {chars[:at_most]!r}"

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


UNKNOWN = "<unk>"


def words(text):
    """A text's words, numbers and punctuation marks, lowercased (`unit="word"`).

    NFC first, so that an accent typed as a combining mark is the same word as the
    precomposed letter. A word is letters and marks (`\\p{L}\\p{M}`, and letter-like
    numbers): Python's `\\w` leaves out the marks, which cut Hindi "नमस्ते" into four
    pieces at its vowel signs and virama. The browser page's `wordsOf` is the same rule.
    """
    text = unicodedata.normalize("NFC", text).lower()
    return (ASCII_WORD if text.isascii() else _word_pattern()).findall(text)


# the same matches as `_word_pattern()` on ASCII text, 6x faster (its letter class has
# hundreds of ranges): 200,000 English reviews split in 2.5 s instead of 15
ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+|[^\w\s]")


@functools.cache
def _word_pattern():
    """Built on first use: finding the marks reads all of Unicode (~70 ms)."""
    wanted = ("L", "M", "Nl", "No")
    ranges, start = [], None
    for c in range(sys.maxunicode + 2):
        inside = c <= sys.maxunicode and unicodedata.category(chr(c)).startswith(wanted)
        if inside and start is None:
            start = c
        elif not inside and start is not None:
            ranges.append(re.escape(chr(start)) + "-" + re.escape(chr(c - 1)))
            start = None
    letter = "[" + "".join(ranges) + "]"
    return re.compile(rf"{letter}+(?:'{letter}+)*|\d+|[^\w\s]")


def _punctuation(c):
    return unicodedata.category(c)[0] in "PS"  # punctuation or a symbol


class TokenVocab:
    """Maps whole tokens to ids; id 1 is the unknown token, 0 padding.

    Tokens seen fewer than `min_count` times in training (or beyond the
    `max_size` most frequent), and every unseen token at inference, share
    `UNKNOWN`'s id, so a new word never stops the model. `unit` says how text
    becomes tokens: "token" splits on whitespace (CoNLL files come split) and peels
    punctuation off the ends of a token the vocabulary lacks,
    "word" lowercases and takes words, numbers and punctuation marks (`words`).
    """

    def __init__(self, tokens, unit="token"):
        if unit not in ("token", "word"):
            raise ValueError(f"`unit` must be 'token' or 'word', got {unit!r}.")
        self.unit = unit
        tokens = list(tokens)
        if not tokens or tokens[0] != UNKNOWN or len(set(tokens)) != len(tokens):
            raise ValueError(f"A token vocabulary is {UNKNOWN!r} then distinct tokens.")
        if not all(isinstance(t, str) and t and not t.isspace() for t in tokens):
            raise ValueError("Tokens are non-empty strings without only whitespace.")
        self.chars = tokens  # the name the metadata and run folder use for either kind
        self._ids = {t: i + 1 for i, t in enumerate(tokens)}

    @classmethod
    def from_counts(cls, counts, min_count=1, max_size=None, unit="token"):
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_count and t != UNKNOWN),
            key=lambda t: (-counts[t], t),
        )
        return cls([UNKNOWN, *sorted(ranked[:max_size])], unit)

    def __len__(self):
        return len(self.chars) + 1

    def split(self, text):
        if self.unit == "word":
            return words(text)
        return [piece for token in text.split() for piece in self._peeled(token)]

    def _peeled(self, token):
        """A whitespace token the vocabulary lacks, its leading and trailing punctuation split
        off ("Paris." -> "Paris", "."), as CoNLL and UD files are tokenised; a known one
        ("U.S.", "...") as it is. The page's `peeled` is the same rule."""
        if token in self._ids:
            return [token]
        start, end = 0, len(token)
        while start < end and _punctuation(token[start]):
            start += 1
        while end > start and _punctuation(token[end - 1]):
            end -= 1
        core = [token[start:end]] if start < end else []
        return [*self._run(token[:start]), *core, *self._run(token[end:])]

    def _run(self, marks):
        """Punctuation peeled off a token: one token if the vocabulary knows it, else each mark."""
        return [marks] if marks in self._ids else list(marks)

    def encode(self, tokens):
        unknown = self._ids[UNKNOWN]
        return [self._ids.get(t, unknown) for t in tokens]

    def decode(self, ids):
        return " ".join(self.chars[i - 1] for i in ids if i != PAD)

    def __eq__(self, other):
        return isinstance(other, TokenVocab) and (self.chars, self.unit) == (
            other.chars,
            other.unit,
        )


END = "</s>"


class TargetVocab:
    """An encoder-decoder's output tokens: id 0 padding, 1 `END` (it also starts), then tokens.

    With `UNKNOWN` among the tokens, an unseen target token maps to it; otherwise
    it is an error.
    """

    def __init__(self, tokens):
        tokens = [t for t in tokens if t != END]
        if not tokens or len(set(tokens)) != len(tokens):
            raise ValueError("Target tokens are a non-empty list of distinct tokens.")
        self.tokens = [END, *tokens]
        self._ids = {t: i + 1 for i, t in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens) + 1

    def encode(self, tokens):
        unknown = self._ids.get(UNKNOWN)
        missing = sorted({t for t in tokens if t not in self._ids})
        if missing and unknown is None:
            raise VocabularyError(f"Unknown target token(s) {missing[:10]}.")
        return [self._ids.get(t, unknown) for t in tokens]

    def decode_tokens(self, ids):
        """The tokens of `ids`, without padding and `END`."""
        return tuple(self.tokens[i - 1] for i in ids if i > 1)


UNITS = ("char", "token", "word")


def make_vocab(entries, unit="char"):
    """The vocabulary a run or an exported model saved: characters, tokens or words."""
    return Vocab(entries) if unit == "char" else TokenVocab(entries, unit)


def pad(rows, length=None):
    """Right-pad id lists with `PAD` to `(len(rows), length)`."""
    length = length or max(len(r) for r in rows)
    out = np.full((len(rows), length), PAD, np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r[:length]
    return out


def target_joiner(config):
    """What joins a translator's output tokens, from its run's config (a dict): nothing for
    a `--data` run with `--target-units chars` (its characters as written), else a space."""
    return "" if config.get("target_units") == "chars" and config.get("data") else " "


def source_rules(vocab):
    """How typed text becomes a translator's sources. A character vocabulary without a space
    (CMUdict's words) takes each word on its own; one without capitals reads the text
    lowercased; so "Hello World" asks for two pronunciations instead of failing on 'H' and
    ' '. The browser page (its models.json) and `rnn_keras.inspect` apply the same rules."""
    chars = vocab.unit == "char"
    return {
        "lowercase": chars and not any(c.isupper() for c in vocab.chars),
        "words": chars and " " not in vocab.chars,
    }


def translation_sources(vocab, text):
    """`text` as the sources `source_rules` make of it (a user vocabulary's text as typed)."""
    rules = source_rules(vocab)
    if rules["lowercase"]:
        text = text.lower()
    if not rules["words"]:
        return [text]
    return text.split() or [""]  # nothing but spaces: refused as an empty text


def translation_sources_by_line(vocab, text):
    """Each non-blank line's `translation_sources` (a file of words: one source per word
    or line); empty if the text holds nothing."""
    return [
        s for line in text.splitlines() if line.strip() for s in translation_sources(vocab, line)
    ]
