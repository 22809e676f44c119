"""Tile requests and their answers as a client sees them, written so that they can be recorded
once and compared later: the build's id, the tile's bytes and their lengths replaced by names
(`{build_id}`, `{gzip tile}`, `{gzip length}`...), so that the record holds for any Durham build."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from crimetiles.artifact.errors import CrimetilesError
from crimetiles.server.params import TileRequest
from crimetiles.server.tiles import TileService

ORIGINS = "https://a.example,https://b.example"
CORS_SETTINGS = ("*", ORIGINS)
TILE_PATHS = (
    "/tiles/tracts/12/1150/1608.mvt",
    "/tiles/tracts/12/0/0.pbf",
    "/tiles/blockgroups/10/287/402.pbf",
    "/tiles/tracts/13/2300/3216.mvt",
    "/tiles/tracts/15/0/0.mvt",
)
"""An archive tile, an empty archive tile, another tileset's archive tile, an on-demand tile, an
empty on-demand tile."""
ENCODINGS = (None, "gzip", "gzip;q=0", "br, gzip;q=0.5, identity;q=0.6", "*")
REQUEST_ORIGINS = (None, "https://a.example", "https://c.example")
CONDITIONS = (None, "{etag}", "W/{etag}", '"other", {etag}', "*", '"other"')
"""If-None-Match values; `{etag}` is the tile's ETag as its unconditional answer gives it."""
REFUSALS = (
    ("POST", "/tiles/tracts/12/1150/1608.mvt", {}),
    ("DELETE", "/tiles/tracts/12/1150/1608.mvt", {}),
    ("PUT", "/tiles/tracts/13/2300/3216.mvt", {"Origin": "https://a.example"}),
    ("GET", "/tiles/tracts/12/1150/1608.mvt", {"If-Match": '"x"'}),
    ("GET", "/tiles/tracts/12/1150/1608.mvt", {"If-Match": "*"}),
    ("GET", "/tiles/tracts/13/2300/3216.mvt", {"If-Match": '"x"', "Accept-Encoding": "gzip"}),
    ("GET", "/tiles/counties/12/1150/1608.mvt", {}),
    ("HEAD", "/tiles/counties/12/1150/1608.mvt", {"Origin": "https://b.example"}),
    ("GET", "/tiles/tracts.json/12/1150/1608.mvt", {}),
    ("GET", "/tiles/tracts/23/0/0.mvt", {}),
    ("GET", "/tiles/tracts/12/1150/4096.mvt", {"Origin": "https://a.example"}),
    ("GET", "/tiles/tracts/13/2300/3216.mvt", {"Accept-Encoding": "identity;q=0"}),
    ("GET", "/tiles/tracts/12/1150/1608.mvt", {"Accept-Encoding": "br, identity;q=0"}),
    ("GET", "/tiles/tracts/12/0/0.mvt", {"Accept-Encoding": "identity;q=0"}),
    ("GET", "/tiles/tracts/02/1/1.mvt", {}),
    ("GET", "/tiles/tracts/10/287/402.MVT", {}),
    ("GET", "/tiles/tracts/1e1/287/402.mvt", {}),
    ("GET", "/tiles/tracts/²/0/0.mvt", {}),
    ("GET", "/tiles/tracts/" + "9" * 50 + "/0/0.mvt", {}),
    ("GET", "/tiles/nope/" + "9" * 50 + "/0/0.mvt", {}),
    ("GET", "/tiles/nope/1/0/0.jpg", {}),
    ("OPTIONS", "/tiles/tracts/12/1150/1608.mvt", {}),
    (
        "OPTIONS",
        "/tiles/nope/12/1150/1608.mvt",
        {
            "Origin": "https://a.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    ),
)
"""Requests answered with an error, a precondition failure or an `OPTIONS` answer."""


@dataclass(frozen=True)
class Exchange:
    """A request, to an app allowing `cors_origins`."""

    cors_origins: str
    method: str
    path: str
    headers: dict[str, str]


def tile_exchanges(etags: dict[tuple[str, str | None], str]) -> Iterator[Exchange]:
    """1,800 tile requests: every path, Accept-Encoding, Origin and method, unconditional and with
    each If-None-Match; `etags`: each (path, Accept-Encoding)'s ETag, which the conditional
    requests send back."""
    for cors, path, encoding, origin, method, condition in itertools.product(
        CORS_SETTINGS, TILE_PATHS, ENCODINGS, REQUEST_ORIGINS, ("GET", "HEAD"), CONDITIONS
    ):
        headers = {name: value for name, value in (("Accept-Encoding", encoding), ("Origin", origin)) if value}
        if condition is not None:
            headers["If-None-Match"] = condition.replace("{etag}", etags[(path, encoding)])
        yield Exchange(cors, method, path, headers)


def refusal_exchanges() -> Iterator[Exchange]:
    for cors in CORS_SETTINGS:
        for method, path, headers in REFUSALS:
            yield Exchange(cors, method, path, dict(headers))


def written_out(service: TileService, path: str, status: str, headers: list[tuple[str, str]], body: bytes) -> list:
    """[status, headers, body] of an answer to `path`, with the build's id, the tile's bytes and
    their lengths named; `Allow`'s methods sorted (werkzeug lists them in no set order)."""
    data = _tile_data(service, path)
    named = {data: "{gzip tile}", gzip.decompress(data): "{identity tile}"} if data else {}
    lengths = {str(len(body)): name.replace("tile", "length") for body, name in named.items()}
    written = []
    for name, value in headers:
        if name == "Content-Length" and value in lengths:
            value = lengths[value]
        elif name == "Allow":
            value = ", ".join(sorted(part.strip() for part in value.split(",")))
        written.append([name, value.replace(service.build_id, "{build_id}")])
    return [status, written, named[body] if body in named else body.decode("utf-8")]


def _tile_data(service: TileService, path: str) -> bytes | None:
    """The tile's compressed bytes, None if `path` is refused (no tile bytes to name)."""
    try:
        wanted = TileRequest.parse(*path.split("/")[2:])
        return service.tile(wanted.tileset, wanted.z, wanted.x, wanted.y)
    except CrimetilesError:
        return None
