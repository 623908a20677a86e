"""`caption`: image -> caption, a small convolutional encoder and our tanh RNN decoder.

NeuralTalk's shape (Karpathy & Fei-Fei 2015: CNN features into a vanilla tanh RNN
generator) and, with `--attention` (default), Show, Attend and Tell's (Xu et al.
2015: attention over the CNN's feature grid), using the translation task's decoder,
bridge and search (`tasks.seq2seq`, `layers.decoder`).

Data: generated scenes (`data.scenes`), or `--data FOLDER` (images and captions.tsv,
`data.images`). Validation: per-token loss, and of greedy captions BLEU-4 against all
references (sacrebleu), exact match and attribute accuracy. At the end: the test and
held-out-compositions splits (greedy and `--beam`) to `test.json`, and `captions.png`,
test images with their captions (and `attention.png` with attention).
"""

import itertools
import json

import keras
import numpy as np

from rnn_keras.data import images as folder_images
from rnn_keras.data import scenes
from rnn_keras.layers import AddCoordinates
from rnn_keras.tasks import caption_metrics, seq2seq
from rnn_keras.tasks.base import ShuffledBatches, in_batches
from rnn_keras_common import scripts
from rnn_keras_common.files import flag_named
from rnn_keras_common.vocab import UNKNOWN, TargetVocab, TokenVocab

SCENES = {"train": 20_000, "val": 500, "test": 1_000, "compositions": 500}
DECODE_BATCH = 256


