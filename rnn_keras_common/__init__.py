"""NumPy-only pieces that training (TensorFlow) and inference (onnxruntime) share.

- `vocab`: the character vocabulary (id 0 = padding) and right-padding of id lists.
- `decoding`: sampling (temperature, top-k, top-p); written once, so one seed gives
  one text in TensorFlow and in onnxruntime.

It lives beside `rnn_keras`, not inside it, because importing `rnn_keras` imports
TensorFlow (so that `import rnn_keras` registers every layer for `keras.models.load_model`),
while importing this package must not: the inference path (`export.runtime`,
`export.infer`) runs without TensorFlow.
"""

__version__ = "0.2.0"  # the one place; rnn_keras and the wheel read it
