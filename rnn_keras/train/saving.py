"""Loading `.keras` files of our models: layers registered, `safe_mode=True`, clear errors."""

import pathlib
import zipfile

import keras

import rnn_keras.layers  # noqa: F401  (registers our layers so load_model finds them)


class ModelFileError(ValueError):
    """A `.keras` file that is missing, truncated, or not one of ours."""


def load_model(path):
    """The Keras model in `path`; never runs code from the file (`safe_mode=True`)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file.")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a .keras archive (truncated or another format). "
            "Use a file written by train.py, or an earlier checkpoint."
        )
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"{path} cannot be loaded as an rnn-keras model "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200]})."
        ) from err
