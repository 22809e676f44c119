"""Other tools read our archives and tiles correctly: GDAL (Debian's python3-gdal, the library
QGIS's vector layers build on) with its MBTiles and MVT drivers, and the MBTiles `json` metadata
(field types, tilestats) checked against the GeoParquet layers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.wkt

from tests.system_python import run_json, system_python_with

READ_WITH_OGR = """
import json, sys
from osgeo import gdal, ogr
gdal.UseExceptions()
path, layer_name, zoom = sys.argv[1:4]
options = [f"ZOOM_LEVEL={zoom}"] if zoom else []
dataset = gdal.OpenEx(path, gdal.OF_VECTOR, open_options=options)
layer = dataset.GetLayerByName(layer_name)
definition = layer.GetLayerDefn()
fields = [definition.GetFieldDefn(i) for i in range(definition.GetFieldCount())]
print(json.dumps({
    "driver": dataset.GetDriver().ShortName,
    "types": {field.GetName(): field.GetTypeName() for field in fields},
    "features": [
        {"properties": {field.GetName(): feature.GetField(field.GetName()) for field in fields},
         "wkt": feature.GetGeometryRef().ExportToWkt()}
        for feature in layer
    ],
}))
"""
NUMBER_COLUMNS = ("area_sqmi", "violent_count", "violent_per_sqmi", "violent_count_2014", "violent_per_sqmi_2014")


@pytest.fixture(scope="module")
def gdal_python() -> str:
    return system_python_with("osgeo.ogr", "python3-gdal")


def read_with_ogr(python: str, path: Path, layer: str, zoom: int | None = None) -> dict:
    return run_json([python, "-c", READ_WITH_OGR, str(path), layer, "" if zoom is None else str(zoom)])


def archive_metadata(build: Path, tileset: str) -> dict[str, str]:
    with sqlite3.connect(build / "tiles" / f"{tileset}.mbtiles") as db:
        return dict(db.execute("SELECT name, value FROM metadata").fetchall())


def tracts(build: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(build / "layers" / "tracts.parquet")


def test_gdal_reads_densities_as_reals_and_ids_as_strings_from_the_archive(gdal_python, durham_build):
    seen = read_with_ogr(gdal_python, durham_build / "tiles" / "tracts.mbtiles", "tracts", zoom=12)
    assert seen["driver"] == "MBTiles"
    types = seen["types"]
    assert types["id"] == types["name"] == "String"
    for column in ("area_sqmi", "violent_per_sqmi", "violent_per_sqmi_2012", "violent_per_sqmi_2016"):
        assert types[column] == "Real", column
    # The spec's one numeric type, `Number`: GDAL 3.6 reads it as Real; later GDALs read the
    # tilestats' integer min/max as Integer. Either way the counts are numbers, never strings.
    for column in ("violent_count", "violent_count_2014"):
        assert types[column] in ("Integer", "Integer64", "Real"), column
    assert types["violent_per_sqmi_low"] == types["violent_per_sqmi_high_2014"] == "Real"
    assert types["unstable"] == types["suppressed_2014"] == "Integer"  # `Boolean`: GDAL's integer of subtype boolean
    expected = tracts(durham_build).set_index("id")
    read = {feature["properties"]["id"]: feature["properties"] for feature in seen["features"]}
    assert set(read) == set(expected.index)
    for tract_id, properties in read.items():
        for column in NUMBER_COLUMNS:
            assert properties[column] == expected.at[tract_id, column], (tract_id, column)
            assert isinstance(properties[column], int | float), (tract_id, column)
        assert properties["unstable_2014"] == int(expected.at[tract_id, "unstable_2014"]), tract_id


def test_gdal_decodes_a_served_tile_with_typed_fields_and_the_right_polygon(gdal_python, durham_build, client, tmp_path):
    frame = tracts(durham_build)
    feature = frame.loc[frame["area_sqmi"].idxmax()]
    point = feature.geometry.representative_point()
    tile = mercantile.tile(point.x, point.y, 13)
    response = client.get(f"/tiles/tracts/{tile.z}/{tile.x}/{tile.y}.mvt")
    assert response.status_code == 200
    path = tmp_path / str(tile.z) / str(tile.x) / f"{tile.y}.mvt"  # GDAL's MVT driver georeferences z/x/y paths
    path.parent.mkdir(parents=True)
    path.write_bytes(response.data)
    seen = read_with_ogr(gdal_python, path, "tracts")
    assert seen["driver"] == "MVT"
    assert seen["types"]["violent_count"] == seen["types"]["violent_count_2014"] == "Integer"
    assert seen["types"]["violent_per_sqmi"] == seen["types"]["area_sqmi"] == "Real"
    assert seen["types"]["name"] == "String"
    (decoded,) = [f for f in seen["features"] if f["properties"]["id"] == feature["id"]]
    for column in NUMBER_COLUMNS:
        assert decoded["properties"][column] == feature[column], column
    x, y = mercantile.xy(point.x, point.y)
    assert shapely.wkt.loads(decoded["wkt"]).contains(shapely.Point(x, y))


def test_archive_metadata_holds_spec_field_types_and_its_own_zooms(durham_build):
    metadata = archive_metadata(durham_build, "tracts")
    assert (metadata["minzoom"], metadata["maxzoom"]) == ("0", "12")  # the fixture archives zooms 0-12
    (layer,) = json.loads(metadata["json"])["vector_layers"]
    assert (layer["id"], layer["minzoom"], layer["maxzoom"]) == ("tracts", 0, 12)
    assert set(layer["fields"].values()) == {"String", "Number", "Boolean"}
    assert layer["fields"]["id"] == layer["fields"]["name"] == "String"
    assert layer["fields"]["violent_per_sqmi"] == layer["fields"]["violent_count_2016"] == "Number"
    assert layer["fields"]["violent_per_sqmi_low"] == layer["fields"]["violent_per_sqmi_high_2016"] == "Number"
    assert layer["fields"]["unstable"] == layer["fields"]["suppressed_2016"] == "Boolean"
    assert list(layer["fields"]) == [c for c in tracts(durham_build).columns if c != "geometry"]


def expected_attribute(values: np.ndarray) -> dict:
    """mapbox-geostats' attribute summary, computed here with numpy from the GeoParquet values:
    up to 1000 distinct values counted and 100 listed, as tippecanoe writes it."""
    values = values[~pd.isna(values)]  # withheld counts and densities are left out
    distinct = np.unique(values)
    kind = "boolean" if values.dtype == bool else "number" if np.issubdtype(values.dtype, np.number) else "string"
    return {
        "count": min(len(distinct), 1000),
        "type": kind,
        "values": distinct[:100].tolist(),
        **({"min": values.min().item(), "max": values.max().item()} if kind == "number" else {}),
    }


@pytest.mark.parametrize("tileset, layers", [("tracts", ["tracts"]), ("hex", ["hex6", "hex7", "hex8"])])
def test_tilestats_summarise_every_attribute_of_the_archived_layers(durham_build, tileset, layers):
    """The hex archive (zooms 0-12) draws hex6 to hex8; hex9 starts at zoom 14."""
    stats = json.loads(archive_metadata(durham_build, tileset)["json"])["tilestats"]
    frames = [gpd.read_parquet(durham_build / "layers" / f"{layer}.parquet") for layer in layers]
    columns = [c for c in frames[0].columns if c != "geometry"]
    assert stats["layerCount"] == 1
    (layer,) = stats["layers"]
    assert (layer["layer"], layer["geometry"]) == (tileset, "Polygon")
    assert layer["count"] == sum(len(frame) for frame in frames)
    assert layer["attributeCount"] == len(columns)
    assert [a["attribute"] for a in layer["attributes"]] == columns
    for attribute in layer["attributes"]:
        column = pd.concat([frame[attribute["attribute"]] for frame in frames], ignore_index=True)
        values = column.dropna().astype(np.int64).to_numpy() if column.dtype == "Int64" else column.to_numpy()
        if values.dtype == object:  # pandas strings
            values = values.astype(str)
        assert {k: v for k, v in attribute.items() if k != "attribute"} == expected_attribute(values), attribute["attribute"]
    by_name = {a["attribute"]: a for a in layer["attributes"]}
    assert isinstance(by_name["violent_count"]["max"], int)  # JSON 1234, not 1234.0: readers tell counts apart
    assert isinstance(by_name["violent_per_sqmi"]["min"], float)
