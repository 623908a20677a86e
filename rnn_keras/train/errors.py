"""How the command-line tools end on a user's mistake: one clear line, no traceback."""

import errno
import sys

from rnn_keras_common.vocab import VocabularyError


def user_errors():
    """The exception types whose message is already written for the user."""
    from rnn_keras.data import DataError
    from rnn_keras.train.checkpoint import CheckpointError
    from rnn_keras_common.config import ConfigError

    kinds = [ConfigError, DataError, CheckpointError, VocabularyError]
    try:
        from rnn_keras.train.training import NonFiniteError

        kinds.append(NonFiniteError)
    except ImportError:  # inference-only install: no TensorFlow
        pass
    return tuple(kinds)


def run_cli(main):
    """Run `main()`, turning user errors into `error: ...` on stderr and exit code 2."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\nerror: interrupted; the last checkpoint (if any) is intact.", file=sys.stderr)
        return 130
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT):
            print(
                f"error: cannot write {err.filename or ''}: {err.strerror}. Free space or "
                "choose a writable folder; the last good checkpoint is intact.",
                file=sys.stderr,
            )
            return 2
        raise
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
