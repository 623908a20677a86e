"""Every layer round-trips through get_config and .keras files, and trains with fit()."""

import keras
import numpy as np
import pytest

import rnn_keras as rk


def sequential(layer):
    return keras.Sequential([keras.Input((None, 3)), layer, keras.layers.Dense(2)])


def functional(layer):
    tokens = keras.Input((None,), dtype="int32")
    h = rk.OneHot(5, mask_zero=True)(tokens)
    h = layer(h)
    return keras.Model(tokens, keras.layers.Dense(2)(h))


LAYERS = {
    "rnn": lambda: rk.RNN(4, activation="relu", return_sequences=True, use_bias=False),
    "bidirectional": lambda: rk.Bidirectional(rk.RNN(4, return_sequences=True), merge_mode="ave"),
    "deep": lambda: rk.DeepBidirectional([4, 3], dropout=0.2, merge_mode="sum"),
    "deep_gain": lambda: rk.DeepBidirectional(
        [4, 3], recurrent_initializer=keras.initializers.Orthogonal(gain=0.5)
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_get_config_round_trip(name):
    layer = LAYERS[name]()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("build", [sequential, functional])
def test_keras_file_round_trip(tmp_path, rng, name, build):
    model = build(LAYERS[name]())
    if build is sequential:
        x = rng.normal(size=(2, 5, 3)).astype("float32")
    else:
        x = np.array([[1, 2, 3, 4, 0], [4, 3, 0, 0, 0]], "int32")
    expected = model(x).numpy()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded(x).numpy(), expected)


def test_two_layer_bidirectional_trains_with_fit():
    """Tiny real task: does the sequence contain more 1s than 2s (needs both directions)."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 4, size=(256, 12)).astype("int32")
    labels = ((tokens == 1).sum(1) > (tokens == 2).sum(1)).astype("int32")
    inputs = keras.Input((None,), dtype="int32")
    h = rk.OneHot(4, mask_zero=True)(inputs)
    h = rk.DeepBidirectional(16, num_layers=2, return_sequences=False)(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(tokens, labels, epochs=6, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.8
