"""PyTorch `nn.RNN` character LMs for `bench.quality`: the recipe a PyTorch user would write.

Embedding 64 -> `nn.RNN` (tanh, `layers` x `units`) -> Linear; Adam with cosine decay
to 0 over the budget, batch 64 streams, truncated BPTT 100, gradient clipping 1.0:
the recipe the issue measured PyTorch with.
"""

import math
import time

import numpy as np

EMBEDDING, CLIP = 64, 1.0


def make(vocab_size, units, layers, seed=0):
    import torch

    torch.manual_seed(seed)

    class CharRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, EMBEDDING)
            self.rnn = torch.nn.RNN(EMBEDDING, units, layers, nonlinearity="tanh", batch_first=True)
            self.head = torch.nn.Linear(units, vocab_size)

        def forward(self, x, h):
            s, h = self.rnn(self.embed(x), h)  # (batch, time, units)
            return self.head(s), h

    model = CharRNN()
    model.zero_state = lambda batch: torch.zeros(layers, batch, units)
    return model


def train(model, streams, seconds, lr):
    """Train on `streams` (an `LMStreams`) for `seconds` of wall clock; `(steps, seconds)`.

    The cosine runs over the clock (`lr` at the start, 0 at `seconds`), so the budget is
    met exactly whatever the machine's speed does meanwhile.
    """
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    h, steps, t0 = None, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        x, y, _, new_pass = streams.next_batch()
        if new_pass or h is None:
            h = model.zero_state(x.shape[0])
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * elapsed / seconds))
        logits, h = model(torch.from_numpy(x).long(), h)
        h = h.detach()  # truncated BPTT: the state carries, the gradient stops
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).long().reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        steps += 1
    return steps, time.perf_counter() - t0


def stepper(model):
    """`step(x, states) -> (logits, states)` in NumPy, for `bench.quality.evaluate`."""
    import torch

    def step(x, states):
        with torch.no_grad():
            h = model.zero_state(x.shape[0]) if states is None else states
            logits, h = model(torch.from_numpy(np.asarray(x)).long(), h)
        return logits.numpy(), h

    return step
