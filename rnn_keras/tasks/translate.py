"""`translate`: an encoder-decoder of our tanh RNNs (Bahdanau et al.'s RNNsearch shape).

Default data: English spelling -> ARPAbet pronunciation from CMUdict (`data.pairs`),
split by word; `--data FILE`: the user's `source<TAB>target` pairs, split by source
(`md5`, so the same on every machine; `--val-fraction` to validation and as much to
test). A prediction is right if it equals any reference of its source.

Validation (every `--eval-every` steps): teacher-forced loss per target token, and
PER / WER of greedy decoding (and corpus BLEU, sacrebleu's, for a user's sentences).
At the end, the test split with `--beam` (and greedy beside it) goes to
`RUN_DIR/test.json`, with a few examples printed.
"""

import collections
import dataclasses
import functools
import json

import keras
import numpy as np

from rnn_keras.data import DataError, hashed_split, pairs, read_utf8
from rnn_keras.tasks import seq2seq
from rnn_keras.tasks.base import (
    ShuffledBatches,
    encoder,
    encoder_args,
    in_batches,
    token_inputs,
    units_list,
    vocabulary_line,
    word_vocabulary,
)
from rnn_keras_common import labelled, scripts
from rnn_keras_common.scores import corpus_bleu, error_rates
from rnn_keras_common.vocab import (
    UNKNOWN,
    TargetVocab,
    TokenVocab,
    Vocab,
    VocabularyError,
    pad,
    target_joiner,
)

DECODE_BATCH = 256  # sources decoded together (one decoder call per step for all of them)


def translator(source_vocab, target_vocab, units=256, num_layers=2, bidirectional=True,
               attention=True, activation="tanh", dropout=0.0, recurrent_gain=None,
               embedding=0):  # fmt: skip
    """`[source (batch, S), target_in (batch, T)]` -> logits `(batch, T, target_vocab)`.

    Encoder: one-hot (or, `embedding` > 0, embedded) source -> our (deep) bidirectional
    RNN -> memory `h_j`; decoder: our tanh RNN of `2 * units` (`units` if unidirectional)
    from `s_0 = tanh(bridge(...))`, its previous token one-hot or embedded alike.
    """
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    sizes = units_list(units, num_layers)
    h = token_inputs(source_vocab, embedding, mask_zero=True)(source)
    # (batch, S, 2u)
    memory = encoder(h, sizes, bidirectional, True, activation, dropout, recurrent_gain)
    backward = sizes[-1] if bidirectional else 0
    summary = seq2seq.summary_of(memory, backward)
    decoder_units = sizes[-1] * (2 if bidirectional else 1)
    logits = seq2seq.attentive_decoder(
        memory,
        summary,
        target_in,
        target_vocab,
        decoder_units,
        sizes[-1] if attention else 0,
        activation,
        recurrent_gain,
        embedding,
        dropout,
    )
    return keras.Model([source, target_in], logits, name="translator")


