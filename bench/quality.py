"""Our default LM against PyTorch `nn.RNN` recipes: same text, same minutes, same validation.

    python -m bench.quality                     # 5 minutes each: ours, then every PyTorch recipe
    python -m bench.quality --minutes 1 --only ours,torch_2x256

One after the other on this machine: `python train.py`'s default run (its folder under
`--out`), then each PyTorch recipe (`bench.torch_lm`), each given at least the
wall-clock seconds our run's training loop took (evaluations and samples included:
the comparison leans towards PyTorch). All are scored by one function on exactly the
same validation characters (the held-out tail of the text, cut into the same 64
streams read 100 characters at a time, the state carried from batch to batch): loss
in nats per character. PyTorch is optional (`pip install torch`), as in `bench`.
"""

import json
import pathlib

import numpy as np
from scipy.special import log_softmax

from bench import cli, isa
from rnn_keras_common.cli import check_out_folder, seed_type
from rnn_keras_common.cli import parser as cli_parser

RECIPES = {"torch_1x512": (512, 1), "torch_2x256": (256, 2), "torch_3x256": (256, 3)}
TORCH_LR = 3e-3


def evaluate(step, val):
    """Mean cross-entropy (nats/char) over every validation batch, the state carried along."""
    total = count = 0.0
    states = None
    for x, y in val.all_batches():
        logits, states = step(x, states)
        logp = log_softmax(np.asarray(logits, np.float64), axis=-1)  # (batch, time, vocab)
        total -= np.take_along_axis(logp, y[..., None], axis=-1).sum()
        count += y.size
    return total / count


def keras_stepper(model):
    """`step(x, states)` of our `char_lm` (tokens and one state per layer in and out)."""
    sizes = [int(t.shape[-1]) for t in model.inputs[1:]]

    def step(x, states):
        if states is None:
            states = [np.zeros((x.shape[0], u), np.float32) for u in sizes]
        logits, *states = model([x, *states], training=False)
        return logits.numpy(), [s.numpy() for s in states]

    return step


def ours(cfg, out):
    """`python train.py`'s default run for `cfg.minutes`: its row and the task it used."""
    from rnn_keras.train import training

    trainer, result = training.train_and_evaluate(cfg, out, overwrite=True)
    row = {
        "steps": trainer.step,
        "seconds": result["train_seconds"],
        "reported_val_loss": result.get("val_loss"),
        "val_loss": evaluate(keras_stepper(trainer.model), trainer.task.val),
    }
    return row, trainer.task


def pytorch(name, task, seconds, seed):
    from bench import torch_lm

    units, layers = RECIPES[name]
    model = torch_lm.make(len(task.vocab), units, layers, seed)
    steps, took = torch_lm.train(model, _fresh(task.train), seconds, TORCH_LR)
    model.eval()
    val_loss = evaluate(torch_lm.stepper(model), task.val)
    return {"steps": steps, "seconds": took, "val_loss": val_loss}


def _fresh(streams):
    """The same training streams from their first batch (ours has read them already)."""
    import copy

    fresh = copy.copy(streams)
    fresh.position = 0
    return fresh


def main(argv=None):
    p = cli_parser("python -m bench.quality", __doc__)
    p.add_argument("--minutes", type=float, default=5.0, help="training budget of each model")
    names = ["ours", *RECIPES]
    p.add_argument("--only", help="comma-separated models: " + ",".join(names))
    p.add_argument("--out", default="runs/quality", help="folder of our run and results.json")
    p.add_argument("--seed", type=seed_type, default=0)
    p.add_argument("--isa", choices=["avx2"], help="cap the libraries' kernels (bench.isa)")
    p.add_argument(
        "--embedding", type=int, help="ours with this embedding size (0: one-hot; default: ours')"
    )
    args = p.parse_args(argv)
    if args.isa:
        isa.restart_capped(args.isa, "bench.quality", argv)
    from rnn_keras_common.config import TrainConfig

    check_out_folder(args.out)  # for our run and results.json, before the minutes of training
    chosen = args.only.split(",") if args.only else names
    if unknown := [n for n in chosen if n not in names]:
        p.error(f"--only: unknown models {unknown}; choose from {','.join(names)}")
    if args.embedding is not None and "ours" not in chosen:
        p.error("--embedding sets our model, which --only leaves out; add ours or drop it")
    cfg = TrainConfig(
        minutes=args.minutes, seed=args.seed, progress=False, embedding=args.embedding
    ).resolved()
    out = pathlib.Path(args.out)
    cpu = f"{isa.model()}, {isa.describe()}"  # results.json keeps it beside the rows
    print(
        f"CPU: {cpu}; {isa.onednn()}; budget {args.minutes:g} minutes per model; ours: "
        f"embedding {cfg.embedding or 'none (one-hot)'}",
        flush=True,
    )
    rows = {}
    if "ours" in chosen:
        rows["ours"], task = ours(cfg, out / "ours")
    else:
        from rnn_keras.tasks import make_task

        task = make_task(cfg)
    # each recipe gets our run's wall seconds (evaluations included), at least the budget
    seconds = max(rows.get("ours", {}).get("seconds", 0), args.minutes * 60)
    for name in (n for n in chosen if n in RECIPES):
        rows[name] = pytorch(name, task, seconds, args.seed)
        print(f"{name}: {rows[name]}", flush=True)
    print(table(rows, task))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=1))
    return 0


def table(rows, task):
    val, per_step = task.val, task.train.batch_size * task.train.seq_len
    chars = val.batch_size * val.seq_len * val.batches_per_pass
    lines = [
        f"validation: {chars:,} characters, {val.batch_size} streams x {val.seq_len}, "
        "state carried",
        "| model | steps | seconds | chars/s | val nats/char | vs ours |",
        "|---|---|---|---|---|---|",
    ]
    base = rows.get("ours", {}).get("val_loss")
    for name, r in rows.items():
        speed = r["steps"] * per_step / r["seconds"]
        diff = f"{r['val_loss'] - base:+.3f}" if base is not None else ""
        lines.append(
            f"| {name} | {r['steps']:,} | {r['seconds']:.0f} | {speed:,.0f} | "
            f"{r['val_loss']:.3f} | {diff} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(cli(main))
