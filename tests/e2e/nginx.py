"""Real nginx (Debian's `nginx-light`) for the tests: its own prefix directory and configuration,
a free loopback port, no system service. The README's nginx blocks are what the tests run."""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

README = Path(__file__).resolve().parents[2] / "README.md"
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
ACCESS_LOG = "access.log"
"""In the prefix directory: one line per request, `METHOD URI STATUS "RANGE"`."""


def readme_nginx_block(containing: str) -> str:
    """The README's one ```nginx block that contains `containing`."""
    [block] = [
        block
        for block in re.findall(r"```nginx\n(.+?)```", README.read_text(encoding="utf-8"), flags=re.S)
        if containing in block
    ]
    return block


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).is_file():
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("nginx not found and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    return binary


@contextlib.contextmanager
def running_nginx(prefix: Path, server: str, http: str = "") -> Iterator[str]:
    """nginx with `http` in its `http {}` block and `server` in a server on a free loopback port,
    where anything else (`location /`) is another site's: a 404. Its workers run as the test's own
    user (as root, nginx would otherwise switch them to `nobody`, who cannot read pytest's
    private temporary directories). Yields its origin."""
    binary = nginx_binary()
    port = free_port()
    temp = "\n".join(f"  {name}_temp_path {prefix / name};" for name in NGINX_TEMP_PATHS)
    (prefix / "nginx.conf").write_text(
        f"""daemon off;
user {getpass.getuser()};
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"};
events {{}}
http {{
  log_format requests '$request_method $request_uri $status "$http_range"';
  access_log {prefix / ACCESS_LOG} requests;
{temp}
{http}
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 404; }}
{server}
  }}
}}
"""
    )
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], stderr=subprocess.PIPE)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                requests.get(origin + "/", timeout=5)
                break
            except requests.ConnectionError:  # not listening yet
                time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()
        yield origin
    finally:
        process.terminate()
        process.wait(timeout=30)
