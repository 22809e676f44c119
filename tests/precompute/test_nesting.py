"""Withheld counts stay withheld across nested layers (`precompute/nesting.py`): a reader who
subtracts a hex cell's published children from its published count (or a tract's block groups from
the tract's), or a layer's published areas from the study area's total, pins no withheld count down.

The reader here is independent of the build's rule: interval propagation over every equation the
published numbers give (a parent's count is the sum of its children's, the study area's total the
sum of each grid's cells), each withheld count bounded as a reader who knew why it was withheld
would bound it (1 to the floor - 1 below the floor, 0 and up for a complement), repeated until no
bound moves. It does pin counts of grids published without complements, so it can fail."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
from click.testing import CliRunner

from crimetiles.artifact.fields import count_field, suppressed_field
from crimetiles.cli import main
from crimetiles.precompute.density import Disclosure
from crimetiles.precompute.nesting import Nesting, withheld_with_complements

FLOOR = 3
RESOLUTIONS = (7, 8, 9)
YEARS = (2015, 2016)
UNBOUNDED = 10**9


@dataclass
class Reader:
    """What a reader knows: published counts, and bounds on withheld ones (by key)."""

    known: dict[tuple, int] = field(default_factory=dict)
    bounds: dict[tuple, list[int]] = field(default_factory=dict)
    equations: list[tuple[int, list[tuple]]] = field(default_factory=list)

    def value(self, key: tuple, count: int | None, below_floor: bool) -> None:
        if count is None:
            self.bounds[key] = [1, FLOOR - 1] if below_floor else [0, UNBOUNDED]
        else:
            self.known[key] = count

    def propagate(self) -> None:
        moved = True
        while moved:
            moved = False
            for total, keys in self.equations:
                rest = total - sum(self.known[key] for key in keys if key in self.known)
                unknown = [key for key in keys if key in self.bounds]
                for key in unknown:
                    others = [self.bounds[other] for other in unknown if other != key]
                    low = max(self.bounds[key][0], rest - sum(bound[1] for bound in others))
                    high = min(self.bounds[key][1], rest - sum(bound[0] for bound in others))
                    if [low, high] != self.bounds[key] and low <= high:
                        self.bounds[key] = [low, high]
                        moved = True

    def pinned(self, truth: dict[tuple, int]) -> list[tuple]:
        """Withheld counts below the floor whose bounds meet at their true value."""
        return [key for key, (low, high) in self.bounds.items() if low == high == truth[key] and 0 < truth[key] < FLOOR]


def clustered_points(seed: int, n: int = 400) -> np.ndarray:
    """Points around a few centres in Durham, many alone in their resolution-9 cell."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-78.90, 35.99], [-78.88, 36.01], [-78.93, 35.97]])
    return centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.012, (n, 2))


def grids(points: np.ndarray, years: np.ndarray) -> tuple[list[list[str]], list[np.ndarray]]:
    """Each resolution's cells holding a point (sorted) and their counts (cells x years), as the build
    counts them: each point in its cell at each resolution."""
    cells, counts = [], []
    for resolution in RESOLUTIONS:
        of_point = [h3.latlng_to_cell(lat, lon, resolution) for lon, lat in points]
        level = sorted(set(of_point))
        rows = {cell: row for row, cell in enumerate(level)}
        matrix = np.zeros((len(level), len(YEARS)), dtype=np.int64)
        for cell, year in zip(of_point, years, strict=True):
            matrix[rows[cell], YEARS.index(year)] += 1
        cells.append(level)
        counts.append(matrix)
    return cells, counts


def parents_of(cells: list[list[str]]) -> list[np.ndarray]:
    rows = [{cell: row for row, cell in enumerate(level)} for level in cells]
    parents = [np.empty(0, dtype=np.int64)]
    for level in range(1, len(cells)):
        coarser = RESOLUTIONS[level - 1]
        parents.append(np.array([rows[level - 1].get(h3.cell_to_parent(c, coarser), -1) for c in cells[level]]))
    return parents


def nested_withheld(counts: list[np.ndarray], parents: list[np.ndarray], disclosure: Disclosure) -> list[np.ndarray]:
    """`withheld_with_complements` of levels `counts` (coarsest first), level i's parents in level i - 1."""
    names = [f"level{i}" for i in range(len(counts))]
    nestings = [Nesting(names[i], names[i - 1], parents[i]) for i in range(len(counts) - 1, 0, -1)]
    withheld = withheld_with_complements(dict(zip(names, counts, strict=True)), nestings, dict.fromkeys(names, disclosure))
    return [withheld[name] for name in names]


