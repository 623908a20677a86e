"""`TrainConfig`: every setting of a training run, in one place."""

import dataclasses
import json

from rnn_keras_common.fields import (  # noqa: F401  (config.RANGES, config.ConfigError, ...)
    ACTIVATIONS,
    CHOICES,
    RANGES,
    TASKS,
    ConfigError,
    allowed,
    check_field,
    flag,
)

# Defaults of the fields left as None that a task's own defaults (below) may change.
# `eval_batches`: an evaluation reads at most this many validation batches, spread over
# them, so a large text or file of yours does not spend the time budget evaluating (a 60 MB
# text's 6.2M held-out characters took 23 s an evaluation, ten times in 5 minutes); every
# bundled default reads all of its validation (lm 74 batches, tag 162, translate 105).
COMMON_DEFAULTS = dict(label_smoothing=0.0, eval_batches=200)

# Per-task defaults for the fields left as None. The `lm` defaults reach a validation loss
# below PyTorch's recipes in the same 5 minutes on 2 cores, AVX-512 or AVX2 (README: "The main
# job against PyTorch"), under 1.50 nats/char on AVX-512 machines; a 2-core AVX2-only Zen 3
# EPYC had time for about 1,450 steps and reached 1.514-1.515.
TASK_DEFAULTS = {
    "lm": dict(
        units=256,
        layers=3,
        bidirectional=False,
        batch_size=64,
        seq_len=100,
        # no lr: its peak follows the planned steps (`lm_peak_lr`), known once a timed run
        # has timed its first steps
        minutes=5.0,
        unit="char",
        recurrent_gain=0.5,  # 1,000 steps: validation 1.609 nats/char against 1.628 at gain 1
        # characters embedded in front of U: 2 minutes 1.508 nats/char against 1.532 one-hot
        # at 64 dims, same speed; 128 dims at 1,466 steps (a slow AVX2 machine's 5 minutes)
        # 0.009 lower than 64 over four seeds, for 2.5-4% more time a step (README, "The main
        # job against PyTorch")
        embedding=128,
        eval_batches=100,  # 640,000 characters, in 64 streams over the held-out text
    ),
    "tag": dict(
        units=128,
        layers=2,
        bidirectional=True,
        batch_size=64,
        seq_len=64,
        lr=3e-3,
        minutes=2.0,
        unit="char",
        recurrent_gain=1.0,
    ),
    "classify": dict(
        units=128,
        layers=1,
        bidirectional=True,
        batch_size=64,
        seq_len=6,
        lr=3e-3,
        # a step count, as python -m bench.classify's: 2,000 steps (about 8 epochs of the plays,
        # 45 s on 2 cores since U's rows are gathered) reach validation accuracy 0.46-0.47,
        # where it levels off while the training loss falls towards 0 (README, "Classification")
        steps=2000,
        unit="word",
        # W orthogonal at gain 1 amplifies a slowly varying input without bound, (I - W)^-1:
        # a deep classifier's top layer then saturates at the start and never learns (README)
        recurrent_gain=0.5,
        # the classifier grows over-confident as it overfits: four seeds, validation accuracy
        # 0.455-0.468 (mean 0.462) against 0.432-0.452 (0.445) without; 0.2: 0.463
        label_smoothing=0.1,
    ),
    # an RNNsearch-shaped G2P model: 2x256 bidirectional encoder, 512-unit decoder
    "translate": dict(
        units=256,
        layers=2,
        bidirectional=True,
        batch_size=64,
        seq_len=40,
        lr=2e-3,
        # the "at most ~15 minutes": test beam WER / PER 29.2% / 6.94% in 17,312
        # steps here; 11,000 steps (a machine at 0.63x this speed) 29.1% / 6.81%
        minutes=15.0,
        unit="char",
        recurrent_gain=0.5,  # 3,000 steps: validation WER 36.3% against 38.0% at gain 1
        # letters and phonemes embedded in 64 dims in front of U, as PyTorch's recipe does:
        # training loss 0.38 after 1,000 steps against 0.50 one-hot (README, "Translation")
        embedding=64,
        # 16,000 steps, same seed: test beam WER / PER 29.3% / 6.86% against 30.6% / 7.28%
        # without (0.2: 29.6% / 7.03%); the 15-minute model overfits (README, "Translation")
        label_smoothing=0.1,
    ),
    # a 3-layer CNN (16/32/64 filters) into a 256-unit tanh decoder attending to its 8x8 grid
    "caption": dict(
        units=256,
        layers=1,
        bidirectional=False,
        batch_size=64,
        seq_len=16,
        lr=2e-3,
        minutes=8.0,
    ),
}


# The lm's peak learning rate by the steps its run has: 3e-3 for long runs, raised for runs so
# short that only a slower machine's 5 minutes give them. Measured (3x256, B=64, README "The
# main job against PyTorch"): at 1,700 steps 5e-3 gave 1.500 and 1.505 nats/char against 1.516
# and 1.511 for 3e-3 (seeds 0, 1), 7e-3 1.507; at 2,300 steps 3.8e-3 gave 1.493 against 1.495;
# from 2,900 steps 3e-3 is as good or better (5e-3: 1.487 against 1.485 at 2,900, 1.478
# against 1.474 at 4,648). Other shapes at 1,000 steps: 1x512 1.566 against 1.595, 2x128
# one-hot 1.744 against 1.810. Only with Adam and the cosine: at a constant rate
# (`--lr-decay none`) 5e-3 was worse (1,700 steps: 1.621 against 1.581).
LM_LR, LM_LR_SHORT, LM_LONG_RUN = 3e-3, 5e-3, 2900


