"""Ctrl-C and SIGTERM stop a training run, even when C code swallows the interrupt.

Python raises a signal handler's `KeyboardInterrupt` inside whatever the main thread is
running. When that is a C extension's call, the extension may clear it: seen with
TensorFlow's `EagerTensor.numpy` (about one stop in sixty, `kill` landing mid-step), and the
run then went on as if no stop had come. So the handler also remembers the stop, and the
training loop calls `check()` between steps to raise it again.

A stop that lands inside a write can also come out as another error: inside `np.savez`,
zipfile's cleanup raised "Can't close the ZIP file while there is an open writing handle"
over it, a traceback instead of the stop's line. Checkpoint writes therefore run
`deferred()`: a stop there is raised once the write is whole.
"""

import contextlib
import signal
import threading

_requested = threading.Event()
_deferring = 0  # how many `deferred()` blocks the main thread is inside
SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; `kill` and batch schedulers' stop


def _stop(signum, frame):
    _requested.set()
    if not _deferring:
        raise KeyboardInterrupt


@contextlib.contextmanager
def handled():
    """For its duration, SIGINT and SIGTERM stop the program as Ctrl-C does, and are
    remembered for `check`; the handlers before are put back after. Handlers live in the
    main thread only: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    before = [signal.signal(s, _stop) for s in SIGNALS]
    try:
        yield
    finally:
        for s, handler in zip(SIGNALS, before):
            signal.signal(s, handler)  # a caller's own handler, as it was
        _requested.clear()


def check():
    """Raise the `KeyboardInterrupt` of a stop that came but was swallowed on its way."""
    if _requested.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred():
    """A block a stop does not break into: one that comes is raised when the block ends."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if not _deferring:
        check()