def reader_of(cells: list[list[str]], counts: list[np.ndarray], withheld: list[np.ndarray]) -> tuple[Reader, dict]:
    """The reader of grids published with `withheld`, and the true counts by key. The study area's
    total of a year is published unless some grid's cells would pin one down (as the build decides)."""
    reader, truth = Reader(), {}
    disclosure = Disclosure(suppress_below=FLOOR)
    families: dict[tuple, list[tuple]] = defaultdict(list)
    for level, level_cells in enumerate(cells):
        for row, cell in enumerate(level_cells):
            for column, year in enumerate(YEARS):
                count = int(counts[level][row, column])
                key = (cell, year)
                truth[key] = count
                reader.value(key, None if withheld[level][row, column] else count, 0 < count < FLOOR)
                if level:
                    families[(h3.cell_to_parent(cell, RESOLUTIONS[level - 1]), year)].append(key)
    for (parent, year), children in families.items():
        if (parent, year) in reader.known:
            reader.equations.append((reader.known[(parent, year)], children))
    totals_withheld = np.zeros(len(YEARS), dtype=bool)
    for level_counts, level_withheld in zip(counts, withheld, strict=True):
        totals_withheld |= disclosure.sum_reveals(level_counts, level_withheld)
    for column, year in enumerate(YEARS):
        if not totals_withheld[column]:
            for level_cells in cells:
                total = int(counts[0][:, column].sum())
                reader.equations.append((total, [(cell, year) for cell in level_cells]))
    return reader, truth


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_withheld_hex_count_comes_back_from_its_parent_or_the_total(seed):
    points = clustered_points(seed)
    years = np.array(YEARS)[np.random.default_rng(seed).integers(0, 2, len(points))]
    cells, counts = grids(points, years)
    disclosure = Disclosure(suppress_below=FLOOR)
    primary_only = [disclosure.withheld(level) for level in counts]
    exposed, truth = reader_of(cells, counts, primary_only)
    exposed.propagate()
    assert exposed.pinned(truth), "the reader pins counts of grids published without complements"
    protected, truth = reader_of(cells, counts, nested_withheld(counts, parents_of(cells), disclosure))
    protected.propagate()
    assert protected.pinned(truth) == []


def test_the_smallest_published_sibling_is_the_complement():
    parent = np.array([[12], [2]])  # the second parent is itself withheld: its family pins nothing
    children = np.array([[1], [4], [7], [0], [2]])
    parents = np.array([0, 0, 0, 0, 1])
    withheld = nested_withheld([parent, children], [np.empty(0, dtype=np.int64), parents], Disclosure(suppress_below=FLOOR))
    assert withheld[1][:, 0].tolist() == [True, True, False, False, True]  # 12 - 7 - 0 = 1 + 4: 1 no longer pinned
    assert withheld[0][:, 0].tolist() == [False, True]


def test_the_parent_is_the_complement_when_no_sibling_can_be():
    parent = np.array([[5]])  # nesting is almost exact in H3: a point near an edge counts in another parent
    children = np.array([[1], [0]])
    withheld = nested_withheld(
        [parent, children], [np.empty(0, dtype=np.int64), np.array([0, 0])], Disclosure(suppress_below=FLOOR)
    )
    assert withheld[1][:, 0].tolist() == [True, False]
    assert withheld[0][:, 0].tolist() == [True]