def lm_peak_lr(cfg, steps):
    """The lm's peak lr when none is given: 3e-3 from 2,900 steps up (or with the steps not
    known yet), 5e-3 up to 1,740, 3e-3 x 2,900 / steps between; 3e-3 unless Adam + cosine."""
    if steps is None or cfg.optimizer != "adam" or cfg.lr_decay != "cosine":
        return LM_LR
    return min(LM_LR_SHORT, max(LM_LR, LM_LR * LM_LONG_RUN / steps))


# What a classifier reads of a passage by default (a run's `max_tokens` says otherwise):
# 6 lines of verse hold about 50 words, 250 characters
MAX_WORDS, MAX_CHARS = 96, 384


def passage_tokens(unit, config=None):
    """How many tokens of a passage a classifier reads: its config's `max_tokens`, else by
    its unit (also what files and runs written before `max_tokens` existed read)."""
    return (config or {}).get("max_tokens") or (MAX_WORDS if unit == "word" else MAX_CHARS)


def tagger_window(config):
    """Characters a segmenting tagger reads at once: the lines it trained on were cut to
    `--seq-len` (64 in a file whose config is missing)."""
    return (config or {}).get("seq_len") or 64


@dataclasses.dataclass
class TrainConfig:
    task: str = "lm"  # lm (next character), tag, classify, translate or caption
    text: str | None = None  # UTF-8 text file for lm/tag; None = the bundled plays
    data: str | None = None  # yours: classify TSV/CSV/JSONL, tag CoNLL(-U), translate TSV, images
    val_data: str | None = None  # lm, tag, or with --data: validate on this file (folder)
    text_column: str | None = None  # classify --data: its text column (default text or sentence)
    label_column: str | None = None  # classify --data: its label column (default label)
    classify_by: str = "play"  # classify on the plays: which play (38 labels) or category (6)
    pool: str = "max_mean"  # classify: the last, mean or max state over real steps, or max+mean
    unit: str | None = None  # classify: read characters or words (lowercased; default word)
    min_count: int = 1  # word/token vocabularies: rarer tokens share the unknown-token id
    max_vocab: int = 8000  # word vocabularies (classify, translate): keep the most frequent N
    max_tokens: int | None = None  # classify: a passage's first tokens read (96 words, 384 chars)
    attention: bool = True  # translate/caption: the decoder attends to the encoder's states
    beam: int = 5  # translate/caption: beam width of the final test evaluation (1 = greedy)
    max_output: int = 64  # translate/caption: most output tokens decoded per input
    stress: bool = False  # translate on CMUdict: keep the phonemes' stress digits
    target_units: str = "words"  # translate --data: targets as whitespace tokens or characters
    units: int | None = None  # size of each hidden state s_t (task default if None)
    layers: int | None = None  # number of stacked recurrent layers
    bidirectional: bool | None = None  # tag/classify/translate: forward + backward recurrences
    activation: str = "tanh"  # f in s_t = f(U x_t + W s_{t-1} + b)
    recurrent_gain: float | None = None  # every W starts orthogonal times this (not caption)
    embedding: int | None = None  # lm/translate: tokens embedded in this many dims (0 = one-hot)
    dropout: float = 0.0  # between stacked layers; classify: pooled features; seq2seq: decoder
    optimizer: str = "adam"  # adam, or sgd (the article's; see momentum/nesterov)
    lr: float | None = None  # peak learning rate (lm: 3e-3; Adam+cosine: up to 5e-3 if few steps)
    momentum: float = 0.0  # sgd momentum (0 = plain SGD)
    nesterov: bool = False  # sgd: Nesterov momentum
    lr_decay: str = "cosine"  # cosine: decay to 2% of lr over the run; none: constant
    warmup_steps: int = 100  # raise the lr linearly from 0 over this many steps (0 = off)
    clip_norm: float = 1.0  # clip gradients to this global norm (mitigates exploding gradients)
    label_smoothing: float | None = None  # training loss: this share of the target spread evenly
    batch_size: int | None = None  # lm: parallel streams; others: examples per batch
    seq_len: int | None = None  # lm: TBPTT length; tag: max chars a line; classify: lines a passage
    steps: int | None = None  # optimiser steps; None = as many as fit in `minutes`
    minutes: float | None = None  # training time budget when `steps` is None
    val_fraction: float = 0.1  # held out for validation (translate/caption: as much again for test)
    eval_every: int = 500  # evaluate on the validation set every N steps (and at the end)
    eval_batches: int | None = None  # cap on val batches per evaluation (0 = all; lm 100, else 200)
    checkpoint_every: int = 200  # write a checkpoint every N steps (and at the end)
    sample_every: int = 500  # lm: print a generated sample every N steps (0 = never)
    sample_length: int = 300  # lm: characters per printed sample
    temperature: float = 0.8  # lm: sampling temperature of printed samples
    seed: int = 0  # seeds weights, data order and sampling: same seed, same run
    jit_compile: bool | None = None  # XLA for the training step (None: a timed run times
    # both ways in its first steps and keeps the faster; a --steps run: XLA)
    skip_nonfinite: bool = False  # skip a step with a non-finite loss/gradient instead of stopping
    progress: bool = True  # show a live progress bar
    strategy: str = (
        "default"  # default (one device), mirrored (this machine), multi-worker (TF_CONFIG)
    )
    replicas: int = 2  # mirrored without a GPU: split the CPU into this many logical devices
    worker_timeout: float = 120.0  # multi-worker: seconds to wait for the cluster before giving up

    def resolved(self):
        """A copy with task defaults filled in, validated."""
        if self.task not in TASKS:
            raise ConfigError(f"Unknown task {self.task!r}; choose one of {', '.join(TASKS)}.")
        defaults = {**COMMON_DEFAULTS, **TASK_DEFAULTS[self.task]}
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        if self.steps is not None:
            filled.pop("minutes", None)
        if self.minutes is not None:  # a budget given for a task whose default is a step count
            filled.pop("steps", None)
        cfg = dataclasses.replace(self, **filled)
        if cfg.task == "classify" and cfg.max_tokens is None:  # its default follows the unit
            cfg = dataclasses.replace(cfg, max_tokens=passage_tokens(cfg.unit))
        cfg.validate()
        if cfg.task == "lm" and cfg.lr is None and cfg.steps is not None:
            cfg = dataclasses.replace(cfg, lr=lm_peak_lr(cfg, cfg.steps))  # timed: once planned
        return cfg

    def validate(self):
        """Every field: type, finiteness, range, allowed values, and combinations."""
        for field in dataclasses.fields(self):
            check_field(field, getattr(self, field.name))
        if self.steps is None and self.minutes is None:
            raise ConfigError("Give a positive --steps or --minutes.")
        if self.task == "lm" and self.bidirectional:
            raise ConfigError(
                "A language model cannot be bidirectional: the backward "
                "direction would see the character it must predict. "
                "Use --bidirectional with --task tag or classify."
            )
        if self.recurrent_gain is not None and self.task == "caption":
            raise ConfigError(
                "--recurrent-gain is for --task lm, tag, classify or translate; caption keeps "
                "its measured initialisation. Leave the flag out."
            )
        if self.embedding and self.task not in ("lm", "translate"):
            raise ConfigError(
                "--embedding is for --task lm or translate; the other tasks feed one-hot "
                "tokens to U, the article's notation. Leave the flag out."
            )
        if self.strategy == "mirrored" and self.batch_size % self.replicas:
            raise ConfigError(f"--batch-size {self.batch_size} must be divisible by --replicas.")
        self._check_inputs()

    def _check_inputs(self):
        """--text, --data and --unit against what the task reads."""
        if self.task == "translate" and self.text is not None:
            raise ConfigError(
                "--task translate reads pairs: pass --data FILE (source<TAB>target per line) "
                "instead of --text, or neither for CMUdict's spelling -> pronunciation."
            )
        if self.task == "caption" and (self.text is not None or self.bidirectional):
            raise ConfigError(
                "--task caption reads images: pass --data FOLDER (images and captions.tsv) "
                "or neither for the generated scenes; it takes no --text or --bidirectional."
            )
        if self.task == "classify" and self.text is not None:
            raise ConfigError(
                "--task classify reads labelled examples: pass --data FILE (TSV, CSV or JSON "
                "Lines with text and label) instead of --text, or neither for the bundled plays."
            )
        if self.unit == "word" and self.task not in ("classify", "translate"):
            raise ConfigError(
                "--unit word is for --task classify or translate; lm and tag read characters "
                "(tag --data reads the CoNLL file's own tokens)."
            )
        self._check_columns()
        if self.data is not None and self.task == "lm":
            raise ConfigError("--data is for the other tasks; the lm reads --text (a text file).")
        if self.data is not None and self.text is not None:
            raise ConfigError("Give --data (labelled examples) or --text, not both.")

    def _check_columns(self):
        """--text-column and --label-column: names of a classify --data file's columns (where
        a run would not read them, `readers` refuses them)."""
        given = [name for name in (self.text_column, self.label_column) if name is not None]
        if any(not name.strip() for name in given):
            raise ConfigError("--text-column and --label-column need a column name, not ''.")
        text, label = (self.text_column or "text"), (self.label_column or "label")
        if text.strip().lower() == label.strip().lower():
            raise ConfigError(
                f"--text-column and --label-column both name {text!r}; the text and the label "
                "are two different columns."
            )

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data):
        """The config of `to_json`'s fields, parsed; unknown fields refused."""
        if not isinstance(data, dict):
            raise TypeError(f"a config is a JSON object, not {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"Unknown config fields {sorted(unknown)}: not a run of this version."
            )
        return cls(**data)
