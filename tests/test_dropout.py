"""Our Dropout: Keras' semantics, drawn with an explicit generator (fast under XLA on CPU)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnn_keras as rk
from rnn_keras.layers import Dropout


@pytest.mark.parametrize("jit", [False, True])
def test_dropout_keeps_one_minus_rate_scaled_and_is_identity_at_inference(jit):
    layer = Dropout(0.25, seed=3)
    x = tf.ones((64, 32, 16))
    run = tf.function(lambda x: layer(x, training=True), jit_compile=jit)
    a, b = run(x).numpy(), run(x).numpy()
    kept = a != 0
    assert abs(kept.mean() - 0.75) < 0.01  # 32,768 draws
    np.testing.assert_allclose(a[kept], 1 / 0.75, rtol=1e-6)
    assert (a != b).any()  # a new mask every call
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_a_model_with_our_dropout_round_trips_through_a_keras_file(tmp_path):
    tokens = keras.Input((None,), dtype="int32")
    h = rk.OneHot(5, mask_zero=True)(tokens)
    h = rk.DeepBidirectional([3, 3], dropout=0.5)(h)
    out = keras.layers.Dense(2)(Dropout(0.5, name="drop")(h))
    model = keras.Model(tokens, out)
    x = np.array([[1, 2, 3, 0]], np.int32)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("drop")) is Dropout
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
