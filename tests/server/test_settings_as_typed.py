"""Every server setting written as people write them (spaces after commas, trailing slashes,
upper-case units, empty values), given where they give them (environment variables under the
README's granian and gunicorn commands, flags of `crimetiles serve`), checked in what the running
server then answers: CORS headers, TileJSON URLs, Content-Security-Policy, Cache-Control, whether
a tile comes from the cache. One server start per group of spellings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.server.apps import tile_answers
from tests.server.served import free_port, readme_command, serving

ON_DEMAND_TILE = "/tiles/tracts/13/2300/3216.mvt"
"""A tile beyond the Durham build's archive (z0-12): encoded on demand, then cached."""
BASEMAP = "https://tiles.example.org/{z}/{x}/{y}.png"
ALLOWED = ("https://a.example", "https://b.example", "https://c.example")
"""The origins every typed list below allows, as browsers send them in `Origin`."""
TYPED = {
    "cors_origins": "https://a.example, https://B.example/,https://c.example",
    "public_url": "https://maps.example.org/crime/",
    "frame_ancestors": "https://news.example, https://blog.example",
    "basemap_url": BASEMAP,
    "max_age": "60",
    "reload_interval": "0",
}
"""The settings as typed into an environment file: spaces after commas, a host in capitals and a
trailing slash copied from the address bar, the public URL with its trailing slash."""
TYPED_FLAGS = [
    "--cors-origins", "https://a.example https://b.example/ https://C.example",
    "--public-url", "https://maps.example.org/crime",
    "--frame-ancestors", "https://news.example,https://blog.example",
    "--basemap-url", BASEMAP,
    "--max-age", "60",
    "--reload-interval", "0",
]  # fmt: skip
"""The same settings as flags, the list separated by spaces."""


@dataclass(frozen=True)
class Seen:
    """What a running server answered to the requests `observe` makes."""

    allowed_origins: tuple[str, ...]
    tile_urls: list[str]
    cache_control: str
    embed_policy: str
    page_policy: str
    page: str
    cache_hits: float


def observe(base: str) -> Seen:
    tilejson = requests.get(base + "/tiles/tracts.json", timeout=10)
    candidates = (*ALLOWED, "https://elsewhere.example")
    allowed = tuple(
        origin
        for origin in candidates
        if requests.get(base + "/tiles/tracts.json", headers={"Origin": origin}, timeout=10).headers.get(
            "Access-Control-Allow-Origin"
        )
        == origin
    )
    for _ in range(3):  # over two workers, one of them answers it twice at least
        assert requests.get(base + ON_DEMAND_TILE, timeout=10).status_code == 200
    page = requests.get(base + "/", timeout=10)
    return Seen(
        allowed_origins=allowed,
        tile_urls=tilejson.json()["tiles"],
        cache_control=tilejson.headers["Cache-Control"],
        embed_policy=requests.get(base + "/embed", timeout=10).headers["Content-Security-Policy"],
        page_policy=page.headers["Content-Security-Policy"],
        page=page.text,
        cache_hits=_metric(base, "crimetiles_tile_cache_hits_total"),
    )


def _metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    return sum(
        sample.value for family in text_string_to_metric_families(text) for sample in family.samples if sample.name == name
    )


def _assert_typed_settings_served(seen: Seen) -> None:
    assert seen.allowed_origins == ALLOWED
    assert seen.tile_urls == ["https://maps.example.org/crime/tiles/tracts/{z}/{x}/{y}.mvt"]
    assert seen.cache_control == "public, max-age=60"
    assert seen.embed_policy.endswith("; frame-ancestors https://news.example https://blog.example")
    assert "; img-src 'self' data: blob: https://tiles.example.org;" in seen.page_policy
    assert "; connect-src 'self' https://tiles.example.org;" in seen.page_policy
    assert f'data-basemap="{BASEMAP}"' in seen.page
    assert 'data-public-url="https://maps.example.org/crime"' in seen.page


@contextmanager
def _served(server: str, build_dir: Path | str, flags: tuple[str, ...] = (), **settings: str) -> Iterator[str]:
    command = ["crimetiles", "serve", "--port", "8000", *flags] if server == "crimetiles serve" else readme_command(server)
    with serving(command, build_dir, **settings) as (base, _):  # a str keeps a typed trailing slash
        yield base