class Task:
    """Spelling -> pronunciation on CMUdict, or the user's pairs (`--data`)."""

    name, stateful, confusion = "translate", False, False

    def __init__(self, cfg, text=None):
        self.cfg = cfg
        splits = self._user_pairs(cfg) if cfg.data else self._cmudict(cfg)
        self.references = {}  # split -> [(source ids, [reference token tuples], source)]
        self.skipped = 0
        # BLEU, the translation measure, for a user's sentences (character targets on their
        # joined text); pronunciations are scored by WER/PER only (BLEU's 4-grams mean
        # little over phoneme strings)
        self.bleu = bool(cfg.data)
        # a shown target: tokens between spaces, a character target's characters as written
        self.joiner = target_joiner(dataclasses.asdict(cfg))
        for split in ("val", "test"):
            self.references[split] = self._encodable(splits[split])
        examples = [
            seq2seq.teacher_forcing(self.source_ids(s), self.targets.encode(t))
            for s, options in splits["train"].items()
            for t in options
        ]
        self.val = [
            seq2seq.teacher_forcing(ids, self.targets.encode(t))
            for ids, options, _ in self.references["val"]
            for t in options
        ]
        self.train = ShuffledBatches(
            examples, cfg.batch_size, cfg.seed, arrays=seq2seq.batch_arrays
        )
        self.summary += f"; {len(examples)} training pairs"
        if self.skipped:
            self.summary += (
                f"; {self.skipped} validation/test sources left out (characters never seen "
                "in training)"
            )
        every = [tg for s in seq2seq.distinct(splits.values()) for o in s.values() for tg in o]
        self.summary += seq2seq.length_note(every, cfg.max_output)
        self._decoding = seq2seq.DecodingCache()

    def _cmudict(self, cfg):
        splits, dropped = pairs.cmudict_splits(cfg.stress)
        self.source = pairs.cmudict_path().read_text(encoding="utf-8")  # hashed into the run
        self.vocab = Vocab.from_text("".join(splits["train"]))
        tokens = {p for options in splits["train"].values() for pr in options for p in pr}
        self.targets = TargetVocab(sorted(tokens))
        self.summary = (
            f"CMUdict: {len(splits['train'])} training / {len(splits['val'])} validation / "
            f"{len(splits['test'])} test words; {dropped} entries dropped (not only letters "
            f"and apostrophes); {len(tokens)} phonemes"
        )
        return splits

    def _user_pairs(self, cfg):
        self.source = read_utf8(cfg.data, "--data", "your source<TAB>target file")
        rows = pairs.read_pairs(cfg.data, self.source, cfg.target_units)
        _check_units(cfg, rows)
        splits = {"train": {}, "val": {}, "test": {}}
        for source, target in rows:
            split = "train" if cfg.val_data else hashed_split(source, cfg.val_fraction)
            _add(splits[split], source, target)
        if cfg.val_data:  # your dev file: validation, and the final report's set
            read = functools.partial(pairs.read_pairs, target_units=cfg.target_units, minimum=1)
            self.val_source, val_rows = labelled.read_validation(cfg.val_data, read)
            for source, target in val_rows:
                _add(splits["val"], source, target)
            splits["test"] = splits["val"]
        if not splits["train"] or not splits["val"]:
            raise DataError(
                f"--data {cfg.data}: {len(splits['train'])} training and {len(splits['val'])} "
                "validation sources after the split; add pairs or change --val-fraction."
            )
        self.vocab, covered = _source_vocab(cfg, splits)
        counts = collections.Counter(t for o in splits["train"].values() for tg in o for t in tg)
        kept = sorted(t for t, _ in counts.most_common(cfg.max_vocab))
        self.targets = TargetVocab([UNKNOWN, *(t for t in kept if t != UNKNOWN)])
        test = "" if cfg.val_data else f" / {len(splits['test'])} test"
        self.summary = (
            f"{cfg.data}: {len(splits['train'])} training / {len(splits['val'])} validation"
            f"{test} sources; {len(kept)} target tokens"
        ) + (f"\n{covered}" if covered else "")
        return splits

    @property
    def labels(self):
        return self.targets.tokens  # saved beside the source vocabulary in vocab.json

    def source_ids(self, source):
        if isinstance(self.vocab, TokenVocab):
            return self.vocab.encode(self.vocab.split(source))
        return self.vocab.encode(source)

    def _encodable(self, split):
        """Validation/test sources the source vocabulary can spell (others are counted)."""
        kept, skipped = [], 0
        for source, options in split.items():
            try:
                kept.append((self.source_ids(source), options, source))
            except VocabularyError:
                skipped += 1
        self.skipped += skipped
        return kept

    def model(self):
        args = encoder_args(self.cfg)
        return translator(
            len(self.vocab),
            len(self.targets),
            attention=self.cfg.attention,
            embedding=self.cfg.embedding,
            **args,
        )

    def val_batches(self):
        cfg = self.cfg
        return in_batches(
            self.val, cfg.batch_size, limit=cfg.eval_batches, arrays=seq2seq.batch_arrays
        )

    def metrics(self, t):
        return {"val_loss": float(t["loss"] / t["count"])}

    def decoded_metrics(self, model):
        """Greedy WER and PER (and BLEU) on (at most `VAL_DECODED` of) the validation sources."""
        found = self.score(model, "val", beam=1, limit=seq2seq.VAL_DECODED)
        return {f"val_{k}": v for k, v in found.items()}

    def decode(self, model, sources, beam=1, nbest=1):
        """`[[(target tokens, score)]]` for source id lists, in their order."""
        decoder = self._decoding(model)
        order = np.argsort([len(s) for s in sources], kind="stable")  # little padding per batch
        out = [None] * len(sources)
        for i in range(0, len(order), DECODE_BATCH):
            chosen = order[i : i + DECODE_BATCH]
            found = decoder.decode(
                pad([sources[j] for j in chosen]), self.cfg.max_output, beam, nbest=nbest
            )
            for j, hyps in zip(chosen, found):
                out[j] = [(self.targets.decode_tokens(t), score) for t, score in hyps]
        return out

    def score(self, model, split, beam, limit=None):
        refs = self.references[split]
        refs = refs[seq2seq.decoded_share(len(refs), limit)]
        found = [f[0][0] for f in self.decode(model, [ids for ids, _, _ in refs], beam)]
        options = [options for _, options, _ in refs]
        wer, per = error_rates(found, options)
        if not self.bleu:
            return {"wer": wer, "per": per}
        joined = [[self.joiner.join(o) for o in each] for each in options]
        bleu = corpus_bleu([self.joiner.join(f) for f in found], joined)
        return {"wer": wer, "per": per, "bleu": bleu}

    def final_report(self, model, run_dir):
        """Test WER/PER (BLEU) greedy and with the beam, written to `test.json`; examples."""
        results = {}
        for beam in sorted({1, self.cfg.beam}):
            results[f"beam_{beam}"] = self.score(model, "test", beam)
        refs = self.references["test"][:8]
        found = self.decode(model, [ids for ids, _, _ in refs], self.cfg.beam)
        results["examples"] = [
            {
                "source": src,
                "predicted": self.joiner.join(f[0][0]),
                "references": [self.joiner.join(o) for o in o_],
            }
            for (_, o_, src), f in zip(refs, found)
        ]
        (run_dir / "test.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        shown = "Validation file" if self.cfg.val_data else "Test"
        lines = [f"{shown} ({len(self.references['test'])} sources):"]
        for key in (k for k in results if k.startswith("beam")):
            r = results[key]
            bleu = f", BLEU {100 * r['bleu']:.1f}" if "bleu" in r else ""
            lines.append(f"  {key.replace('_', ' ')}: WER {r['wer']:.4f}, PER {r['per']:.4f}{bleu}")
        source = "your file" if self.cfg.data else "dictionary"  # where the right answers come from
        lines += [f"  {e['source']}: {e['predicted']}  ({source}: {' | '.join(e['references'])})"
                  for e in results["examples"]]  # fmt: skip
        print("\n".join(lines) + f"\nTest results: {run_dir / 'test.json'}")
        return results


def _check_units(cfg, rows):
    """Word units refused for a side written without spaces (Chinese, Japanese, Thai)."""
    where = f"--data {cfg.data}"
    if cfg.unit == "word":
        sources = (s for s, _ in rows)
        scripts.check_words_can_split(sources, f"{where}'s sources", "Pass --unit char.")
    if cfg.target_units == "words":
        targets = ("".join(t) for _, t in rows)
        scripts.check_words_can_split(targets, f"{where}'s targets", "Pass --target-units chars.")


def _add(split, source, target):
    """`target` among `source`'s right answers in `split` (once)."""
    options = split.setdefault(source, [])
    if target not in options:
        options.append(target)


def _source_vocab(cfg, splits):
    """The sources' vocabulary and, for words, a line on what it covers of validation."""
    if cfg.unit != "word":
        return Vocab.from_text("".join(splits["train"])), ""
    split = TokenVocab([UNKNOWN], "word").split
    counts = collections.Counter(t for s in splits["train"] for t in split(s))
    vocab = word_vocabulary(counts, cfg.min_count, cfg.max_vocab, "word")
    return vocab, vocabulary_line(vocab, counts, [t for s in splits["val"] for t in split(s)])
