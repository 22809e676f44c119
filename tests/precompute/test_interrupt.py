"""A Ctrl-C that a library swallows (pandas' C CSV reader takes an error in its read callback for
a parse error or the end of the file) still stops the build before its swap."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from crimetiles.precompute.build_dir import atomic_build_dir
from crimetiles.precompute.interrupt import raise_if_interrupted, recording_interrupts


def _swallowed_ctrl_c() -> None:
    """SIGINT delivered to this process and caught, as a library that hides it would."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a call into C: the handler has run by now
    except KeyboardInterrupt:
        pass


@pytest.fixture(autouse=True)
def _ctrl_c_not_ignored():
    """SIGINT handled by Python, as in a terminal, even when the tests run as a background job."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_swallowed_ctrl_c_stops_the_build_before_its_swap(tmp_path: Path):
    out = tmp_path / "build"
    with pytest.raises(KeyboardInterrupt), recording_interrupts(), atomic_build_dir(out) as staging:
        (staging / "manifest.json").write_text("{}", encoding="utf-8")
        _swallowed_ctrl_c()
    assert not out.exists()
    assert [path.name for path in tmp_path.iterdir() if path.name != ".build.lock"] == []


def test_each_build_starts_without_the_last_ones_interrupt():
    with recording_interrupts():
        _swallowed_ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    with recording_interrupts():
        raise_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_build_started_with_ctrl_c_ignored_keeps_ignoring_it():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with recording_interrupts():
        os.kill(os.getpid(), signal.SIGINT)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])
        raise_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
