"""Withheld counts that nesting would give back, and the complements that keep them withheld.

Where each area of one layer lies in one area of another (H3 cells in the cells of the next coarser
resolution; block groups in tracts), a reader who takes a larger area's published count and
subtracts its parts' published counts gets the sum of the parts' withheld counts: when that pins
one of them down (`Disclosure.groups_reveal`: one withheld part, or all of them at the floor's
least or most), the smallest published part above 0 is withheld too (a complement: cell
suppression as statistical offices do it), again until none is pinned, or the larger area when no
part can be. And every withheld area that has parts keeps one of them withheld, or its parts would
add up to it. Both, over every nesting, until nothing more is withheld. The study area's totals
then follow their own rule (`build.study_totals_withheld`), complements counted.

Pure functions on arrays, and `boundary_nestings`, which finds which boundary layers nest in which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from crimetiles.precompute.density import Disclosure

NESTED_SHARE = 0.99
"""An area lies in another when at least this share of it does (boundary files of one city are
drawn from slightly different linework)."""


@dataclass(frozen=True)
class Nesting:
    """Each area of layer `child` lies in one area of layer `parent`: `parents` gives its row there
    (-1: in none)."""

    child: str
    parent: str
    parents: np.ndarray


def withheld_with_complements(
    counts: Mapping[str, np.ndarray], nestings: Sequence[Nesting], disclosures: Mapping[str, Disclosure]
) -> dict[str, np.ndarray]:
    """The withheld counts (areas x years) of each layer of `counts`: those below its floor
    (`disclosures`) and the complements that `nestings` (finest first) call for."""
    withheld = {name: disclosures[name].withheld(layer) for name, layer in counts.items()}
    families = [Families(nesting.parents, len(counts[nesting.parent])) for nesting in nestings]
    while True:
        before = sum(int(layer.sum()) for layer in withheld.values())
        for nesting, family in zip(nestings, families, strict=True):
            child, parent = nesting.child, nesting.parent
            _complete_families(counts[child], withheld[child], counts[parent], withheld[parent], family, disclosures[child])
        for nesting, family in reversed(list(zip(nestings, families, strict=True))):
            _hide_under_withheld(counts[nesting.child], withheld[nesting.child], withheld[nesting.parent], family)
        if sum(int(layer.sum()) for layer in withheld.values()) == before:
            return withheld


class Families:
    """The children (rows of the finer layer) of each parent row."""

    def __init__(self, parents: np.ndarray, parent_rows: int) -> None:
        self.parents = parents
        self._order = np.argsort(parents, kind="stable")
        self._starts = np.searchsorted(parents[self._order], np.arange(parent_rows + 1))

    def children(self, parent: int) -> np.ndarray:
        return self._order[self._starts[parent] : self._starts[parent + 1]]


def _complete_families(
    counts: np.ndarray,
    withheld: np.ndarray,
    parent_counts: np.ndarray,
    parent_withheld: np.ndarray,
    families: Families,
    disclosure: Disclosure,
) -> None:
    """Withhold (in place) complements in each family, parent and year, whose published numbers pin
    a withheld child down: the smallest published child above 0, again until none is pinned, else
    the parent."""
    while (reveals := disclosure.groups_reveal(counts, withheld, parent_counts, families.parents) & ~parent_withheld).any():
        for parent, year in zip(*np.nonzero(reveals), strict=True):
            family = families.children(parent)
            candidates = family[~withheld[family, year] & (counts[family, year] > 0)]
            if candidates.size:
                withheld[candidates[np.argmin(counts[candidates, year])], year] = True
            else:
                parent_withheld[parent, year] = True


def _hide_under_withheld(counts: np.ndarray, withheld: np.ndarray, parent_withheld: np.ndarray, families: Families) -> None:
    """Withhold (in place) a child of each withheld parent whose children are all published (their
    sum would give the parent back): the smallest above 0, else any."""
    for parent, year in zip(*np.nonzero(parent_withheld), strict=True):
        family = families.children(parent)
        if family.size and not withheld[family, year].any():
            positive = family[counts[family, year] > 0]
            choice = positive[np.argmin(counts[positive, year])] if positive.size else family[0]
            withheld[choice, year] = True


def boundary_nestings(frames: Mapping[str, gpd.GeoDataFrame]) -> list[Nesting]:
    """Every pair of boundary layers (one CRS) where some areas of one lie in an area of the other
    (`NESTED_SHARE`), the layer of more areas first. A larger area whose parts do not cover it
    gives a reader no exact sum: counting its family all the same only adds complements."""
    nestings = []
    for child, child_frame in sorted(frames.items(), key=lambda item: -len(item[1])):
        for parent, parent_frame in frames.items():
            parents = _containing_rows(child_frame.geometry.to_numpy(), parent_frame.geometry.to_numpy())
            if parent != child and (parents >= 0).any():
                nestings.append(Nesting(child, parent, parents))
    return nestings


def _containing_rows(parts: np.ndarray, wholes: np.ndarray) -> np.ndarray:
    """For each of `parts`, the row of the one of `wholes` it lies in, -1 where none."""
    part_rows, whole_rows = shapely.STRtree(wholes).query(parts, predicate="intersects")
    overlap = shapely.area(shapely.intersection(parts[part_rows], wholes[whole_rows]))
    inside = overlap >= NESTED_SHARE * shapely.area(parts[part_rows])
    containing = np.full(len(parts), -1, dtype=np.int64)
    containing[part_rows[inside]] = whole_rows[inside]
    return containing
