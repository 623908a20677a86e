"""onnxruntime inference for exported models; TensorFlow is never imported here.

lm = load("runs/lm-.../step.onnx", device="cpu")     # or "cuda", "auto"
print(lm.generate("ROMEO:", 400, temperature=0.8, seed=0))
tagger = load("runs/tag-.../model.onnx"); tagger.tag("Tobeornottobe")
clf = load("runs/classify-.../model.onnx"); clf.classify("...")
g2p = load("runs/translate-.../encoder.onnx"); g2p.translate(["anthropomorphic"], beam=5)
cap = load("runs/caption-.../image_encoder.onnx"); cap.caption("scene.png")
"""

import numpy as np

from rnn_keras_common import decoding as sampling
from rnn_keras_common.config import passage_tokens, tagger_window
from rnn_keras_common.vocab import pad

from .bound import BoundRunner
from .metadata import MetadataError  # noqa: F401  (public here too)
from .onnx_model import Model, read_metadata, resolve, stale_note  # noqa: F401 (public)
from .session import DEVICES, DeviceError, make_session  # noqa: F401  (public here too)


def state_outputs(states):
    """`{output: input}` of the LM's states: `state_i_out` is the next call's `state_i`."""
    return {f"{name}_out": name for name in states}


class LanguageModel(Model):
    def zero_states(self, batch):
        return {
            f"state_{i}": np.zeros((batch, u), np.float32)
            for i, u in enumerate(self.meta["state_sizes"])
        }

    def step(self, tokens, states):
        """`tokens` `(batch, time)` + states -> `(logits (batch, time, vocab), new states)`.

        A step model takes one token per call, so longer input is fed one column at a time.
        """
        tokens = np.asarray(tokens, np.int32)
        if self.meta["kind"] == "step" and tokens.ndim == 2 and tokens.shape[1] != 1:
            logits = []
            for t in range(tokens.shape[1]):
                out, states = self.step(tokens[:, t : t + 1], states)
                logits.append(out)
            return np.concatenate(logits, axis=1), states
        out = self.run({"tokens": tokens, **states})
        new = {name: out[output] for output, name in state_outputs(states).items()}
        return out["logits"], new

    def generate(self, prime="\n", *args, **kwargs):
        """`prime` and `length` sampled characters; same seed, same text as TensorFlow's.
        The arguments are `stream`'s: `(prime, length=300, temperature=1.0, top_k=0,
        top_p=1.0, seed=0, fast=False, cuda_graph=False)`."""
        return prime + "".join(self.stream(prime, *args, **kwargs))

    def stream(
        self,
        prime="\n",
        length=300,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        seed=0,
        fast=False,
        cuda_graph=False,
    ):
        """`generate`'s sampled characters (not the prime) one at a time, as each is drawn:
        `for c in model.stream("ROMEO:", 400): print(c, end="", flush=True)`. The arguments
        are checked here, before the first character.

        `fast=True` runs the per-character calls through a `BoundRunner` (IOBinding;
        with `cuda_graph=True` on device 'cuda', replayed CUDA graphs) that keeps the states
        in its buffers: only the token goes in and the logits come out.
        """
        sampling.check_sampling_args(temperature, top_k, top_p)
        if not prime:
            raise ValueError("prime (--prime) must hold a character, e.g. '\\n' or 'ROMEO:'.")
        if fast and self.runtime != "onnxruntime":
            raise ValueError("`fast` is onnxruntime's IOBinding; drop it with another runtime.")
        logits, states = self.step([self.vocab.encode(prime)], self.zero_states(1))
        step = self._bound_step(states, cuda_graph) if fast else self._plain_step(states)
        return self._sampled(logits[0, -1], step, length, seed, (temperature, top_k, top_p))

    def _sampled(self, logits, step, length, seed, sampling_args):
        rng = sampling.SplitMix64(seed)
        for i in range(length):
            token = sampling.sample(logits, rng, *sampling_args)
            yield self.vocab.decode([token])
            if i + 1 < length:  # the last character needs no step after it
                logits = step(token)

    def _plain_step(self, states):
        """`step(token) -> logits (vocab,)`, the states carried from call to call here."""

        def step(token):
            nonlocal states
            logits, states = self.step([[token]], states)
            return logits[0, -1]

        return step

    def _bound_step(self, states, cuda_graph):
        """`_plain_step`'s contract through a `BoundRunner` that keeps the states in its
        buffers (on the GPU under CUDA): only the token goes in and the logits come out."""
        feeds = {"tokens": np.ones((1, 1), np.int32), **states}
        runner = BoundRunner(self.path, feeds, self.device, cuda_graph, state_outputs(states))

        def step(token):
            return runner.run({"tokens": np.full((1, 1), token, np.int32)})["logits"][0, -1]

        return step


