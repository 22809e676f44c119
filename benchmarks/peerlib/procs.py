"""Servers under test as process groups: start, wait until they answer, CPU time, stop.

Every server runs in its own session, so stopping it ends its whole process group (workers
included), and nothing is left running after a benchmark.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` every 50 ms until it holds; raise `TimeoutError` naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout_s:.0f} s")
        time.sleep(0.05)


def answers(port: int, path: str) -> bool:
    """Whether an HTTP GET of `path` on loopback `port` returns 200 now."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _stat_fields(int(entry.name))
            if parent is not None:
                children.setdefault(int(parent[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def workers(pid: int) -> list[int]:
    """The processes below server `pid` (its workers), or `pid` itself when it serves alone."""
    return [worker for worker in descendants(pid) if worker != pid] or [pid]


def maps_file(pid: int, fragment: str) -> bool:
    """Whether process `pid` has a file whose path contains `fragment` mapped (a shared library it
    has loaded); False if it is gone."""
    try:
        return fragment in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by the live processes `pids` (all their threads)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS_PER_S


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot): with the pid, it names one process for good
    (pids are reused, start times are not). None if it is gone."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name (index 0 is the state, 1 the parent id,
    2 the process group, 11 utime, 12 stime, 19 the start time, in clock ticks), or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


class Server:
    """A server started in its own session; `stop()` ends its whole process group."""

    def __init__(self, name: str, command: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.command = list(command)
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                env=dict(env) if env is not None else None,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server and all its workers."""
        return cpu_seconds(descendants(self.pid))

    def wait_ready(self, port: int, path: str, timeout_s: float = 120) -> None:
        """Wait until `path` answers 200; fail early, with the end of its log, if the server exits."""

        def ready() -> bool:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}:\n{tail}")
            return answers(port, path)

        wait_until(ready, timeout_s, self.name)

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 15 s; returns once the server has exited."""
        if self.process.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.process.wait()
        if _group_members(self.pid):  # workers that outlived their master
            _signal_group(self.pid, signal.SIGKILL)


def _group_members(pgid: int) -> list[int]:
    """Live processes whose process group is `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
