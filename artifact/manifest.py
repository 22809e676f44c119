"""The build manifest: the typed, versioned description of a build directory.

`precompute` writes it, `server` reads it; `docs/artifact.md` is the human-readable spec.
Bump `SCHEMA_VERSION` on any change a reader of the previous version would misread.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crimetiles.artifact.errors import BuildError

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
REPORT_NAME = "report.json"
REJECTS_NAME = "rejects.csv"

Bounds = tuple[float, float, float, float]
"""west, south, east, north in degrees (EPSG:4326)."""


@dataclass(frozen=True)
class ZoomBand:
    """The density layer a tileset draws from for zooms `minzoom..maxzoom` (inclusive)."""

    layer: str
    minzoom: int
    maxzoom: int


@dataclass(frozen=True)
class TileArchive:
    """Pre-generated tiles: an MBTiles file (gzip-compressed MVT) for zooms `minzoom..maxzoom`."""

    path: str
    minzoom: int
    maxzoom: int
    tile_count: int
    format: str = "mbtiles"
    pmtiles: str | None = None
    """The same tiles as a PMTiles 3 archive (for static hosts), relative to the build directory;
    None in builds made before crimetiles wrote one."""

    def holds(self, zoom: int) -> bool:
        """Whether the archive covers `zoom` (it stores every tile of those zooms that has features)."""
        return self.minzoom <= zoom <= self.maxzoom


@dataclass(frozen=True)
class Tileset:
    """What `/tiles/{name}/{z}/{x}/{y}` serves: one MVT layer called `name`.

    `maxzoom` is the data's max zoom (TileJSON `maxzoom`): clients overzoom past it.
    `bands` cover every zoom from `minzoom` to at least `maxzoom`; the last band also serves
    the zooms above it when a client asks for them.
    """

    name: str
    title: str
    minzoom: int
    maxzoom: int
    bands: tuple[ZoomBand, ...]
    class_breaks: ClassBreaks
    """The legend of the tileset: its layer's breaks, or for several bands, breaks over all of them."""
    archive: TileArchive | None
    unstable_below: int = 0
    """Counts below this are marked `unstable` (0: a build made before the mark, or none marked)."""
    suppress_below: int = 0
    """Counts above 0 and below this are withheld, `suppressed` (0: none)."""

    def band_for_zoom(self, zoom: int) -> ZoomBand:
        """The band serving `zoom`; zooms past the last band use the last band."""
        for band in self.bands:
            if band.minzoom <= zoom <= band.maxzoom:
                return band
        if zoom > self.bands[-1].maxzoom:
            return self.bands[-1]
        raise BuildError(f"tileset {self.name!r} has no band for zoom {zoom}")


@dataclass(frozen=True)
class ClassBreaks:
    """Legend classes over all features and years of a layer, in violent crimes per sq mi.

    Class 0 is exactly 0; class 1 holds values above 0 and below `values[0]`; class i (i >= 2)
    holds values in `[values[i-2], values[i-1])`, the last class everything from `values[-1]` up
    (the semantics of a MapLibre `step` expression).
    """

    method: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class LayerBatch:
    """One record batch of a density layer's Arrow stream: where its message lies in the file
    (bytes) and what its rows' `bbox` covers (None: no row has a geometry)."""

    offset: int
    length: int
    bounds: Bounds | None


@dataclass(frozen=True)
class LayerStream:
    """A density layer's table as an Arrow IPC stream (`layers/<layer>.arrows`): the schema's
    message (`schema_length` bytes from the start), then one record batch per row group of the
    GeoParquet file, which a server reads one at a time (docs/artifact.md, "What a server reads")."""

    path: str
    schema_length: int
    batches: tuple[LayerBatch, ...]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LayerStream:
        batches = (LayerBatch(b["offset"], b["length"], tuple(b["bounds"]) if b["bounds"] else None) for b in raw["batches"])
        return cls(raw["path"], raw["schema_length"], tuple(batches))


@dataclass(frozen=True)
class DensityLayer:
    """One polygon layer with densities: a GeoParquet file (EPSG:4326), one row per polygon, and
    the same table as an Arrow stream (`stream`; None in builds made before it)."""

    name: str
    title: str
    kind: str
    """`boundary` (a polygon file) or `hex` (an H3 grid)."""
    path: str
    feature_count: int
    bounds: Bounds
    class_breaks: ClassBreaks
    h3_resolution: int | None = None
    source: str | None = None
    stream: LayerStream | None = None


@dataclass(frozen=True)
class InputFile:
    """An input of the build, with its checksum so a build can be traced to its data."""

    role: str
    """`incidents`, `boundaries` or `classification`."""
    path: str
    sha256: str
    name: str | None = None


DEFAULT_TITLE = "Violent incidents reported by police"
"""The title of a build given none: what every build maps, true of any police export."""


