"""`crimetiles export-static BUILD OUT`: the map as a folder of files that any static host, object
store or CDN serves with no Python server (it must answer HTTP Range requests, for the tiles).

```
OUT/index.html, embed.html                the pages, rendered from the server's templates
OUT/catalog.json                          the catalog (what the page reads first)
OUT/styles/<tileset>.json                 the style, its source pmtiles://tiles/<tileset>.pmtiles?v=<hash>
OUT/tiles/<tileset>.json                  TileJSON (the page reads its center and zoom bands)
OUT/tiles/<tileset>.pmtiles               the build's PMTiles archive
OUT/tiles/<tileset>/{z}/{x}/{y}.png       with --png-tiles: the PNG tiles of the archive's zooms
OUT/tiles/<tileset>/raster.json           and their TileJSON
OUT/downloads/<layer>.csv, .geojson       every year (the server's /downloads/<layer>.csv)
OUT/downloads/<layer>-<year>.csv, ...     one year, and <layer>-all: the average per year
OUT/summaries/<layer>.json                each density layer's summary (the page's search, charts, table, report)
OUT/summaries/<layer>.json.br, .json.gz   the build's compressed copies of it (nginx's gzip_static sends the .gz)
OUT/static/...                            the page's files, linked as static/<file>?v=<hash>
```

Every URL is relative to OUT, so the folder works under any path. The server side of the code
base because it writes what the server would serve: the same templates, styles and catalog.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jinja2
import mercantile

from crimetiles.artifact.checksum import file_sha256
from crimetiles.artifact.content_coding import ENCODINGS, encoded_path
from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.export import FORMATS, export_text
from crimetiles.artifact.fields import ALL_YEARS
from crimetiles.artifact.manifest import BuildManifest, Tileset
from crimetiles.artifact.reader import Build, open_build
from crimetiles.server.catalog import catalog, raster_tilejson_path
from crimetiles.server.pages import STATIC_DIR, PageUrls, content_security_policy, provenance_variables, startup_documents
from crimetiles.server.params import RASTER_EXTENSION
from crimetiles.server.static_files import DIGEST_CHARS, StaticFiles
from crimetiles.server.style import style
from crimetiles.server.tilejson import raster_tilejson, tilejson

STATIC_PAGE_URLS = PageUrls(
    catalog="catalog.json", embed="embed.html", home="index.html", download="downloads/{layer}-{year}.{format}"
)
PAGES = ("index.html", "embed.html")
"""The pages, each rendered from the template of the same name."""


def export_static_site(build_dir: Path, out: Path, basemap_url: str | None = None, png_tiles: bool = False) -> list[str]:
    """Write the static site of the build at `build_dir` to `out` (absent or an empty directory),
    with `png_tiles` each tileset's PNG tiles too (`png_tile_files`); returns the paths written,
    relative to `out`. `out` appears complete or not at all: the site is
    written beside it and renamed. Raises `BuildError` for a build without PMTiles archives or
    layer summaries."""
    build = open_build(build_dir)
    pmtiles = pmtiles_urls(build)
    summaries = summary_files(build)
    _check_writable(out)
    files = StaticFiles.load(STATIC_DIR)
    with _staging(out) as staging:
        for name, tileset in build.manifest.tilesets.items():
            _copy(build.root / tileset.archive.pmtiles, staging / site_archive_path(name))
        documents = {**site_documents(build.manifest, pmtiles, png_tiles), **render_pages(build.manifest, files, basemap_url)}
        for path, text in itertools.chain(documents.items(), download_texts(build)):
            _write(staging / path, text.encode("utf-8"))
        for path, body in itertools.chain(summaries.items(), png_tile_files(build) if png_tiles else ()):
            _write(staging / path, body)
        for file in files:
            _write(staging / "static" / file.path, file.body)
    return sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())


def site_archive_path(tileset: str) -> str:
    """Where the site keeps a tileset's PMTiles archive: a stable URL for other sites' maps."""
    return f"tiles/{tileset}.pmtiles"


def pmtiles_urls(build: Build) -> dict[str, str]:
    """The URL of each tileset's PMTiles archive in the site, relative to it, with the hash of the
    archive's bytes in the query (`tiles/tracts.pmtiles?v=...`): a new archive gets a new URL."""
    urls = {}
    for name, tileset in build.manifest.tilesets.items():
        if tileset.archive is None or not tileset.archive.pmtiles:
            raise BuildError(
                f"{build.root}: tileset {name!r} has no PMTiles archive; rebuild it with this crimetiles "
                "(crimetiles build writes one with every tile archive, --archive-maxzoom 0 or more)"
            )
        urls[name] = f"{site_archive_path(name)}?v={file_sha256(build.root / tileset.archive.pmtiles)[:DIGEST_CHARS]}"
    return urls


def site_png_path(tileset: str, z: int | str, x: int | str, y: int | str) -> str:
    """Where the site keeps a PNG tile: the server's path, so a client's URL template carries over."""
    return f"tiles/{tileset}/{z}/{x}/{y}.{RASTER_EXTENSION}"


