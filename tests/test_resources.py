"""`rnn_keras.train.resources`: the weight count it bounds memory with is the model's own."""

import pytest

from rnn_keras.tasks.lm import char_lm
from rnn_keras.train import resources
from rnn_keras_common.config import TrainConfig


@pytest.mark.parametrize("embedding", [0, 5])
def test_lm_parameters_equal_the_keras_models_count(embedding):
    cfg = TrainConfig(task="lm", units=6, layers=2, embedding=embedding, steps=1).resolved()
    model = char_lm(11, cfg.units, cfg.layers, embedding=cfg.embedding)
    assert resources.parameters(cfg, 11, 11) == model.count_params()
