"""Ctrl-C stops a build even where a library swallows it.

Python raises `KeyboardInterrupt` wherever the main thread happens to run when SIGINT arrives,
and a library may catch it there: pandas' C CSV reader reports it as a parse error ("Calling
read(nbytes) on source failed"). The handler installed here also records the signal, and
`raise_if_interrupted` raises it again after each chunk read and before the swap, so an
interrupted build is never swapped in. A process started with SIGINT ignored (`nohup`, a
background job) keeps ignoring it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_interrupted = threading.Event()


def _record_and_raise(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def recording_interrupts() -> Iterator[None]:
    """SIGINT recorded as well as raised for the duration of the block (main thread only: Python
    takes signal handlers there alone; elsewhere, or where SIGINT is ignored, the block runs
    unchanged)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _record_and_raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def raise_if_interrupted() -> None:
    """Raise `KeyboardInterrupt` if SIGINT arrived since `recording_interrupts` began, even if
    whatever was running then swallowed it."""
    if _interrupted.is_set():
        raise KeyboardInterrupt