def png_tile_files(build: Build) -> Iterator[tuple[str, bytes]]:
    """Each tileset's PNG tiles (256 px, all years) of its archive's zooms, drawn by the server's
    own code: every tile the archive holds (one with areas; an empty tile is not written, and a
    raster client draws nothing where it is missing)."""
    from crimetiles.server.tiles import load_tile_service  # Skia loads only when PNG tiles are asked

    service = load_tile_service(build, cache_bytes=0)
    west, south, east, north = build.manifest.bounds
    for name, tileset in build.manifest.tilesets.items():
        zooms = range(tileset.archive.minzoom, tileset.archive.maxzoom + 1)
        for tile in mercantile.tiles(west, south, east, north, zooms=zooms):
            if service.tile(name, tile.z, tile.x, tile.y):
                yield site_png_path(name, tile.z, tile.x, tile.y), service.png(name, tile.z, tile.x, tile.y, 1, None)


def site_documents(manifest: BuildManifest, pmtiles: dict[str, str], png_tiles: bool = False) -> dict[str, str]:
    """The JSON documents of the site: the catalog, and each tileset's style and TileJSON, whose
    tiles come from the PMTiles archive at `pmtiles[name]` (relative to the page: the `pmtiles`
    library fetches it from the page, so the browser resolves it against the page's address); with
    `png_tiles`, each tileset's raster TileJSON too, listed in the catalog."""
    listing = catalog(manifest, lambda path: path)
    for entry in listing["tilesets"]:
        entry["pmtiles"] = site_archive_path(entry["name"])
        if png_tiles:
            entry["raster_tilejson"] = raster_tilejson_path(entry["name"])
    documents = {"catalog.json": listing}
    for name, tileset in manifest.tilesets.items():
        source = f"pmtiles://{pmtiles[name]}"
        documents[f"styles/{name}.json"] = style(tileset, source, manifest.provenance)
        document = tilejson(manifest, tileset, "")
        document["crimetiles"]["bands"] = archived_bands(tileset)
        archive = tileset.archive
        documents[f"tiles/{name}.json"] = {
            **document,
            "tiles": [f"{source}/{{z}}/{{x}}/{{y}}"],
            "minzoom": archive.minzoom,
            "maxzoom": archive.maxzoom,
        }
        if png_tiles:
            documents[raster_tilejson_path(name)] = {
                **raster_tilejson(manifest, tileset, "", None),
                "tiles": [site_png_path(name, "{z}", "{x}", "{y}")],
                "minzoom": archive.minzoom,
                "maxzoom": archive.maxzoom,
            }
    return {path: _json_text(document) for path, document in documents.items()}


def archived_bands(tileset: Tileset) -> list[dict[str, Any]]:
    """The zoom bands as the site draws them: with no server to encode zooms above the archive,
    the map overzooms the archive's last zoom, so the band drawn there serves every zoom above
    (the page's downloads follow the band in view)."""
    top = tileset.archive.maxzoom
    return [{**asdict(band), "maxzoom": min(band.maxzoom, top)} for band in tileset.bands if band.minzoom <= top]


def render_pages(manifest: BuildManifest, files: StaticFiles, basemap_url: str | None) -> dict[str, str]:
    """`index.html` and `embed.html` from the server's templates, with the site's URLs, the pmtiles
    library and the Content-Security-Policy in a `<meta>` (without frame-ancestors: see
    `content_security_policy`)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(STATIC_DIR), autoescape=True)
    variables = {
        "basemap_url": basemap_url or "",
        "static_url": files.url,
        "startup_documents": startup_documents(STATIC_PAGE_URLS.catalog, manifest.tilesets),
        "urls": STATIC_PAGE_URLS,
        "public_url": "",
        "static_export": True,
        "content_security_policy": content_security_policy(basemap_url, None),
        **provenance_variables(manifest),
    }
    return {page: environment.get_template(page).render(variables) for page in PAGES}


def download_texts(build: Build) -> Iterator[tuple[str, str]]:
    """Every download the page links, one density layer in memory at a time: per layer and format,
    every year (`<layer>.csv`) and each year and the all-years average (`<layer>-2014.csv`,
    `<layer>-all.csv`)."""
    years, provenance = build.manifest.years, build.manifest.provenance
    for layer in build.manifest.layers:
        frame = build.layer_frame(layer)
        for fmt in FORMATS:
            yield f"downloads/{layer}.{fmt}", export_text(frame, layer, years, fmt, None, provenance)
            for year in (ALL_YEARS, *years):
                yield f"downloads/{layer}-{year}.{fmt}", export_text(frame, layer, years, fmt, year, provenance)


def summary_files(build: Build) -> dict[str, bytes]:
    """Each density layer's summary as stored, at the URL the page fetches it from
    (`summaries/<layer>.json`, as the server's route), and the build's brotli and gzip copies of it
    beside it, for a host that sends precompressed files (nginx's `gzip_static`). Raises
    `BuildError` for a build made before summaries existed: without them the page's search, charts,
    table and report could not work."""
    missing = [layer for layer in build.manifest.layers if layer not in build.manifest.summaries]
    if missing:
        raise BuildError(
            f"{build.root}: density layer(s) {', '.join(missing)} have no summary (the page's search, charts, "
            "table and report read them); rebuild it with this crimetiles"
        )
    files = {}
    for layer in build.manifest.layers:
        path = f"summaries/{layer}.json"
        files[path] = build.summary(layer)
        copies = {encoded_path(path, coding): build.encoded_summary(layer, coding) for coding in ENCODINGS}
        files |= {copy: body for copy, body in copies.items() if body is not None}
    return files


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=1) + "\n"


def _check_writable(out: Path) -> None:
    if out.exists() and not (out.is_dir() and not out.is_symlink() and not any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty directory; give a new or empty folder")


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A directory beside `out`, renamed to `out` if the block completes, else removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield staging
        staging.chmod(0o755)
        if out.is_dir():
            out.rmdir()
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
