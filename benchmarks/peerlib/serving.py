"""The servers of cached tiles: nginx (static files, the physical limit), TileServer GL Light, and
crimetiles with its production command."""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import mercantile

from peerlib.procs import Server, answers, free_port, maps_file, wait_until, workers

REPO = Path(__file__).resolve().parents[2]
NGINX_CONFIG = """
user {user};
worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/html;
        location / {{
            types {{ }}
            default_type application/x-protobuf;
            add_header Content-Encoding gzip;
            add_header Access-Control-Allow-Origin *;
        }}
    }}
}}
"""


@dataclass
class TileServer:
    """A running server and how to ask it for a tile."""

    name: str
    server: Server
    port: int
    template: str
    """URL path of a tile, with {z}, {x} and {y}."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def path(self, tile: mercantile.Tile) -> str:
        return self.template.format(z=tile.z, x=tile.x, y=tile.y)


def start_nginx(nginx: Path, tiles: Mapping[mercantile.Tile, bytes], tileset: str, prefix: Path, workers: int) -> TileServer:
    """nginx serving `tiles` extracted to z/x/y.pbf files, sent as stored with `Content-Encoding: gzip`,
    no access log; its own prefix and configuration (no system service)."""
    for tile, data in tiles.items():
        path = prefix / "html" / tileset / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(user=getpass.getuser(), workers=workers, prefix=prefix, port=port))
    server = Server("nginx", [str(nginx), "-p", str(prefix), "-c", str(config)], prefix / "server.log")
    tile = next(iter(tiles))
    served = TileServer("nginx", server, port, f"/{tileset}/{{z}}/{{x}}/{{y}}.pbf")
    server.wait_ready(port, served.path(tile))
    return served


def start_tileserver(command: Path, mbtiles: Path, tileset: str, log: Path) -> TileServer:
    """TileServer GL Light on the MBTiles archive (`--silent`: no log line per request)."""
    port = free_port()
    server = Server(
        "tileserver-gl", [str(command), "--file", str(mbtiles), "--bind", "127.0.0.1", "--port", str(port), "--silent"], log
    )
    server.wait_ready(port, "/data.json")
    return TileServer("tileserver-gl", server, port, f"/data/{tileset}/{{z}}/{{x}}/{{y}}.pbf")


def start_crimetiles(command: Sequence[str], build_dir: Path, tileset: str, log: Path, name: str = "crimetiles") -> TileServer:
    """crimetiles on `build_dir`, started with `command` (a template from `production_command`)."""
    port = free_port()
    argv = [part.format(host="127.0.0.1", port=port) for part in command]
    server = Server(name, argv, log, env={**os.environ, "CRIMETILES_BUILD_DIR": str(build_dir)})
    server.wait_ready(port, "/healthz")
    return TileServer(name, server, port, f"/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt")


LAYERS_LOADED_MARK = "/nanoarrow/_ipc_lib."
"""A library a crimetiles worker loads only when it reads its density layers (their Arrow streams)."""


def load_layers_in_every_worker(served: TileServer, tile: mercantile.Tile, timeout_s: float = 120) -> float:
    """Ask for on-demand `tile`, each time on a new connection, until every worker of the server
    has loaded its density layers (which a worker does once, on its first on-demand tile), as in a
    server that has been up a while. Returns the seconds the first request took: the one-time load."""
    started = time.perf_counter()
    if not answers(served.port, served.path(tile)):
        raise RuntimeError(f"{served.name}: {served.path(tile)} did not answer 200")
    first_s = time.perf_counter() - started

    def every_worker_loaded() -> bool:
        if all(maps_file(pid, LAYERS_LOADED_MARK) for pid in workers(served.server.pid)):
            return True
        answers(served.port, served.path(tile))
        return False

    wait_until(every_worker_loaded, timeout_s, f"{served.name}: density layers in every worker")
    return first_s


def production_command(dockerfile: Path = REPO / "Dockerfile") -> list[str]:
    """The Dockerfile's CMD (what the image runs, and the README's production command) as a
    template: bound to {host}:{port} instead of 0.0.0.0:8000, its executable from the current venv,
    and without access logging (no contender writes a log line per request)."""
    found = re.search(r"^CMD (\[.*\])\s*$", dockerfile.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise ValueError(f"{dockerfile}: no CMD in exec form (a JSON list); pass --crimetiles-cmd")
    command = json.loads(found.group(1))
    return _as_template(_without_access_log(command))


def command_template(text: str) -> list[str]:
    """`--crimetiles-cmd`: a shell-quoted command with {host} and {port}, its executable looked up
    in the current venv first."""
    return _as_template(shlex.split(text))


def _without_access_log(command: list[str]) -> list[str]:
    kept: list[str] = []
    parts = iter(command)
    for part in parts:
        if part in ("--access-logfile", "--access-logformat"):
            next(parts, None)
        elif not part.startswith("--access-log"):
            kept.append(part)
    return kept


def _as_template(command: list[str]) -> list[str]:
    venv_executable = Path(sys.executable).parent / command[0]
    head = str(venv_executable) if venv_executable.exists() else command[0]
    return [head, *(_bound_to_template(part) for part in command[1:])]


def _bound_to_template(part: str) -> str:
    if "{" in part:
        return part
    part = part.replace("0.0.0.0", "{host}")
    if part == "8000" or part.endswith((":8000", "=8000")):
        part = part[:-4] + "{port}"
    return part
