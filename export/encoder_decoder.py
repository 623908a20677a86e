"""onnxruntime inference of encoder-decoders (translate, caption); no TensorFlow here.

An encoder file (`encoder.onnx`, `image_encoder.onnx`) with `decoder_step.onnx` beside it;
load them with `export.runtime.load(ENCODER_FILE)`.
"""

import pathlib

import numpy as np

from rnn_keras_common import decoding as sampling
from rnn_keras_common import images as image_files
from rnn_keras_common.vocab import TargetVocab

from .metadata import MetadataError
from .onnx_model import Model

END_ID = 1  # "</s>": the first target token; it starts and ends every output


class EncoderDecoder(Model):
    """An encoder file with its `decoder_step.onnx` beside it; greedy or beam search
    (`rnn_keras_common.decoding`, shared with TensorFlow). A beam runs all hypotheses
    of all inputs through one decoder call per step."""

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

    def _stepper(self, memory, keys, mask):
        gather = sampling.row_gatherer(memory, keys, mask)

        def step(tokens, state, rows):
            feeds = dict(zip(("memory", "keys", "mask"), gather(rows)))
            out = self.step_model.run(
                {**feeds, "tokens": np.asarray(tokens, np.int32), "state": state}
            )
            return out["logits"], out["state_out"]

        return step

    def _decode(self, feeds, beam, nbest, alpha, max_len, join=" "):
        """The best output per input (a string), or with `nbest > 1` `[(string, score)]` each."""
        if not isinstance(beam, int) or beam < 1 or not isinstance(nbest, int) or nbest < 1:
            raise ValueError(f"beam and nbest must be integers >= 1, got {beam!r}, {nbest!r}.")
        enc = self.run(feeds)
        found = sampling.search(
            self._stepper(enc["memory"], enc["keys"], enc["mask"]),
            enc["state"],
            END_ID,
            max_len or self.config.get("max_output", 64),
            max(beam, nbest),
            alpha,
            nbest,
        )
        as_text = lambda ids: join.join(self.targets.decode_tokens(ids))  # noqa: E731
        if nbest == 1:
            return [as_text(hyps[0][0]) for hyps in found]
        return [[(as_text(t), score) for t, score in hyps] for hyps in found]


class Translator(EncoderDecoder):
    """`encoder.onnx` + `decoder_step.onnx`: source text -> target tokens."""

    def translate(self, texts, beam=1, nbest=1, alpha=1.0, max_len=None):
        """The best target per text (a string), or with `nbest > 1` `[(string, score)]` each;
        `texts` is a list, or one string (one text, not its characters)."""
        if isinstance(texts, str):
            texts = [texts]
        chars = self.config.get("target_units") == "chars" and self.config.get("data")
        feeds = {"source": self.encode_batch(list(texts))}
        return self._decode(feeds, beam, nbest, alpha, max_len, "" if chars else " ")


class Captioner(EncoderDecoder):
    """`image_encoder.onnx` + `decoder_step.onnx`: an RGB image -> a caption."""

    def images(self, images):
        """`(batch, H, W, 3)` float32 from a path, a list of paths, or arrays (checked)."""
        _, height, width, _ = self.inputs["image"]
        if isinstance(images, (str, pathlib.Path)):
            images = [images]
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = [images]
        out = [_image(im, height, width) for im in images]
        if not out:
            raise ValueError("Pass at least one image: a path, an (H, W, 3) array, or a list.")
        return np.stack(out).astype(np.float32)

    def caption(self, images, beam=1, nbest=1, alpha=1.0, max_len=None):
        """The caption of each image (a path, an array `(H, W, 3)` RGB 0..255, or a list)."""
        return self._decode({"image": self.images(images)}, beam, nbest, alpha, max_len)


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
