"""Seeing the memory: `python -m rnn_keras.inspect RUN_DIR` (see `__main__`)."""
