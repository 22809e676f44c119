"""Do two encoders serve the same tile? Decoded feature sets and property values, not bytes.

Encoders differ in geometry by design (clipping, snapping, validity repair), so a tile is compared
as the multiset of its features, each identified by its layer and all its property values. A
feature that only one side has is tolerated when it covers less than one pixel of a 512-pixel tile
inside the tile square (a sliver in the buffer, or a polygon smaller than a pixel at low zoom):
those are counted and reported, never hidden. Any other difference is a mismatch.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import mercantile
import shapely
import shapely.geometry

TILE_EXTENT = 4096
SUBPIXEL_AREA = (TILE_EXTENT / 512) ** 2
"""Square tile units of one pixel of a tile drawn 512 pixels wide (64 at extent 4096)."""

FeatureKey = tuple[str, tuple[tuple[str, Any], ...]]
"""A feature's layer name and its sorted (property, value) pairs; numbers as floats (encoders
choose integer or double types differently, the value is what counts)."""


@dataclass(frozen=True)
class ContentCheck:
    """How a contender's tiles compare with the reference tiles."""

    contender: str
    tiles_compared: int
    tiles_identical: int
    """Tiles with exactly the same multiset of features."""
    subpixel_differences: int
    """Features only one side has, each under one pixel inside its tile (tolerated)."""
    mismatches: tuple[str, ...]
    """One line per tile whose features differ beyond that, with the feature ids."""

    @property
    def passed(self) -> bool:
        return not self.mismatches


def decode_features(blob: bytes | None) -> dict[FeatureKey, list[shapely.Geometry]]:
    """Features of an MVT tile (raw or gzip-compressed; None or b'' for an empty tile), keyed by
    layer and properties, with their geometries in tile units (y down)."""
    if not blob:
        return {}
    raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    decoded = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
    features: dict[FeatureKey, list[shapely.Geometry]] = {}
    for layer_name, layer in decoded.items():
        for feature in layer["features"]:
            key = (layer_name, tuple(sorted((name, _comparable(value)) for name, value in feature["properties"].items())))
            features.setdefault(key, []).append(shapely.geometry.shape(feature["geometry"]))
    return features


def _comparable(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def compare_tiles(
    contender: str, reference: Mapping[mercantile.Tile, bytes | None], candidate: Mapping[mercantile.Tile, bytes | None]
) -> ContentCheck:
    """Compare the tiles of `candidate` with those of `reference`, over the union of their tiles."""
    identical = subpixel = 0
    mismatches = []
    for tile in sorted(set(reference) | set(candidate), key=lambda t: (t.z, t.x, t.y)):
        ours, theirs = decode_features(reference.get(tile)), decode_features(candidate.get(tile))
        only_ours, only_theirs = _one_sided(ours, theirs), _one_sided(theirs, ours)
        if not only_ours and not only_theirs:
            identical += 1
            continue
        visible_ours = [key for key, geometry in only_ours if _area_in_tile(geometry) >= SUBPIXEL_AREA]
        visible_theirs = [key for key, geometry in only_theirs if _area_in_tile(geometry) >= SUBPIXEL_AREA]
        subpixel += len(only_ours) + len(only_theirs) - len(visible_ours) - len(visible_theirs)
        if visible_ours or visible_theirs:
            mismatches.append(f"{tile.z}/{tile.x}/{tile.y}: missing {_ids(visible_ours)}, unexpected {_ids(visible_theirs)}")
    return ContentCheck(contender, len(set(reference) | set(candidate)), identical, subpixel, tuple(mismatches))


def _one_sided(
    these: Mapping[FeatureKey, list[shapely.Geometry]], those: Mapping[FeatureKey, list[shapely.Geometry]]
) -> list[tuple[FeatureKey, shapely.Geometry]]:
    """Features of `these` beyond their count in `those` (a multiset difference), with a geometry each."""
    extra = Counter({key: len(geoms) for key, geoms in these.items()}) - Counter(
        {key: len(geoms) for key, geoms in those.items()}
    )
    return [(key, geometry) for key, count in extra.items() for geometry in these[key][-count:]]


def _area_in_tile(geometry: shapely.Geometry) -> float:
    """Area of `geometry` inside the tile square, in square tile units."""
    return shapely.box(0, 0, TILE_EXTENT, TILE_EXTENT).intersection(shapely.make_valid(geometry)).area


def _ids(keys: Iterable[FeatureKey]) -> str:
    """Feature ids (the `id` property) of `keys`, or their properties when they have none."""
    ids = [dict(properties).get("id", properties) for _, properties in keys]
    return ", ".join(map(str, ids)) or "none"
