"""Export trained runs to ONNX and run them without TensorFlow.

Lowering (scan, native, native_models, loop; model_proto finishes a lowered graph), api
(export a run), parity (TensorFlow vs onnxruntime gate), metadata, session (devices),
runtime (inference), bound (IOBinding fast path), infer and __main__ (the CLIs). Installed,
this package is `rnn_keras_export`; its modules import each other relatively so both names
work.
"""
