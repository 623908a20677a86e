"""Property-based tests: random shapes, masks, units and activations against NumPy; arbitrary
Unicode into the inference API never fails with anything but a clear vocabulary error."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnn_keras as rk
from export import api, runtime
from rnn_keras.tasks.classify import classifier
from rnn_keras.tasks.lm import char_lm
from rnn_keras.tasks.tag import tagger
from rnn_keras_common.vocab import Vocab, VocabularyError
from tests.numpy_reference import rnn_forward

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def rnn_cases(draw):
    batch, time = draw(st.integers(1, 4)), draw(st.integers(1, 7))
    lengths = [draw(st.integers(1, time)) for _ in range(batch)]
    return dict(
        batch=batch,
        time=time,
        features=draw(st.integers(1, 4)),
        units=draw(st.integers(1, 5)),
        lengths=lengths,
        activation=draw(st.sampled_from(["tanh", "sigmoid", "relu"])),
        go_backwards=draw(st.booleans()),
        zero=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


@SETTINGS
@given(rnn_cases())
def test_rnn_equals_numpy_for_random_shapes_and_masks(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(case["batch"], case["time"], case["features"])).astype(np.float32)
    mask = np.arange(case["time"])[None, :] < np.array(case["lengths"])[:, None]
    layer = rk.RNN(
        case["units"],
        activation=case["activation"],
        return_sequences=True,
        return_state=True,
        go_backwards=case["go_backwards"],
        zero_output_for_mask=case["zero"],
        bias_initializer="random_normal",
    )
    y, s = layer(x, mask=mask)
    cell = layer.cell
    y_ref, s_ref = rnn_forward(
        x,
        cell.kernel.numpy(),
        cell.recurrent_kernel.numpy(),
        cell.bias.numpy(),
        activation=case["activation"],
        mask=mask,
        go_backwards=case["go_backwards"],
        zero_output_for_mask=case["zero"],
    )
    np.testing.assert_allclose(y.numpy(), y_ref, atol=1e-5)
    np.testing.assert_allclose(s.numpy(), s_ref, atol=1e-5)


VOCAB = Vocab.from_text("abcdefghijklmnopqrstuvwxyz ,.;:!?'\nABCDEFGHIJKLMNOPQRSTUVWXYZ")


@pytest.fixture(scope="module")
def apis(tmp_path_factory):
    out = {}
    for task, model in [
        ("tag", tagger(len(VOCAB), 2, units=4)),
        ("classify", classifier(len(VOCAB), 2, units=4)),
        ("lm", char_lm(len(VOCAB), units=4)),
    ]:
        files = api.export_model(
            model,
            {"task": task, "text": None},
            VOCAB,
            ["x", "y"],
            tmp_path_factory.mktemp(task),
            check=False,
        )
        out[task] = runtime.load(files[-1][0])
    return out


@SETTINGS
@given(st.text(min_size=1, max_size=60))
def test_arbitrary_unicode_gives_a_result_or_a_vocabulary_error(apis, text):
    known = all(c in VOCAB.chars for c in text)
    calls = [
        lambda: apis["classify"].classify(text),
        lambda: apis["lm"].generate(text, 3),
    ]
    for call in calls:
        if known:
            assert call() is not None
        else:
            with pytest.raises(VocabularyError):
                call()
    # the segmenter drops the text's own whitespace first: placing spaces is its job
    letters = "".join(text.split())
    if not letters:
        with pytest.raises(ValueError, match="at least one character"):
            apis["tag"].tag(text)
    elif all(c in VOCAB.chars for c in letters):
        assert apis["tag"].tag(text).replace(" ", "").split("\n") == [
            "".join(line.split()) for line in text.splitlines()
        ]
    else:
        with pytest.raises(VocabularyError):
            apis["tag"].tag(text)
