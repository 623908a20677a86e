"""The PyTorch translation recipe (`bench.torch_g2p`): padding plays no part, and it learns."""

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    not importlib.util.find_spec("torch"), reason="PyTorch is optional (pip install torch)"
)


def test_padding_plays_no_part_in_the_encoder():
    import torch

    from bench import torch_g2p

    model = torch_g2p.make(6, 5, units=4)
    with torch.no_grad():
        memory, _, mask, s0 = model.encode(torch.tensor([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]]))
        alone, _, _, s0_alone = model.encode(torch.tensor([[4, 5]]))
    np.testing.assert_allclose(memory[1, :2], alone[0], atol=1e-6)
    np.testing.assert_allclose(s0[1], s0_alone[0], atol=1e-6)
    assert mask.tolist()[1] == [True, True, False, False, False]


def test_the_recipe_learns_to_reverse_pairs_of_letters():
    from bench import torch_g2p

    # letters 2..5 -> phonemes 2..5 reversed; every pair is a training example
    pairs = [([a, b], [b, a]) for a in range(2, 6) for b in range(2, 6)]
    examples = [(s, [torch_g2p.END, *t], [*t, torch_g2p.END]) for s, t in pairs] * 8
    model = torch_g2p.make(6, 6, units=16)
    assert torch_g2p.train(model, examples, seconds=20) > 100
    assert torch_g2p.greedy(model, [s for s, _ in pairs]) == [t for _, t in pairs]
