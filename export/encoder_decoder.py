"""onnxruntime inference of encoder-decoders (translate, caption); no TensorFlow here.

An encoder file (`encoder.onnx`, `image_encoder.onnx`) with `decoder_step.onnx` beside it;
load them with `export.runtime.load(ENCODER_FILE)`.
"""

import pathlib

import numpy as np

from rnn_keras_common import decoding as sampling
from rnn_keras_common import images as image_files
from rnn_keras_common.vocab import TargetVocab, target_joiner

from .metadata import MetadataError
from .onnx_model import Model

END_ID = 1  # "</s>": the first target token; it starts and ends every output


BATCH = 256  # inputs decoded together: memory stays bounded, and beam 5 over 2,048 words
# took 1.9 s in chunks of 256 against 3.4 s in one batch of 2,048 (the same outputs)


class EncoderDecoder(Model):
    """An encoder file with its `decoder_step.onnx` beside it; greedy or beam search
    (`rnn_keras_common.decoding`, shared with TensorFlow). A beam runs all hypotheses
    of `batch_size` inputs through one decoder call per step."""

    kind = "encoder"

    def __init__(self, path, device="cpu", cuda_options=None, threads=0, runtime="onnxruntime"):
        super().__init__(path, device, cuda_options, threads, runtime)
        step_path = self.path.with_name("decoder_step.onnx")
        if self.meta["kind"] != "encoder" or not step_path.is_file():
            raise MetadataError(
                f"{self.path}: load this model by its encoder file, with the "
                "decoder_step.onnx that `python -m export` wrote beside it."
            )
        self.targets = TargetVocab(self.labels)
        self.step_model = Model(step_path, device, cuda_options, threads, runtime)
        self.config = self.meta["config"] or {}
        self.max_output = self.config.get("max_output", 64)  # the run's limit, by default
        self.capped = 0  # of the last call's inputs, how many met the output limit unended

    def _stepper(self, memory, keys, mask):
        gather = sampling.row_gatherer(memory, keys, mask)

        def step(tokens, state, rows):
            feeds = dict(zip(("memory", "keys", "mask"), gather(rows)))
            out = self.step_model.run(
                {**feeds, "tokens": np.asarray(tokens, np.int32), "state": state}
            )
            return out["logits"], out["state_out"]

        return step

    def _decode_all(self, inputs, feeds_of, batch_size, search, join=" "):
        """`_decode` of `inputs` `batch_size` at a time (`feeds_of(chunk)`: the encoder's
        feeds), so that 100,000 words need no more memory than 256."""
        beam, nbest = search[0], search[1]
        if not isinstance(beam, int) or beam < 1 or not isinstance(nbest, int) or nbest < 1:
            raise ValueError(
                f"beam (--beam) and nbest (--nbest) must be integers >= 1, got {beam!r}, {nbest!r}."
            )
        max_len = search[3]
        if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
            raise ValueError(f"max_len (--max-output) must be an integer >= 1, got {max_len!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be an integer >= 1, got {batch_size!r}.")
        found, self.capped = [], 0
        for i in range(0, len(inputs), batch_size):
            found += self._decode(feeds_of(inputs[i : i + batch_size]), *search, join)
        return found

    def _decode(self, feeds, beam, nbest, alpha, max_len, join=" "):
        """The best output per input (a string), or with `nbest > 1` `[(string, score)]` each."""
        enc = self.run(feeds)
        max_len = max_len or self.max_output
        found = sampling.search(
            self._stepper(enc["memory"], enc["keys"], enc["mask"]),
            enc["state"],
            END_ID,
            max_len,
            max(beam, nbest),
            alpha,
            nbest,
        )
        # a best output of max_len tokens met the limit before the model ended it
        self.capped += sum(len(hyps[0][0]) >= max_len for hyps in found)
        as_text = lambda ids: join.join(self.targets.decode_tokens(ids))  # noqa: E731
        if nbest == 1:
            return [as_text(hyps[0][0]) for hyps in found]
        return [[(as_text(t), score) for t, score in hyps] for hyps in found]


class Translator(EncoderDecoder):
    """`encoder.onnx` + `decoder_step.onnx`: source text -> target tokens."""

    def translate(self, texts, beam=1, nbest=1, alpha=1.0, max_len=None, batch_size=BATCH):
        """The best target per text (a string), or with `nbest > 1` `[(string, score)]` each;
        `texts` is a list, or one string (one text, not its characters); `batch_size` texts
        are decoded together."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self._decode_all(
            texts,
            lambda chunk: {"source": self.encode_batch(chunk)},
            batch_size,
            (beam, nbest, alpha, max_len),
            target_joiner(self.config),
        )


class Captioner(EncoderDecoder):
    """`image_encoder.onnx` + `decoder_step.onnx`: an RGB image -> a caption."""

    def images(self, images):
        """`(batch, H, W, 3)` float32 from a path, a list of paths, or arrays (checked)."""
        _, height, width, _ = self.inputs["image"]
        out = [_image(im, height, width) for im in _image_list(images)]
        if not out:
            raise ValueError("Pass at least one image: a path, an (H, W, 3) array, or a list.")
        return np.stack(out).astype(np.float32)

    def caption(self, images, beam=1, nbest=1, alpha=1.0, max_len=None, batch_size=BATCH):
        """The caption of each image (a path, an array `(H, W, 3)` RGB 0..255, or a list);
        `batch_size` images are read and decoded together."""
        images = _image_list(images)
        if not images:
            raise ValueError("Pass at least one image: a path, an (H, W, 3) array, or a list.")
        feeds_of = lambda chunk: {"image": self.images(chunk)}  # noqa: E731
        return self._decode_all(images, feeds_of, batch_size, (beam, nbest, alpha, max_len))


def _image_list(images):
    """One image (a path, an `(H, W, 3)` array) or several, as a list."""
    if isinstance(images, (str, pathlib.Path)):
        return [images]
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return [images]
    return list(images)


def _image(image, height, width):
    """One image as `(height, width, 3)`: a file is read and resized (Pillow); an array must fit."""
    if isinstance(image, (str, pathlib.Path)):
        try:
            return image_files.read_rgb(image, height, width)
        except FileNotFoundError:
            raise FileNotFoundError(f"{image}: no such image file.") from None
    image = np.asarray(image)
    if image.shape != (height, width, 3):
        raise ValueError(
            f"An image array must be ({height}, {width}, 3) RGB 0..255, got {image.shape}; "
            "pass a file path to have it resized."
        )
    return image