@dataclass(frozen=True)
class Source:
    """Whose incidents a build counts: a display name (an agency) and its input files, as given."""

    name: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Provenance:
    """What a build says about itself wherever it is shown: the page, embed and report, TileJSON,
    styles, QGIS layers, downloads and static exports (see `crimetiles build --title`...)."""

    title: str = DEFAULT_TITLE
    attribution: str = ""
    """Plain text, e.g. "Minneapolis Police Department"; linked to `attribution_url` where shown."""
    attribution_url: str | None = None
    about_markdown: str | None = None
    """The metric's text (why it matters, about the data, further resources), as Markdown; None:
    the page's own neutral text."""
    caveat: str | None = None
    """A short note shown next to the numbers, e.g. "Demo: synthetic locations, real published totals."."""
    sources: tuple[Source, ...] = ()

    def attribution_html(self) -> str:
        """The attribution as map clients show it (TileJSON, styles): escaped text, linked if it has a URL."""
        text = html.escape(self.attribution)
        if not self.attribution_url:
            return text
        return f'<a href="{html.escape(self.attribution_url)}">{text}</a>'

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Provenance:
        sources = tuple(Source(spec["name"], tuple(spec["files"])) for spec in raw.get("sources", []))
        return cls(**{**_known(cls, raw), "sources": sources})

    @classmethod
    def of_older_build(cls, attribution_html: str) -> Provenance:
        """The provenance of a build made before builds recorded it: its attribution, as text."""
        return cls(attribution=html.unescape(re.sub(r"<[^>]*>", "", attribution_html)))


@dataclass(frozen=True)
class BuildManifest:
    schema_version: int
    build_id: str
    built_at: str
    generator: str
    years: tuple[int, ...]
    bounds: Bounds
    center: tuple[float, float, int]
    attribution: str
    fields: dict[str, str]
    layers: dict[str, DensityLayer]
    tilesets: dict[str, Tileset]
    inputs: tuple[InputFile, ...] = field(default_factory=tuple)
    summaries: dict[str, str] = field(default_factory=dict)
    """Density layer name -> path of its summary (the page's charts, table and search). Builds made
    before summaries existed have none: readers treat the missing key as an empty map."""
    provenance: Provenance = field(default_factory=Provenance)
    """Title, attribution, the metric's text, caveat and sources. Builds made before it existed get
    the default title and their `attribution` as text."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BuildManifest:
        version = raw.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BuildError(f"manifest schema_version {version!r} is not supported (expected {SCHEMA_VERSION}); rebuild")
        return cls(
            schema_version=version,
            build_id=raw["build_id"],
            built_at=raw["built_at"],
            generator=raw["generator"],
            years=tuple(raw["years"]),
            bounds=tuple(raw["bounds"]),
            center=tuple(raw["center"]),
            attribution=raw["attribution"],
            fields=dict(raw["fields"]),
            layers={name: _density_layer(spec) for name, spec in raw["layers"].items()},
            tilesets={name: _tileset(spec) for name, spec in raw["tilesets"].items()},
            inputs=tuple(InputFile(**_known(InputFile, spec)) for spec in raw.get("inputs", [])),
            summaries=dict(raw.get("summaries", {})),
            provenance=Provenance.from_dict(raw["provenance"])
            if "provenance" in raw
            else Provenance.of_older_build(raw["attribution"]),
        )


def _known(record: type, spec: dict[str, Any]) -> dict[str, Any]:
    """The keys of `spec` that the dataclass `record` has: a reader ignores keys added by a newer
    writer, so that an addition that no reader would misread needs no new schema version."""
    return {key: value for key, value in spec.items() if key in record.__dataclass_fields__}


def _density_layer(spec: dict[str, Any]) -> DensityLayer:
    breaks = spec["class_breaks"]
    return DensityLayer(
        **{
            **_known(DensityLayer, spec),
            "bounds": tuple(spec["bounds"]),
            "class_breaks": ClassBreaks(breaks["method"], tuple(breaks["values"])),
            "stream": LayerStream.from_dict(spec["stream"]) if spec.get("stream") else None,
        }
    )


def _tileset(spec: dict[str, Any]) -> Tileset:
    archive = spec.get("archive")
    breaks = spec["class_breaks"]
    return Tileset(
        **{
            **_known(Tileset, spec),
            "bands": tuple(ZoomBand(**_known(ZoomBand, band)) for band in spec["bands"]),
            "class_breaks": ClassBreaks(breaks["method"], tuple(breaks["values"])),
            "archive": TileArchive(**_known(TileArchive, archive)) if archive else None,
        }
    )


def read_manifest(build_dir: Path) -> BuildManifest:
    """Read and validate `build_dir/manifest.json`; raises `BuildError` with the reason."""
    path = Path(build_dir) / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"{build_dir}: no {MANIFEST_NAME}; is this a crimetiles build directory?") from None
    except json.JSONDecodeError as exc:
        raise BuildError(f"{path}: not valid JSON ({exc})") from None
    try:
        return BuildManifest.from_dict(raw)
    except (KeyError, TypeError) as exc:
        raise BuildError(f"{path}: malformed manifest ({exc})") from None