@pytest.mark.parametrize(
    ("server", "cache_bytes"),
    [("granian", "64MB"), ("gunicorn", "1 KiB")],
)
def test_settings_typed_into_the_environment_are_served_as_meant(durham_build, server, cache_bytes):
    """A cache of 64 MB answers a repeated on-demand tile from memory; one of a KiB holds no tile.
    The build directory is typed with a trailing slash."""
    with _served(server, f"{durham_build}/", cache_bytes=cache_bytes, ready_tile_bytes="16 MiB", **TYPED) as base:
        seen = observe(base)
    _assert_typed_settings_served(seen)
    assert (seen.cache_hits >= 1) == (cache_bytes == "64MB")


def test_serve_flags_typed_as_people_type_them_win_over_the_environment(durham_build):
    flags = (*TYPED_FLAGS, "--cache-bytes", "64 MiB", "--ready-tile-bytes", "16mib", f"{durham_build}/")
    environment = {"cache_bytes": "0", "cors_origins": "https://elsewhere.example", "max_age": "5"}
    with _served("crimetiles serve", durham_build, flags, **environment) as base:
        seen = observe(base)
    _assert_typed_settings_served(seen)
    assert seen.cache_hits >= 1


def test_empty_values_mean_none(durham_build):
    """An empty variable (an env file's `CRIMETILES_PUBLIC_URL=`): no public URL (the request's
    own), no basemap, no other origin may fetch tiles or frame the embed."""
    empty = {"public_url": "", "basemap_url": "", "cors_origins": "", "frame_ancestors": "", "reload_interval": "0"}
    with _served("granian", durham_build, **empty) as base:
        seen = observe(base)
    assert seen.allowed_origins == ()
    assert seen.tile_urls == [f"{base}/tiles/tracts/{{z}}/{{x}}/{{y}}.mvt"]
    assert seen.embed_policy.endswith("; frame-ancestors 'none'")
    assert "; img-src 'self' data: blob:; connect-src 'self';" in seen.page_policy
    assert 'data-basemap=""' in seen.page and 'data-public-url=""' in seen.page


def test_sizes_with_units_set_the_ready_answers_budget(durham_build):
    """The archive answers kept ready have no header of their own: their budget is read off the app."""
    budgets = {"16 MiB": 16 * 2**20, "16MB": 16_000_000, "512kib": 512 * 1024, "0": 0, "1.5 GiB": 3 * 2**29}
    for typed, expected in budgets.items():
        config = ServerConfig.from_env({"CRIMETILES_BUILD_DIR": str(durham_build), "CRIMETILES_READY_TILE_BYTES": typed})
        assert tile_answers(create_app(config)).ready.budget == expected, typed


@pytest.mark.parametrize(
    ("args", "environment", "message"),
    [
        (
            ["--cache-bytes", "64M"],
            {},
            "Error: Invalid value for '--cache-bytes': '64M': expected a size in bytes, e.g. 67108864, 64MiB or 64MB",
        ),
        (
            ["--public-url", "maps.example.org/crime"],
            {},
            "Error: Invalid value for '--public-url': 'maps.example.org/crime': expected an absolute http(s) URL, "
            "e.g. https://maps.example.org/crime",
        ),
        (
            [],
            {"CRIMETILES_PUBLIC_URL": "maps.example.org"},
            "Error: CRIMETILES_PUBLIC_URL='maps.example.org': expected an absolute http(s) URL, "
            "e.g. https://maps.example.org/crime",
        ),
        (
            [],
            {"CRIMETILES_BASEMAP_URL": "tile.openstreetmap.org/{z}/{x}/{y}.png"},
            "Error: CRIMETILES_BASEMAP_URL='tile.openstreetmap.org/{z}/{x}/{y}.png': expected an absolute http(s) URL, "
            "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        ),
        (
            ["--basemap-url", "tiles.example.org/style.json"],
            {},
            "Error: Invalid value for '--basemap-url': 'tiles.example.org/style.json': expected an absolute http(s) URL, "
            "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        ),
        ([], {"CRIMETILES_MAX_AGE": ""}, "Error: CRIMETILES_MAX_AGE='': expected int"),
        (
            [],
            {"CRIMETILES_READY_TILE_BYTES": "-1"},
            "Error: CRIMETILES_READY_TILE_BYTES='-1': expected a size in bytes, e.g. 67108864, 64MiB or 64MB",
        ),
    ],
)
def test_a_setting_the_server_cannot_read_stops_serve_in_one_line(durham_build, args, environment, message):
    """Run as a process with a time limit: a setting wrongly accepted starts a server that never stops."""
    command = [sys.executable, "-m", "crimetiles", "serve", str(durham_build), "--port", str(free_port()), *args]
    result = subprocess.run(command, env={**os.environ, **environment}, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr
