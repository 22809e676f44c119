"""WMTS: the capabilities document describes every tileset and year as a layer of PNG tiles in
GoogleMapsCompatible, and OWSLib parses it (QGIS draws it: tests/e2e/test_qgis.py)."""

from __future__ import annotations

import pytest
from owslib.wmts import WebMapTileService

CAPABILITIES = "/wmts/1.0.0/WMTSCapabilities.xml"
YEARS = (2012, 2013, 2014, 2015, 2016)
TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")


def test_owslib_reads_every_tileset_and_year_as_a_layer(client):
    response = client.get(CAPABILITIES, base_url="http://maps.test")
    assert response.status_code == 200 and response.content_type == "application/xml"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    wmts = WebMapTileService(f"http://maps.test{CAPABILITIES}", xml=response.data)
    assert wmts.identification.type == "OGC WMTS" and wmts.identification.version == "1.0.0"
    assert list(wmts.contents) == [name if year is None else f"{name}-{year}" for name in TILESETS for year in (None, *YEARS)]
    layer = wmts.contents["tracts-2014"]
    assert layer.title == "Census tracts: violent crimes per sq mi (2014)"
    assert layer.formats == ["image/png"]
    assert layer.resourceURLs == [
        {
            "format": "image/png",
            "resourceType": "tile",
            "template": "http://maps.test/tiles/tracts/{TileMatrix}/{TileCol}/{TileRow}.png?year=2014",
        }
    ]
    assert wmts.contents["tracts"].resourceURLs[0]["template"].endswith("/tiles/tracts/{TileMatrix}/{TileCol}/{TileRow}.png")
    assert list(layer.tilematrixsetlinks) == ["GoogleMapsCompatible"]
    matrices = wmts.tilematrixsets["GoogleMapsCompatible"]
    assert matrices.crs == "urn:ogc:def:crs:EPSG::3857"
    assert list(matrices.tilematrix) == [str(zoom) for zoom in range(23)]
    z12 = matrices.tilematrix["12"]
    assert (z12.matrixwidth, z12.tilewidth, z12.topleftcorner) == (4096, 256, (-20037508.3427892, 20037508.3427892))
    assert z12.scaledenominator == pytest.approx(136494.69, abs=0.01)


def test_the_tile_urls_the_capabilities_give_are_the_png_tiles(client):
    wmts = WebMapTileService(f"http://maps.test{CAPABILITIES}", xml=client.get(CAPABILITIES, base_url="http://maps.test").data)
    template = wmts.contents["blockgroups-2016"].resourceURLs[0]["template"]
    url = template.format(TileMatrix=12, TileCol=1150, TileRow=1608).removeprefix("http://maps.test")
    response = client.get(url)
    assert response.status_code == 200 and response.content_type == "image/png"
    assert response.headers["ETag"].endswith('-blockgroups-12-1150-1608-2016.png"')
