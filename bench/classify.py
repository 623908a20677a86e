"""Which play is this passage from: the RNNs against majority and n-gram baselines.

    python -m bench.classify                     # 2,000 steps (about 8 epochs) per RNN
    python -m bench.classify --steps 500 --only bi_max,bi_max_chars

All models see the same split (`rnn_keras.tasks.classify`: 6-line passages of
the 38 plays, whole blocks of 20 passages held out inside every play) and are
scored on the same held-out passages: accuracy and macro-F1. Baselines are
scikit-learn pipelines: the most frequent play, and TF-IDF n-grams (characters
1-4 within word boundaries; words 1-2) with logistic regression. Each RNN is a
real `train.py` run (its folder under `--out`, with `classes.csv` and
`confusion.png`); the table names the best one's folder.
"""

import dataclasses
import json
import pathlib
import time

from bench import cli, isa
from rnn_keras_common.cli import check_out_folder, positive_int, seed_type
from rnn_keras_common.cli import parser as cli_parser

RNNS = {  # name: TrainConfig fields on top of the classify defaults (the last: --only)
    "uni_max": dict(bidirectional=False, pool="max"),
    "bi_last": dict(pool="last"),
    "bi_mean": dict(pool="mean"),
    "bi_max": dict(pool="max"),
    "deep_bi_max": dict(layers=2, pool="max"),
    "deep_bi_mean": dict(layers=2, pool="mean"),
    "deep_bi_max_mean": dict(layers=2, pool="max_mean"),
    "bi_max_mean": dict(pool="max_mean"),
    "bi_max_chars": dict(pool="max", unit="char"),
}


def baselines(train, val):
    """`{name: (accuracy, macro_f1, seconds)}` of the scikit-learn baselines."""
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x, y = [p for p, _ in train], [label for _, label in train]
    models = {
        "majority": DummyClassifier(strategy="most_frequent"),
        "char 1-4-gram LR": make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
            LogisticRegression(max_iter=2000, C=10.0),
        ),
        "word 1-2-gram LR": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10.0),
        ),
    }
    return {name: _score(model, x, y, val) for name, model in models.items()}


def _score(model, x, y, val):
    from sklearn.metrics import accuracy_score, f1_score

    t0 = time.perf_counter()
    model.fit(x, y)
    predicted = model.predict([p for p, _ in val])
    truth = [label for _, label in val]
    return (
        accuracy_score(truth, predicted),
        f1_score(truth, predicted, average="macro"),
        time.perf_counter() - t0,
    )


def train_rnn(name, steps, out, seed):
    """One classify run of `steps` updates; `(accuracy, macro_f1, seconds)` of its final model.

    A step count, not a time budget: every RNN gets the same number of updates
    whatever else the machine is doing.
    """
    from rnn_keras.train import report, training
    from rnn_keras_common.config import TrainConfig

    cfg = TrainConfig(task="classify", steps=steps, seed=seed, progress=False, **RNNS[name])
    cfg = cfg.resolved()
    cfg = dataclasses.replace(cfg, eval_every=10**9)  # evaluate once, at the end
    t0 = time.perf_counter()
    trainer, result = training.train_and_evaluate(cfg, out / name, overwrite=True)
    report.per_class(trainer.task, trainer.last_totals["confusion"], out / name)
    return result["val_accuracy"], result["val_macro_f1"], time.perf_counter() - t0


def main(argv=None):
    p = cli_parser("python -m bench.classify", __doc__)
    p.add_argument("--steps", type=positive_int, default=2000, help="training steps per RNN")
    p.add_argument("--only", help="comma-separated RNNs to train: " + ",".join(RNNS))
    p.add_argument("--out", default="runs/classify-compare", help="folder for the RNN runs")
    p.add_argument("--seed", type=seed_type, default=0)
    args = p.parse_args(argv)
    check_out_folder(args.out)  # before the baselines and RNNs take their minutes
    from rnn_keras.tasks.classify import play_data

    train, val, labels = play_data()
    print(
        f"{len(train)} training / {len(val)} validation passages, {len(labels)} plays, "
        f"{isa.describe()}, {args.steps} steps per RNN"
    )
    rows = baselines(train, val)
    out = pathlib.Path(args.out)
    for name in args.only.split(",") if args.only else list(RNNS)[:-1]:
        rows[name] = train_rnn(name, args.steps, out, args.seed)
        print(f"{name:18s} accuracy {rows[name][0]:.3f}  macro-F1 {rows[name][1]:.3f}", flush=True)
    print("\n| model | accuracy | macro-F1 | seconds |\n|---|---|---|---|")
    for name, (acc, f1, secs) in rows.items():
        print(f"| {name} | {acc:.3f} | {f1:.3f} | {secs:.0f} |")
    rnns = [n for n in rows if n in RNNS]
    if rnns:
        best = max(rnns, key=lambda n: rows[n][0])
        print(f"\nBest RNN: {best}; confusion matrix in {out / best / 'confusion.png'}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli(main))
