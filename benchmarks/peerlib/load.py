"""Load generation with wrk: every connection cycles through a list of tile paths."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CYCLE_SCRIPT = """
-- Each wrk thread walks the whole path list from its own starting point.
paths = {%s}
local started = 0
function setup(thread)
  thread:set("offset", started)
  started = started + 1
end
function init(args)
  index = offset * math.floor(#paths / tonumber(args[1]))
end
function request()
  index = (index %% #paths) + 1
  return wrk.format("GET", paths[index])
end
"""


@dataclass(frozen=True)
class LoadSettings:
    threads: int
    connections: int
    duration_s: int


@dataclass(frozen=True)
class LoadResult:
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


def run_wrk(base_url: str, paths: Sequence[str], settings: LoadSettings, script: Path) -> LoadResult:
    """Run wrk against `base_url` with `Accept-Encoding: gzip`, cycling through `paths`."""
    script.write_text(CYCLE_SCRIPT % ", ".join(f'"{path}"' for path in paths))
    output = subprocess.run(
        [
            "wrk",
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{settings.duration_s}s",
            "--latency",
            "-H",
            "Accept-Encoding: gzip",
            "-s",
            str(script),
            base_url,
            "--",
            str(settings.threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> LoadResult:
    """The figures of wrk's `--latency` report."""
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return LoadResult(
        requests=int(_match(r"(\d+) requests in", output)),
        requests_per_s=float(_match(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_latency_ms(output, "50%"),
        p99_ms=_latency_ms(output, "99%"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
    )


def _match(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise RuntimeError(f"unexpected wrk output (no {pattern!r}):\n{output}")
    return found.group(1)


def _latency_ms(output: str, percentile: str) -> float:
    found = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"unexpected wrk output (no {percentile} latency):\n{output}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
