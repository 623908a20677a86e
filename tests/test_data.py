"""Corpus normalisation, TBPTT streams, tagging and classification data, vocabulary."""

import string

import numpy as np
import pytest

from rnn_keras import data
from rnn_keras.data import plays as corpus
from rnn_keras.tasks import classify, lm, tag
from rnn_keras_common.vocab import TokenVocab, Vocab, VocabularyError, words

PLAY = """# Hamlet

## ACT I

### SCENE I. Elsinore.

_FRANCISCO at his post. Enter to him
BERNARDO_

**BERNARDO**  
Who's there?

**FRANCISCO**  
Nay, answer me: _Aside_ stand,  
and unfold yourself\\.
"""


def test_normalise_play_keeps_speakers_and_verse_only():
    text = corpus.normalise_play(PLAY)
    assert (
        text
        == "BERNARDO:\nWho's there?\n\nFRANCISCO:\nNay, answer me: stand,\nand unfold yourself.\n"
    )


def test_bundled_corpus_is_the_complete_plays():
    plays = corpus.load_plays()
    assert len(plays) == 38
    assert {c for c, _, _ in plays} == set(corpus.CATEGORIES)
    text = corpus.default_text()
    assert 4_500_000 < len(text) < 5_100_000
    assert 60 < len(set(text)) < 100
    assert "ROMEO:" in text and "#" not in text and "**" not in text


def test_lm_streams_continue_across_batches():
    ids = np.arange(1, 202)
    streams = lm.LMStreams(ids, batch_size=4, seq_len=5)
    x1, y1, w1, new1 = streams.next_batch()
    x2, _, _, new2 = streams.next_batch()
    assert new1 and not new2
    np.testing.assert_array_equal(y1[:, :-1], x1[:, 1:])  # targets are inputs shifted by one
    np.testing.assert_array_equal(x2[:, 0], y1[:, -1])  # batch 2 continues batch 1's streams
    assert w1.shape == x1.shape and w1.min() == 1.0
    for _ in range(streams.batches_per_pass - 2):
        streams.next_batch()
    assert streams.next_batch()[3]  # a new pass starts: the carried state is reset


def test_lm_streams_refuse_text_shorter_than_a_batch():
    with pytest.raises(data.DataError, match="too short"):
        lm.LMStreams(np.arange(50), batch_size=8, seq_len=10)


def test_tagging_marks_word_ends():
    lines, tags = tag.tagging_data("HAMLET:\nTo be, or not\nAy\n")
    assert lines == ["Tobe,ornot"]
    np.testing.assert_array_equal(tags[0], [0, 1, 0, 0, 1, 0, 1, 0, 0, 1])


def test_a_line_longer_than_a_window_is_cut_into_windows_not_cut_short():
    line = " ".join(f"w{i}" * (1 + i % 3) for i in range(40))  # a paragraph on one line
    lines, tags = tag.tagging_data(line + "\nTo be\n", max_len=16)
    whole, ends = tag.tagging_data(line, max_len=10**6)
    assert [len(w) for w in lines[:-1]] == [16] * (len(whole[0]) // 16) + [len(whole[0]) % 16]
    assert "".join(lines[:-1]) == whole[0] and lines[-1] == "Tobe"  # every character kept
    np.testing.assert_array_equal(np.concatenate(tags[:-1]), ends[0])


def test_classification_holds_out_whole_blocks_inside_every_play():
    train, val, labels = classify.play_data(6, "play")
    assert len(labels) == 38 and labels == [name for _, name, _ in corpus.load_plays()]
    assert not {p for p, _ in train} & {p for p, _ in val}
    assert {y for _, y in val} == {y for _, y in train} == set(range(38))  # every play in both
    assert 0.08 < len(val) / (len(train) + len(val)) < 0.12  # one block in ten
    # the held-out passages of a play are runs of BLOCK consecutive passages
    _, name, text = corpus.load_plays()[0]
    numbered = classify.passages(text, 6)
    held = [i for i, p in enumerate(numbered) if (p, 0) in set(val)]
    assert held[: classify.BLOCK] == list(range(5 * classify.BLOCK, 6 * classify.BLOCK))
    _, _, categories = classify.play_data(6, "category")
    assert categories == list(corpus.CATEGORIES)


def test_vocab_round_trip_and_unknown_characters():
    vocab = Vocab.from_text("hello world")
    assert vocab.decode(vocab.encode("low")) == "low"
    assert Vocab.from_json(vocab.to_json()) == vocab
    assert len(vocab) == len(set("hello world")) + 1  # + padding id 0
    with pytest.raises(VocabularyError, match="'Z'"):
        vocab.encode("hello Z")


def test_ascii_text_takes_a_faster_pattern_with_the_same_words():
    from rnn_keras_common.vocab import _word_pattern

    rng = np.random.default_rng(0)
    alphabet = np.array(list(string.printable + ""))  # apostrophes: o'er, don't
    for n in rng.integers(0, 60, 3000):
        text = "".join(rng.choice(alphabet, n))
        assert words(text) == _word_pattern().findall(text.lower()), text
    want = ["don't", "stop", "at", "42", ",", "o'er", "-", "x", "!"]
    assert words("Don't STOP_ at 42, o'er-x!") == want


def test_an_unknown_character_error_lists_a_long_vocabulary_begun_not_whole():
    with pytest.raises(VocabularyError, match=r"\(the vocabulary is ' dehlorw'\)\.$"):
        Vocab.from_text("hello world").encode("Z")
    chinese = Vocab([chr(0x4E00 + i) for i in range(3000)])
    with pytest.raises(VocabularyError) as err:
        chinese.encode("hello")
    message = str(err.value)
    assert "the vocabulary's 3,000 characters begin '一丁" in message and len(message) < 300


WORD_CASES = {
    "To be, or not to be: that's 42!": [
        "to",
        "be",
        ",",
        "or",
        "not",
        "to",
        "be",
        ":",
        "that's",
        "42",
        "!",
    ],
    "नमस्ते दुनिया": ["नमस्ते", "दुनिया"],  # vowel signs and virama stay inside the word
    "cafe\u0301 CAFÉ": ["café", "café"],  # a combining accent is the precomposed letter
    "x² foo_bar": ["x²", "foo", "bar"],
    "தமிழ் مَرْحَبًا": ["தமிழ்", "مَرْحَبًا"],
}


@pytest.mark.parametrize("text", sorted(WORD_CASES))
def test_words_keep_letters_and_their_marks_together(text):
    assert words(text) == WORD_CASES[text]
    assert TokenVocab(["<unk>"], "word").split(text) == WORD_CASES[text]


TOKEN_CASES = {  # vocabulary: Paris . U.S. ... (
    "in Paris. (ok)": ["in", "Paris", ".", "(", "ok", ")"],
    "U.S. wait...": ["U.S.", "wait", "..."],  # known as a whole: kept whole
    "?! --": ["?", "!", "-", "-"],  # unknown marks: one each
    "«Paris»,": ["«", "Paris", "»", ","],
    "don't e-mail 3.5": ["don't", "e-mail", "3.5"],  # inside a token: kept
}


@pytest.mark.parametrize("text", sorted(TOKEN_CASES))
def test_a_token_vocabulary_peels_punctuation_off_tokens_it_lacks(text):
    vocab = TokenVocab(["<unk>", "Paris", ".", "U.S.", "...", "("])
    assert vocab.split(text) == TOKEN_CASES[text]