class Tagger(Model):
    BATCH = 256  # windows per call

    @property
    def window(self):
        """Characters per window: the `--seq-len` lines were cut to in training (64 before
        the exports carried it)."""
        return tagger_window(self.meta["config"])

    def word_ends(self, text):
        """0/1 per character of `text`; long text goes in fixed windows, so memory stays flat."""
        if not text:
            raise ValueError("text (--text) must hold at least one character.")
        return self._ends([self.vocab.encode(text)])[0]  # one error naming every unknown

    def word_ends_many(self, lines):
        """`word_ends` of each line, the windows of all of them batched together."""
        return self._ends([self.vocab.encode(line) for line in lines])

    def _ends(self, rows):
        """0/1 per id of each row of ids, each row cut into windows (as trained)."""
        size = self.window
        windows = [(r, ids[i : i + size]) for r, ids in enumerate(rows)
                   for i in range(0, len(ids), size)]  # fmt: skip
        ends = [[] for _ in rows]
        for i in range(0, len(windows), self.BATCH):
            chunk = windows[i : i + self.BATCH]
            logits = self.run({"tokens": pad([w for _, w in chunk])})["logits"]
            for (r, w), row in zip(chunk, logits.argmax(-1)):
                ends[r].extend(row[: len(w)])
        return [np.asarray(e, np.int8) for e in ends]

    def tag(self, text):
        """Segmented text: a space after every character the model tags as a word end. Each
        line's own whitespace is dropped first (placing spaces is the model's job, so "To be"
        is segmented afresh, not refused for its ' '); line breaks stay."""
        _one_text(text, "several lines for several texts")
        lines = ["".join(line.split()) for line in text.splitlines()]
        if not any(lines):
            raise ValueError("text (--text) must hold at least one character.")
        ids = self.vocab.encode("".join(lines))  # one error naming every unknown character
        ends = self._ends(
            np.split(np.asarray(ids, np.int32), np.cumsum([len(x) for x in lines])[:-1])
        )
        return "\n".join(
            "".join(c + (" " if e == 1 else "") for c, e in zip(line, row)).rstrip()
            for line, row in zip(lines, ends)
        )


class TokenTagger(Model):
    """Tags per whitespace-separated token (a model trained with `--task tag --data`)."""

    def tag(self, text):
        """`[(token, tag)]` for `text` (a string, split on whitespace, or a token list)."""
        tokens = self.vocab.split(text) if isinstance(text, str) else list(text)
        if not tokens:
            raise ValueError("text (--text) must hold at least one token.")
        return list(zip(tokens, self.tag_many([tokens])[0]))

    def tag_many(self, sentences, batch_size=64):
        """The tags of each token list, `batch_size` sentences (right-padded) per call."""
        sentences = [list(s) for s in sentences]
        if not all(sentences):
            raise ValueError("Every sentence must hold at least one token.")
        tags = []
        for i in range(0, len(sentences), batch_size):
            chunk = sentences[i : i + batch_size]
            ids = self.run({"tokens": pad([self.vocab.encode(s) for s in chunk])})["logits"]
            for sentence, row in zip(chunk, ids.argmax(-1)):
                tags.append([self.labels[j] for j in row[: len(sentence)]])
        return tags


class Classifier(Model):
    def encode_batch(self, texts):
        """Right-padded ids of each passage's first tokens: as many as training read."""
        cap = passage_tokens(self.vocab.unit, self.meta["config"])
        return super().encode_batch(texts)[:, :cap]

    def classify(self, text):
        """`(label, {label: probability})` for one passage (`classify_many` for several)."""
        _one_text(text, "one call per passage; classify_many takes a list")
        return self._answers(self.run({"tokens": self.encode_batch([text])})["logits"])[0]

    def classify_many(self, texts, batch_size=64):
        """`classify` of each text, `batch_size` texts (right-padded) per call."""
        if isinstance(texts, str):
            raise TypeError("`texts` must be a list of strings; classify takes one passage.")
        texts = list(texts)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be at least 1, got {batch_size}.")
        answers = []
        for i in range(0, len(texts), batch_size):
            batch = self.encode_batch(texts[i : i + batch_size])
            answers += self._answers(self.run({"tokens": batch})["logits"])
        return answers

    def _answers(self, logits):
        """`[(label, {label: probability})]` of rows of logits (a softmax in float64)."""
        z = logits.astype(np.float64)
        p = np.exp(z - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        return [(self.labels[int(r.argmax())], dict(zip(self.labels, r.tolist()))) for r in p]


def _one_text(text, several):
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a string ({several}), got {type(text).__name__}.")


def load(path, device="cpu", cuda_options=None, threads=0, runtime="onnxruntime"):
    """The task's model class for an exported ONNX file, on `device` (cpu, cuda, auto).

    `path`: the file, or a run folder (its `step.onnx`, encoder, or `model.onnx`).
    `runtime`: "onnxruntime" (default) or "openvino" (optional package, CPU).
    """
    path = resolve(path)
    meta = read_metadata(path)
    tagger = Tagger if meta["unit"] == "char" else TokenTagger
    from .encoder_decoder import Captioner, Translator

    cls = {
        "lm": LanguageModel,
        "tag": tagger,
        "classify": Classifier,
        "translate": Translator,
        "caption": Captioner,
    }[meta["task"]]
    return cls(path, device, cuda_options, threads, runtime)
