"""Documents made per request (pages, TileJSON, styles, the catalog, WMTS capabilities, QGIS layer
files, OpenAPI) are sent brotli- or gzip-compressed as the request accepts, with `Vary:
Accept-Encoding` and an ETag per encoding (README, "Endpoints")."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

README = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").split())
DOCUMENTS = [
    "/tiles/tracts.json",
    "/styles/hex.json",
    "/tiles",
    "/wmts/1.0.0/WMTSCapabilities.xml",
    "/openapi.json",
    "/qgis/tracts.qlr",
    "/",
    "/embed?layer=tracts",
]
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize(("accept", "coding"), [("gzip, br", "br"), ("br;q=0.5, gzip", "gzip"), ("identity", None), (None, None)])
def test_a_document_is_sent_in_the_coding_the_request_accepts_best(client, path, accept, coding):
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    answer = client.get(path, headers={"Accept-Encoding": accept} if accept else {})
    assert answer.status_code == plain.status_code == 200
    assert answer.headers.get("Content-Encoding") == coding and "Accept-Encoding" in answer.vary
    assert (DECODE[coding](answer.data) if coding else answer.data) == plain.data
    assert answer.mimetype == plain.mimetype


@pytest.mark.parametrize("path", ["/tiles/tracts.json", "/styles/hex.json", "/wmts/1.0.0/WMTSCapabilities.xml"])
def test_each_encoding_has_its_own_etag_and_revalidates(client, path):
    etags = {
        coding: client.get(path, headers={"Accept-Encoding": coding}).headers["ETag"] for coding in ("br", "gzip", "identity")
    }
    assert len(set(etags.values())) == 3 and etags["br"].endswith('-br"') and etags["gzip"].endswith('-gzip"')
    again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": etags["br"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etags["br"]}).status_code == 200


def test_the_wmts_capabilities_travel_as_the_readme_says(client):
    """README: "a 28 kB WMTS capabilities document travels as 2 kB"."""
    stated = re.search(r"a (\d+) kB WMTS capabilities document travels as (\d+) kB", README).groups()
    plain = client.get("/wmts/1.0.0/WMTSCapabilities.xml", headers={"Accept-Encoding": "identity"}).data
    packed = client.get("/wmts/1.0.0/WMTSCapabilities.xml", headers={"Accept-Encoding": "br"}).data
    assert (round(len(plain) / 1000), round(len(packed) / 1000)) == tuple(map(int, stated))


def test_small_answers_and_the_downloads_are_sent_as_they_are(client):
    """Under 1 kB the saving is a few hundred bytes; a download is streamed as it is written."""
    for path in ("/healthz", "/tiles/hex/raster.json?year=2014"):
        small = client.get(path, headers={"Accept-Encoding": "br"})
        assert "Content-Encoding" not in small.headers and len(small.data) < 1024, path
    download = client.get("/downloads/tracts.csv", headers={"Accept-Encoding": "br"})
    assert download.status_code == 200 and "Content-Encoding" not in download.headers


@pytest.mark.parametrize("path", ["/tiles/tracts.json", "/wmts/1.0.0/WMTSCapabilities.xml"])
def test_a_revalidation_answered_304_compresses_nothing(client, monkeypatch, path):
    """The coding is chosen before the conditional check, the body compressed only when sent."""
    import crimetiles.server.documents as documents

    compressed: list[str] = []
    compress = documents.compress
    monkeypatch.setattr(documents, "compress", lambda body, coding: compressed.append(coding) or compress(body, coding))
    etag = client.get(path, headers={"Accept-Encoding": "br"}).headers["ETag"]
    assert compressed == ["br"]
    assert client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": etag}).status_code == 304
    assert client.head(path, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert compressed == ["br", "gzip"]
