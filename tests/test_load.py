"""Load held: one session shared by 8 threads, and 100,000-character inputs with flat memory."""

import concurrent.futures

import numpy as np
import pytest

from export import api, runtime
from rnn_keras.data import plays as corpus
from rnn_keras.tasks.lm import char_lm
from rnn_keras.tasks.tag import tagger
from rnn_keras_common.vocab import Vocab

TEXT = corpus.default_text()
VOCAB = Vocab.from_text(TEXT)


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tag_model = tagger(len(VOCAB), 2, units=16, num_layers=2, bidirectional=True)
    [(tag_file, _)] = api.export_model(
        tag_model, {"task": "tag", "text": None}, VOCAB, None, tmp_path_factory.mktemp("tag")
    )
    lm = char_lm(len(VOCAB), units=32, num_layers=2)
    [_, (step_file, _)] = api.export_model(
        lm, {"task": "lm", "text": None}, VOCAB, None, tmp_path_factory.mktemp("lm")
    )
    return tag_file, step_file


def test_one_session_eight_threads_thousand_mixed_requests(exported):
    tagger = runtime.load(exported[0])
    rng = np.random.default_rng(0)
    requests = []
    for _ in range(1000):
        batch, time = rng.integers(1, 5), rng.integers(1, 40)
        tokens = rng.integers(1, len(VOCAB), (batch, time)).astype(np.int32)
        tokens[0, rng.integers(1, time + 1) :] = 0  # some right padding
        requests.append(tokens)
    expected = [tagger.run({"tokens": t})["logits"] for t in requests]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: tagger.run({"tokens": t})["logits"], requests))
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_tagging_100k_characters_with_flat_memory(exported):
    tagger = runtime.load(exported[0])
    text = "".join(c for c in TEXT[:150_000] if c in VOCAB.chars and not c.isspace())[:100_000]
    tagger.tag(text[:5000])  # warm up the session's arenas
    before = rss_mb()
    out = tagger.tag(text)
    grown = rss_mb() - before
    assert out.replace(" ", "") == text
    assert grown < 100, f"RSS grew {grown:.0f} MB while tagging 100k characters"


def test_generating_100k_characters_with_flat_memory(exported):
    lm = runtime.load(exported[1])
    lm.generate("ROMEO:", 2000, seed=1)
    before = rss_mb()
    text = lm.generate("ROMEO:", 100_000, seed=1)
    grown = rss_mb() - before
    assert len(text) == len("ROMEO:") + 100_000
    assert grown < 50, f"RSS grew {grown:.0f} MB while generating 100k characters"
