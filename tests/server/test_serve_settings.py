"""Every setting of the README's configuration table, from its environment variable and from its
`crimetiles serve` flag (the flag wins), seen in what the server answers."""

from __future__ import annotations

from pathlib import Path

from crimetiles.serve import serve
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from tests.server.apps import tile_answers

ENVIRONMENT = {
    "CRIMETILES_HOST": "0.0.0.0",
    "CRIMETILES_PORT": "9000",
    "CRIMETILES_CACHE_BYTES": "1000000",
    "CRIMETILES_READY_TILE_BYTES": "300000",
    "CRIMETILES_MAX_AGE": "60",
    "CRIMETILES_CORS_ORIGINS": "https://a.example,https://b.example",
    "CRIMETILES_PUBLIC_URL": "https://example.org/maps/crime",
    "CRIMETILES_FRAME_ANCESTORS": "https://news.example",
    "CRIMETILES_BASEMAP_URL": "https://tiles.example/{z}/{x}/{y}.png",
    "CRIMETILES_RELOAD_INTERVAL": "0",
}


def _assert_served_with(config: ServerConfig, allowed_origin: str) -> None:
    """What each setting changes in the app's answers (host and port: where it listens)."""
    app = create_app(config)
    assert live_build(app).service.cache.maxsize == config.cache_bytes
    assert tile_answers(app).ready.budget == config.ready_tile_bytes
    client = app.test_client()
    tilejson = client.get("/tiles/tracts.json", headers={"Origin": allowed_origin})
    assert tilejson.headers["Cache-Control"] == f"public, max-age={config.max_age}"
    assert tilejson.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert tilejson.get_json()["tiles"] == [f"{config.public_url}/tiles/tracts/{{z}}/{{x}}/{{y}}.mvt"]
    refused = client.get("/tiles/tracts.json", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert client.get("/embed").headers["Content-Security-Policy"].endswith(f"frame-ancestors {config.frame_ancestors}")
    page = client.get("/")
    assert f'data-basemap="{config.basemap_url}"' in page.get_data(as_text=True)
    assert f'data-public-url="{config.public_url}"' in page.get_data(as_text=True)


def test_every_setting_from_its_environment_variable(durham_build: Path):
    config = ServerConfig.from_env({**ENVIRONMENT, "CRIMETILES_BUILD_DIR": str(durham_build)})
    assert config == ServerConfig(
        build_dir=durham_build,
        host="0.0.0.0",
        port=9000,
        cache_bytes=1_000_000,
        ready_tile_bytes=300_000,
        max_age=60,
        cors_origins="https://a.example,https://b.example",
        public_url="https://example.org/maps/crime",
        frame_ancestors="https://news.example",
        basemap_url="https://tiles.example/{z}/{x}/{y}.png",
        reload_interval=0.0,
    )
    _assert_served_with(config, "https://b.example")


def test_every_serve_flag_wins_over_its_environment_variable(durham_build: Path):
    flags = [
        str(durham_build),
        "--host", "127.0.0.2",
        "--port", "9001",
        "--cache-bytes", "2000000",
        "--ready-tile-bytes", "0",
        "--max-age", "120",
        "--cors-origins", "https://c.example",
        "--public-url", "https://maps.example.org",
        "--frame-ancestors", "https://d.example https://e.example",
        "--basemap-url", "https://basemap.example/style.json",
        "--reload-interval", "0",
    ]  # fmt: skip
    options = serve.make_context("serve", flags).params
    config = ServerConfig.from_env({**ENVIRONMENT, "CRIMETILES_RELOAD_INTERVAL": "5"}, **options)
    assert config == ServerConfig(
        build_dir=durham_build,
        host="127.0.0.2",
        port=9001,
        cache_bytes=2_000_000,
        ready_tile_bytes=0,
        max_age=120,
        cors_origins="https://c.example",
        public_url="https://maps.example.org",
        frame_ancestors="https://d.example https://e.example",
        basemap_url="https://basemap.example/style.json",
        reload_interval=0.0,
    )
    _assert_served_with(config, "https://c.example")
