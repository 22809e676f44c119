"""HTTP details that clients and shared caches rely on: Allow on 405, Accept-Encoding q-values,
ASCII-only numbers, Vary on the headers a body depends on, a 204 without a body type, and the
domain errors mapped to statuses in one table."""

from __future__ import annotations

import gzip
import re

import mapbox_vector_tile
import mercantile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crimetiles.artifact.errors import BuildError, CrimetilesError
from crimetiles.server import errors as server_errors
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from crimetiles.server.errors import ERROR_STATUS
from crimetiles.server.params import TileRequest, parse_year
from tests.server.sample_routes import sample_urls

DOWNTOWN = (13, 2300, 3216)
"""A tracts tile of downtown Durham above the archive (z0-12): encoded on demand."""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_405_on_every_route_says_which_methods_are_allowed(app, client, method):
    urls = sample_urls(app)
    assert len(urls) >= 12
    for endpoint, url in urls.items():
        response = client.open(url, method=method)
        assert response.status_code == 405, (endpoint, url)
        assert response.get_json() == {"error": "The method is not allowed for the requested URL.", "status": 405}
        assert sorted(part.strip() for part in response.headers["Allow"].split(",")) == ["GET", "HEAD", "OPTIONS"], url


def test_every_route_answers_get_head_and_options(app, client):
    for endpoint, url in sample_urls(app).items():
        assert client.get(url).status_code == 200, (endpoint, url)
        head = client.head(url)
        assert head.status_code == 200 and head.data == b"", (endpoint, url)
        options = client.options(url)
        assert options.status_code == 200, (endpoint, url)
        assert sorted(part.strip() for part in options.headers["Allow"].split(",")) == ["GET", "HEAD", "OPTIONS"]


def _tile_url(tileset: str = "tracts", tile: tuple[int, int, int] = DOWNTOWN) -> str:
    z, x, y = tile
    return f"/tiles/{tileset}/{z}/{x}/{y}.mvt"


def _is_gzip(body: bytes) -> bool:
    return body[:2] == b"\x1f\x8b"


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("gzip;q=1.0", True),
        ("GZIP;q=0.5", True),
        ("deflate, gzip;q=0.8, br", True),
        ("*", True),
        ("gzip;q=0.5, identity;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("gzip;q=0.000", False),
        ("*;q=0.1, identity", False),
        ("gzip;q=0.4, identity;q=0.6", False),
        ("*, gzip;q=0", False),
        ("deflate, br", False),
        ("identity", False),
        ("", False),
        (None, False),
    ],
)
def test_gzip_follows_the_accept_encoding_qvalues(client, accept_encoding, gzipped):
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    response = client.get(_tile_url(), headers=headers)
    assert response.status_code == 200
    assert _is_gzip(response.data) is gzipped
    assert response.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
    body = gzip.decompress(response.data) if gzipped else response.data
    assert len(mapbox_vector_tile.decode(body)["tracts"]["features"]) > 0
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["ETag"].endswith('-gz"') is gzipped