def captioner(vocab_size, units=256, attention=True, activation="tanh", size=scenes.SIZE,
              dropout=0.0):  # fmt: skip
    """`[image (batch, size, size, 3) RGB 0..255, target_in]` -> logits `(batch, T, vocab)`;
    `dropout`: the decoder's, in training only (see `AttentionDecoder`)."""
    image = keras.Input((size, size, 3), name="image")
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalise")(image)
    for i, filters in enumerate((16, 32, 64)):
        h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv_{i}")(h)
        h = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(h)
    grid = AddCoordinates(name="coordinates")(h)  # (batch, size/8, size/8, 66)
    cells = (size // 8) ** 2
    memory = keras.layers.Reshape((cells, int(grid.shape[-1])), name="memory")(grid)
    pooled = keras.layers.MaxPooling2D(2, name="summary_pool")(grid)  # keeps where things are
    summary = keras.layers.Flatten(name="summary")(pooled)
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    attention_units = units // 2 if attention else 0
    logits = seq2seq.attentive_decoder(
        memory, summary, target_in, vocab_size, units, attention_units, activation, dropout=dropout
    )
    return keras.Model([image, target_in], logits, name="captioner")


class Task:
    """Captions of generated scenes, or of the user's images (`--data FOLDER`)."""

    name, stateful, confusion = "caption", False, False

    def __init__(self, cfg, text=None):
        self.cfg = cfg
        self.images, self.references, self.truth = {}, {}, {}
        splits = ("train", "val", "test")
        if cfg.data:
            self._folders(cfg)
        else:
            self.source = json.dumps({"scenes": SCENES, "version": 1})  # the data is its recipe
            for split in (*splits, "compositions"):
                self.images[split], references = scenes.scenes(split, SCENES[split])
                self.references[split] = list(references)
        words = sorted({w for refs in self.references["train"] for r in refs for w in r.split()})
        self.targets = TargetVocab([UNKNOWN, *words])
        self.vocab = TokenVocab([UNKNOWN, *words])  # the run's vocab.json: the caption words
        self.train = ShuffledBatches(
            self._examples("train"), cfg.batch_size, cfg.seed, arrays=self._arrays("train")
        )
        self.val = self._examples("val")
        test = "" if cfg.val_data else f" / {len(self.images['test'])} test"
        self.summary = (
            f"{len(self.images['train'])} training / {len(self.images['val'])} validation"
            f"{test} images; {len(words)} words"
        )
        once = seq2seq.distinct(self.references[s] for s in splits)
        captions = [r.split() for refs in itertools.chain(*once) for r in refs]
        self.summary += seq2seq.length_note(captions, cfg.max_output)
        self._decoding = seq2seq.DecodingCache()

    @property
    def labels(self):
        return self.targets.tokens

    def _examples(self, split):
        """`(image index, target_in, target_out)` for every reference caption."""
        return [
            (i, *seq2seq.teacher_forcing(None, self.targets.encode(r.split()))[1:])
            for i, refs in enumerate(self.references[split])
            for r in refs
        ]

    def _arrays(self, split):
        def arrays(chosen):
            images = self.images[split][[e[0] for e in chosen]].astype(np.float32)
            return seq2seq.batch_arrays(chosen, sources=images)

        return arrays

    def model(self):
        cfg = self.cfg
        size = self.images["train"].shape[1]
        return captioner(
            len(self.targets), cfg.units, cfg.attention, cfg.activation, size, cfg.dropout
        )

    def val_batches(self):
        cfg = self.cfg
        return in_batches(
            self.val, cfg.batch_size, limit=cfg.eval_batches, arrays=self._arrays("val")
        )

    def metrics(self, t):
        return {"val_loss": float(t["loss"] / t["count"])}

    def decoded_metrics(self, model):
        """Greedy scores on (at most `VAL_DECODED` of) the validation images."""
        scores = self.score(model, "val", beam=1, limit=seq2seq.VAL_DECODED)
        return {f"val_{k}": v for k, v in scores.items()}

    def decode(self, model, images, beam=1):
        """The best caption (a string) of each image."""
        decoder, out = self._decoding(model), []
        for i in range(0, len(images), DECODE_BATCH):
            batch = images[i : i + DECODE_BATCH].astype(np.float32)
            found = decoder.decode(batch, self.cfg.max_output, beam)
            out += [" ".join(self.targets.decode_tokens(h[0][0])) for h in found]
        return out

    def score(self, model, split, beam, limit=None):
        share = seq2seq.decoded_share(len(self.images[split]), limit)
        captions = self.decode(model, self.images[split][share], beam)
        return caption_metrics.scores(
            captions, self.references[split][share], attributes=not self.cfg.data
        )

    def _folders(self, cfg):
        """Your `--data` folder, split by name; or all of it for training, and `--val-data`'s
        folder to validate and for the final report."""
        split = "train" if cfg.val_data else None
        self.source, found = folder_images.read_folder(cfg.data, cfg.val_fraction, split)
        if cfg.val_data:
            with flag_named("--val-data"):
                self.val_source, dev = folder_images.read_folder(cfg.val_data, 0.0, "val")
            found["val"] = found["test"] = dev["val"]
        for split in ("train", "val", "test"):
            self.images[split], self.references[split] = found[split]
        captions = (r for refs in self.references["train"] for r in refs)
        fix = "Put spaces between the words of each caption (e.g. with a Chinese word segmenter)."
        scripts.check_words_can_split(captions, f"--data {cfg.data}'s captions", fix)

    def final_report(self, model, run_dir):
        """Every held-out split, greedy and with the beam, to `test.json`; the picture grid."""
        results = {}
        for split in [s for s in ("test", "compositions") if s in self.images]:
            for beam in sorted({1, self.cfg.beam}):
                results[f"{split}_beam_{beam}"] = self.score(model, split, beam)
        (run_dir / "test.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        print("\n".join(f"  {k}: " + ", ".join(f"{m} {v:.4f}" for m, v in r.items())
                        for k, r in results.items()))  # fmt: skip
        shown = self.images["test"][:12]
        caption_metrics.picture_grid(
            shown, self.decode(model, shown, self.cfg.beam), run_dir / "captions.png"
        )
        if self.cfg.attention:
            caption_metrics.attention_grid(model, shown[:4], self, run_dir / "attention.png")
        test = "Test results" + (" (the --val-data folder)" if self.cfg.val_data else "")
        print(f"{test}: {run_dir / 'test.json'}; captions: {run_dir / 'captions.png'}")
        return results
