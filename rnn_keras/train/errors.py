"""The exception types the training CLI prints as one `error:` line (no traceback)."""


def user_errors():
    """The exception types whose message is already written for the user."""
    from rnn_keras.data import DataError
    from rnn_keras.train.checkpoint import CheckpointError
    from rnn_keras.train.training import NonFiniteError

    return (DataError, CheckpointError, NonFiniteError)