@pytest.mark.parametrize("accept_encoding", ["identity;q=0", "*;q=0", "gzip;q=0, identity;q=0", "br, identity;q=0"])
def test_no_acceptable_encoding_is_406(client, accept_encoding):
    response = client.get(_tile_url(), headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 406
    assert response.get_json() == {
        "error": f"no acceptable content coding in Accept-Encoding {accept_encoding!r}: "
        "this tile is available as gzip or identity",
        "status": 406,
    }
    assert response.headers["Vary"] == "Accept-Encoding"


def test_an_empty_tile_is_204_whatever_the_encoding(client):
    for accept_encoding in ("gzip", "identity", "identity;q=0"):
        response = client.get("/tiles/tracts/10/0/0.mvt", headers={"Accept-Encoding": accept_encoding})
        assert response.status_code == 204 and response.data == b""


def test_the_two_representations_have_different_etags_and_304_each(client):
    gzipped = client.get(_tile_url(), headers={"Accept-Encoding": "gzip"})
    plain = client.get(_tile_url(), headers={"Accept-Encoding": "gzip;q=0"})
    assert gzipped.headers["ETag"] != plain.headers["ETag"]
    for response, accept in ((gzipped, "gzip"), (plain, "gzip;q=0")):
        again = client.get(_tile_url(), headers={"Accept-Encoding": accept, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    crossed = client.get(_tile_url(), headers={"Accept-Encoding": "gzip;q=0", "If-None-Match": gzipped.headers["ETag"]})
    assert crossed.status_code == 200 and not _is_gzip(crossed.data)


def test_an_empty_tile_has_no_content_type(client):
    response = client.get("/tiles/tracts/10/0/0.mvt")
    assert response.status_code == 204
    assert "Content-Type" not in response.headers
    assert response.headers["Cache-Control"] == "public, max-age=3600"


UNICODE_DIGITS = ["²", "١٢", "１２", "٣", "𝟙", "①", "⁰", "߁"]
"""Superscripts, Arabic-Indic, fullwidth, mathematical and circled digits, NKo: `str.isdigit`
accepts most of them and `int()` some of them."""


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
@pytest.mark.parametrize("part", ["z", "x", "y"])
def test_unicode_digits_in_a_tile_path_are_400(client, digits, part):
    coordinates = {"z": "2", "x": "1", "y": "1"} | {part: digits}
    response = client.get(f"/tiles/tracts/{coordinates['z']}/{coordinates['x']}/{coordinates['y']}.mvt")
    assert response.status_code == 400, response.data
    assert response.get_json() == {
        "error": f"{part} must be a non-negative integer in ASCII digits, no leading zero, got {digits!r}",
        "status": 400,
    }


@pytest.mark.parametrize("year", [*UNICODE_DIGITS, "٢٠١٤", "２０１４", "2014 ", " 2014", "+2014", "2_014", "2014.0", "1999"])
def test_unicode_or_unknown_years_in_a_download_are_400(client, year):
    response = client.get("/downloads/tracts.csv", query_string={"year": year})
    assert response.status_code == 400, response.data
    assert response.get_json() == {
        "error": f"year {year!r} is not in this build (years: 2012, 2013, 2014, 2015, 2016, or all)",
        "status": 400,
    }


def test_ascii_year_downloads_that_year(client):
    response = client.get("/downloads/tracts.csv", query_string={"year": "2014"})
    assert response.status_code == 200
    rows = response.data.decode().splitlines()[1:]
    assert rows and {row.split(",")[3] for row in rows} == {"2014"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/tracts/" + "9" * 5000 + "/0/0.mvt", 404),
        ("/tiles/tracts/0/" + "1" * 5000 + "/0.mvt", 404),
        ("/tiles/tracts/02/1/1.mvt", 400),
        ("/tiles/tracts/2/01/1.mvt", 400),
        ("/tiles/tracts/10/287/402.MVT", 400),
        ("/tiles/tracts/10/287/402.mvt.gz", 400),
        ("/tiles/tracts/10/287/.mvt", 400),
        ("/tiles/tracts/1e1/287/402.mvt", 400),
        ("/tiles/tracts/+1/0/0.mvt", 400),
        ("/tiles/tracts/ 1/0/0.mvt", 400),
    ],
)
def test_odd_numbers_in_tile_paths_are_4xx(client, path, status):
    response = client.get(path)
    assert response.status_code == status, response.data
    assert response.is_json


def test_a_5000_digit_year_is_400(client):
    assert client.get("/downloads/tracts.csv", query_string={"year": "2" * 5000}).status_code == 400


def test_tile_request_parses_ascii_coordinates():
    assert TileRequest.parse("tracts", "13", "2300", "3216.pbf") == TileRequest("tracts", 13, 2300, 3216, "pbf")
    assert TileRequest.parse("hex", "0", "0", "0.mvt") == TileRequest("hex", 0, 0, 0, "mvt")


def test_parse_year_takes_ascii_digits_all_or_nothing():
    years = (2012, 2013)
    assert parse_year(None, years) is None
    assert parse_year("", years) is None
    assert parse_year("all", years) == "all"
    assert parse_year("2013", years) == 2013
    for text in ("٢٠١٣", "2013\n", "02013", "2014", "ALL"):
        with pytest.raises(CrimetilesError, match="is not in this build"):
            parse_year(text, years)


FORWARDED = {
    "Host": ("a.example", "b.example"),
    "X-Forwarded-Host": ("a.example", "b.example"),
    "X-Forwarded-Proto": ("http", "https"),
    "X-Forwarded-Port": ("8080", "8443"),
    "X-Forwarded-Prefix": ("/a", "/b"),
}
VOLATILE_ENDPOINTS = {"api.metrics"}
"""Bodies that change between two identical requests (counters): no header can be judged on them."""


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}


def _body_depends_on(client, url: str, header: str) -> tuple[bool, set[str]]:
    first, second = (client.get(url, headers={header: value}) for value in FORWARDED[header])
    assert first.status_code == second.status_code == 200, url
    return first.data != second.data, _vary(first) & _vary(second)


def test_every_body_that_depends_on_a_forwarded_header_varies_on_it(app, client):
    depends = {}
    for endpoint, url in sample_urls(app).items():
        if endpoint in VOLATILE_ENDPOINTS:
            continue
        assert client.get(url).data == client.get(url).data, f"{url} changes between two requests: list it as volatile"
        for header in FORWARDED:
            differs, vary = _body_depends_on(client, url, header)
            if differs:
                depends.setdefault(endpoint, set()).add(header)
                assert header.lower() in vary, f"{url} depends on {header} but varies on {sorted(vary)}"
    assert {
        "api.openapi",
        "pages.qgis_layer_definition",
        "api.tileset_catalog",
        "api.tileset_tilejson",
        "api.map_style",
        "api.wmts_capabilities",
    } <= set(depends)
    assert depends["pages.qgis_layer_definition"] == set(FORWARDED)


def test_with_a_public_url_bodies_do_not_vary_on_forwarded_headers(durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, public_url="https://maps.example.org/crime"))
    client = app.test_client()
    for url in ("/openapi.json", "/qgis/tracts.qlr", "/tiles/tracts.json", "/wmts/1.0.0/WMTSCapabilities.xml"):
        for header in FORWARDED:
            differs, vary = _body_depends_on(client, url, header)
            assert not differs and header.lower() not in vary, (url, header)
        assert b"https://maps.example.org/crime" in client.get(url).data


