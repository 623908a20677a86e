"""Argument checks shared by the layers, with messages that name the argument."""

import keras


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"positive integer, got {value!r}."
        )
    return value


def rate(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"float in [0, 1), got {value!r}."
        )
    return float(value)


def activation(value):
    """Resolve a Keras activation and return `(callable, name)`."""
    try:
        fn = keras.activations.get(value)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"Received an invalid value for argument `activation`: {value!r}. "
            "Use a Keras activation name such as 'tanh', 'sigmoid' or 'relu'."
        ) from err
    name = keras.activations.serialize(fn)
    return fn, name if isinstance(name, str) else None


def sequence_rank(layer, shape):
    if len(shape) != 3:
        raise ValueError(
            f"Layer '{layer}' expects a 3D input `(batch, time, features)`, "
            f"received an input of shape {tuple(shape)}. Add a time axis (or "
            "one-hot/embed integer tokens) before the recurrent layer."
        )


def numeric(layer, x):
    """Real-valued features only: a string or complex tensor is a mistake upstream."""
    if not (x.dtype.is_floating or x.dtype.is_integer or x.dtype.is_bool):
        raise ValueError(
            f"Layer '{layer}' expects real-valued features `(batch, time, features)`, "
            f"received dtype {x.dtype.name}. Encode text as token ids and one-hot "
            "(rnn_keras.OneHot) or embed them first."
        )
    return x