def test_a_built_hex_grid_gives_no_withheld_count_back(tmp_path: Path):
    """`crimetiles build` with the hex grids' default floor (3) at resolutions 7-9: the published
    GeoParquet layers and summaries, read as a reader would, pin no withheld count down."""
    points = clustered_points(7, 300)
    years = np.array(YEARS)[np.random.default_rng(7).integers(0, 2, len(points))]
    rows = ["inci_id,date_rept,ucr_code,lon,lat"]
    located = enumerate(zip(points, years, strict=True))
    rows += [f"i{i},{year}-06-01,0810,{float(lon)!r},{float(lat)!r}" for i, ((lon, lat), year) in located]
    (tmp_path / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "build"
    command = ["build", str(tmp_path / "incidents.csv"), "-o", str(out), "-q", "--hex-res", "7,8,9", "--archive-maxzoom", "-1"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    reader, truth = Reader(), {}
    cells_by_level = []
    for level, resolution in enumerate(RESOLUTIONS):
        layer = gpd.read_parquet(out / "layers" / f"hex{resolution}.parquet")
        cells_by_level.append(layer["id"].tolist())
        for year in YEARS:
            for cell, count, suppressed in zip(layer["id"], layer[count_field(year)], layer[suppressed_field(year)], strict=True):
                true_count = (
                    sum(
                        1
                        for (lon, lat), y in zip(points, years, strict=True)
                        if y == year and h3.latlng_to_cell(lat, lon, resolution) == cell
                    )
                    if suppressed
                    else int(count)
                )
                truth[(cell, year)] = true_count
                reader.value((cell, year), None if suppressed else int(count), 0 < true_count < FLOOR)
        if level:
            families: dict[tuple, list[tuple]] = defaultdict(list)
            for cell in layer["id"]:
                for year in YEARS:
                    families[(h3.cell_to_parent(cell, RESOLUTIONS[level - 1]), year)].append((cell, year))
            reader.equations += [(reader.known[key], keys) for key, keys in families.items() if key in reader.known]
    summary = json.loads((out / "summaries" / "hex9.json").read_text(encoding="utf-8"))
    for year, total in zip(YEARS, summary["study_area"]["violent_count"], strict=True):
        if total is not None:
            reader.equations += [(total, [(cell, year) for cell in cells]) for cells in cells_by_level]
    assert any(truth[key] and key in reader.bounds for key in truth), "some count is withheld"
    reader.propagate()
    assert reader.pinned(truth) == []


SMALL_COUNTS = {2015: [1, 6, 7, 8, 5, 5, 9, 0], 2016: [9, 9, 9, 9, 2, 3, 0, 12]}
"""Incidents in each 1-mile square (four to each 2-mile square, row by row): big square 0's 2015
count less its published small ones gives the small one's 1 back, unless a complement is withheld;
big square 1's 2016 small ones are withheld two (2 and 3, 5 between them: not pinned)."""
BOUNDARY_FLOOR = 5


def test_a_tract_less_its_published_block_groups_gives_no_withheld_count_back(tmp_path: Path):
    """`--suppress-below 5` with two boundary layers, one nested in the other (2-mile squares made
    of four 1-mile squares, as tracts of block groups): the build finds the nesting and withholds a
    complement; the reader pins nothing; without the larger layer it withholds none."""
    from tests.precompute.test_density import square_miles

    bigs = gpd.GeoDataFrame({"id": ["b0", "b1"]}, geometry=[square_miles(4 * i, 0, 2) for i in range(2)], crs="EPSG:4326")
    corners = [(4 * i + dx, dy) for i in range(2) for dy in (0, 1) for dx in (0, 1)]
    smalls = gpd.GeoDataFrame(
        {"id": [f"s{k}" for k in range(8)]}, geometry=[square_miles(x, y, 1) for x, y in corners], crs="EPSG:4326"
    )
    bigs.to_file(tmp_path / "bigs.geojson")
    smalls.to_file(tmp_path / "smalls.geojson")
    rows = ["inci_id,date_rept,ucr_code,lon,lat"]
    for year, counts in SMALL_COUNTS.items():
        for k, (square, count) in enumerate(zip(smalls.geometry, counts, strict=True)):
            point = square.centroid
            rows += [f"s{k}-{year}-{i},{year}-06-01,0810,{point.x!r},{point.y!r}" for i in range(count)]
    (tmp_path / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def build(out: str, *layers: str) -> Path:
        command = ["build", str(tmp_path / "incidents.csv"), "-o", str(tmp_path / out), "-q", "--hex-res", ""]
        for layer in layers:
            command += ["-b", f"{layer}={tmp_path / layer}.geojson"]
        command += ["--suppress-below", str(BOUNDARY_FLOOR)]
        result = CliRunner().invoke(main, [*command, "--archive-maxzoom", "-1"])
        assert result.exit_code == 0, result.output
        return tmp_path / out

    alone = _layer(build("alone", "smalls"), "smalls")
    assert alone[suppressed_field(2015)].tolist() == [True, False, False, False, False, False, False, False]
    out = build("nested", "bigs", "smalls")
    layers = {
        name: gpd.read_parquet(out / "layers" / f"{name}.parquet").set_index("id").sort_index() for name in ("bigs", "smalls")
    }
    assert layers["smalls"][suppressed_field(2015)].tolist() == [True, True, False, False, False, False, False, False]
    assert layers["bigs"][suppressed_field(2015)].tolist() == [False, False]
    reader, truth = Reader(), {}
    for name, layer in layers.items():
        for year in YEARS:
            for area, count, suppressed in zip(layer.index, layer[count_field(year)], layer[suppressed_field(year)], strict=True):
                small = name == "smalls"
                truth[(area, year)] = SMALL_COUNTS[year][int(area[1:])] if small else None
                reader.value((area, year), None if suppressed else int(count), small and 0 < truth[(area, year)] < BOUNDARY_FLOOR)
    for year in YEARS:
        for big in ("b0", "b1"):
            if (big, year) in reader.known:
                parts = [(f"s{k}", year) for k in range(4 * int(big[1:]), 4 * int(big[1:]) + 4)]
                reader.equations.append((reader.known[(big, year)], parts))
    reader.propagate()
    assert [
        key for key, (low, high) in reader.bounds.items() if low == high and truth[key] is not None and low == truth[key]
    ] == []


def _layer(build: Path, name: str) -> gpd.GeoDataFrame:
    return gpd.read_parquet(build / "layers" / f"{name}.parquet").set_index("id").sort_index()