def test_domain_errors_carry_no_http_status():
    domain_errors = [
        value
        for value in vars(server_errors).values()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == server_errors.__name__
    ]
    assert len(domain_errors) >= 5
    for error in [*domain_errors, BuildError]:
        assert issubclass(error, CrimetilesError)
        assert not {"status", "code", "status_code"} & set(dir(error)), error
    assert set(domain_errors) <= set(ERROR_STATUS)
    assert BuildError not in ERROR_STATUS  # a build that fails while serving is our fault: 500


def test_tiles_core_imports_no_http():
    from crimetiles.server import tiles

    source = open(tiles.__file__, encoding="utf-8").read()
    imports = re.findall(r"^(?:from|import) (\S+)", source, flags=re.MULTILINE)
    assert not [name for name in imports if name.split(".")[0] in ("flask", "werkzeug") or "server.app" in name]


@settings(max_examples=200, deadline=None)
@given(
    tileset=st.sampled_from(["tracts", "hex", "nope"]),
    parts=st.lists(
        st.text(
            alphabet=st.one_of(st.sampled_from("0123456789"), st.characters(categories=("Nd", "No", "Nl"))),
            min_size=1,
            max_size=4,
        ),
        min_size=3,
        max_size=3,
    ),
    extension=st.sampled_from(["mvt", "pbf", "png", ""]),
)
def test_no_tile_coordinates_give_a_500(app, tileset, parts, extension):
    z, x, y = parts
    response = app.test_client().get(f"/tiles/{tileset}/{z}/{x}/{y}.{extension}")
    assert response.status_code in (200, 204, 400, 404), response.data


@settings(max_examples=150, deadline=None)
@given(
    year=st.text(
        alphabet=st.one_of(st.sampled_from("0123456789al"), st.characters(categories=("Nd", "No", "Nl", "Zs"))), max_size=6
    )
)
def test_no_year_gives_a_500(app, year):
    response = app.test_client().get("/downloads/tracts.csv", query_string={"year": year})
    assert response.status_code in (200, 400), response.data


def test_an_empty_tile_outside_the_tileset_bounds_is_never_encoded_nor_cached(durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0))
    service = live_build(app).service
    client = app.test_client()
    west, south, east, north = service.manifest.layers["tracts"].bounds
    far = mercantile.tile(west - 1, north + 1, 22)
    response = client.get(f"/tiles/tracts/22/{far.x}/{far.y}.mvt")
    assert response.status_code == 204
    assert "Content-Type" not in response.headers
    assert service.stats.encodes == 0 and service.cache.currsize == 0 and len(service.cache) == 0
    assert service.stats.outside_bounds == 1
    assert "\ncrimetiles_tile_outside_bounds_total 1.0\n" in client.get("/metrics").text
    inside = mercantile.tile((west + east) / 2, (south + north) / 2, 22)
    assert client.get(f"/tiles/tracts/22/{inside.x}/{inside.y}.mvt").status_code in (200, 204)
    assert service.stats.encodes == 1 and len(service.cache) == 1


def test_openapi_lists_every_status_a_tile_can_get(client):
    tile = client.get("/openapi.json").get_json()["paths"]["/tiles/{tileset}/{z}/{x}/{y}.mvt"]["get"]
    assert set(tile["responses"]) == {"200", "204", "304", "400", "404", "406"}
    gzip_only = client.get(_tile_url(), headers={"Accept-Encoding": "gzip, identity;q=0"})
    refused = client.get(_tile_url(), headers={"Accept-Encoding": "identity;q=0"})
    assert (gzip_only.status_code, refused.status_code) == (200, 406)
