"""The PyTorch recipe the translation task is measured against, on the same split.

    python -m bench.torch_g2p [--minutes 12]     # trains, then greedy WER/PER on val and test

Embedding 64 (letters and phonemes) -> `nn.RNN` 2x256 bidirectional encoder (packed, so
padding plays no part) -> `s_0 = tanh(Linear([forward last; backward first]))` -> an
`nn.RNNCell` decoder of 512 with additive attention (`v^T tanh(W_a s_{t-1} + U_a h_j)`,
context fed with the previous token, output from `[s_t; c_t]`); teacher forcing, Adam
2e-3 with a 100-step warm-up and cosine decay over the clock, batch 64, clipping 1.0:
what the issue measured PyTorch with. PyTorch is optional (`pip install torch`).
"""

import argparse
import math
import time

import numpy as np

from bench import cli
from rnn_keras_common.cli import seed_type

EMBEDDING, CLIP, BATCH, LR, END = 64, 1.0, 64, 2e-3, 1


def make(source_vocab, target_vocab, units=256, seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    decoder_units = 2 * units

    class G2P(nn.Module):
        def __init__(self):
            super().__init__()
            self.source = nn.Embedding(source_vocab, EMBEDDING, padding_idx=0)
            self.encoder = nn.RNN(EMBEDDING, units, 2, bidirectional=True, batch_first=True)
            self.bridge = nn.Linear(2 * units, decoder_units)
            self.target = nn.Embedding(target_vocab, EMBEDDING)
            self.cell = nn.RNNCell(EMBEDDING + 2 * units, decoder_units)
            self.W_a = nn.Linear(decoder_units, units, bias=False)
            self.U_a = nn.Linear(2 * units, units)
            self.v = nn.Linear(units, 1, bias=False)
            self.head = nn.Linear(decoder_units + 2 * units, target_vocab)

        def encode(self, source):
            """`(memory, keys, mask, s0)` for padded `source` ids `(batch, S)`."""
            lengths = (source != 0).sum(1)
            packed = nn.utils.rnn.pack_padded_sequence(
                self.source(source), lengths, batch_first=True, enforce_sorted=False
            )
            out, last = self.encoder(packed)
            memory = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=source.shape[1]
            )[0]
            s0 = torch.tanh(self.bridge(torch.cat([last[-2], last[-1]], -1)))
            return memory, self.U_a(memory), source != 0, s0

        def step(self, tokens, s, memory, keys, mask):
            scores = self.v(torch.tanh(self.W_a(s)[:, None] + keys))[..., 0]
            alpha = torch.softmax(scores.masked_fill(~mask, -1e9), -1)
            context = (alpha[..., None] * memory).sum(1)
            s = self.cell(torch.cat([self.target(tokens), context], -1), s)
            return self.head(torch.cat([s, context], -1)), s

        def forward(self, source, target_in):
            memory, keys, mask, s = self.encode(source)
            logits = []
            for t in range(target_in.shape[1]):
                out, s = self.step(target_in[:, t], s, memory, keys, mask)
                logits.append(out)
            return torch.stack(logits, 1)  # (batch, T, vocab)

    return G2P()


def _padded(rows):
    import torch

    out = np.zeros((len(rows), max(map(len, rows))), np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return torch.from_numpy(out)


def train(model, examples, seconds, seed=0):
    """Teacher forcing on `(source, target_in, target_out)` examples for `seconds`; steps."""
    import torch

    opt, rng = torch.optim.Adam(model.parameters(), lr=LR), np.random.default_rng(seed)
    steps, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        batch = [examples[i] for i in rng.choice(len(examples), BATCH, replace=False)]
        source, target_in, target_out = (_padded([e[k] for e in batch]) for k in range(3))
        warm = min((steps + 1) / 100, 1.0)
        for group in opt.param_groups:
            group["lr"] = warm * LR * 0.5 * (1.0 + math.cos(math.pi * elapsed / seconds))
        logits = model(source, target_in)
        loss = torch.nn.functional.cross_entropy(  # the mean over real phonemes
            logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1), ignore_index=0
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        steps += 1
    return steps


def greedy(model, sources, max_len=64, batch=256):
    """The most likely token at every step until the end token: id lists, in order."""
    import torch

    found = []
    with torch.no_grad():
        for i in range(0, len(sources), batch):
            memory, keys, mask, s = model.encode(_padded(sources[i : i + batch]))
            tokens, rows = torch.full((len(memory),), END), []
            done = torch.zeros(len(memory), dtype=torch.bool)
            for _ in range(max_len):
                logits, s = model.step(tokens, s, memory, keys, mask)
                tokens = logits.argmax(-1)
                rows.append(tokens)
                done |= tokens == END
                if done.all():
                    break
            for row in torch.stack(rows, 1).tolist():
                found.append(row[: row.index(END)] if END in row else row)
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=12.0)
    p.add_argument("--seed", type=seed_type, default=0)
    args = p.parse_args(argv)
    if not args.minutes > 0:
        p.error(f"--minutes must be positive, got {args.minutes:g}")
    from rnn_keras.tasks import translate
    from rnn_keras_common.config import TrainConfig

    task = translate.Task(TrainConfig(task="translate").resolved())
    model = make(len(task.vocab), len(task.targets), seed=args.seed)
    t0 = time.perf_counter()
    steps = train(model, task.train.examples, args.minutes * 60, args.seed)
    print(f"PyTorch G2P: {steps} steps in {time.perf_counter() - t0:.0f} s")
    for split in ("val", "test"):
        refs = task.references[split]
        found = greedy(model, [ids for ids, _, _ in refs])
        wer, per = translate.error_rates(
            [task.targets.decode_tokens(f) for f in found], [o for _, o, _ in refs]
        )
        print(f"  {split} ({len(refs)} words), greedy: WER {wer:.4f}, PER {per:.4f}")


if __name__ == "__main__":
    raise SystemExit(cli(main))
