"""Withheld hex counts that nesting would give back, and the complements that keep them withheld.

A hex grid is built at several H3 resolutions from the same incidents, and each cell lies (almost
exactly) in one cell of the next coarser resolution, its parent. A reader who takes a parent's
published count and subtracts its children's published counts gets the sum of the children's
withheld counts: when that pins one of them down (`Disclosure.groups_reveal`: one withheld child, or
all of them at the floor's least or most), the smallest published child above 0 is withheld too (a
complement: cell suppression as statistical offices do it), or the parent when there is none. From
the finest resolution to the coarsest, so that a parent withheld as a complement is protected in
its own parent's turn. The study area's totals are the coarsest grid's parent (`build.study_totals_withheld`).

Pure functions on arrays: the build gives each resolution's counts and its cells' parents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crimetiles.precompute.density import Disclosure


def nested_withheld(counts: Sequence[np.ndarray], parents: Sequence[np.ndarray], disclosure: Disclosure) -> list[np.ndarray]:
    """The withheld counts (areas x years) of each resolution, coarsest first: those below the floor
    and the complements. `counts[i]` holds resolution i's counts (areas x years), `parents[i]` the
    row in `counts[i - 1]` of each of its cells' parent (-1: not in the grid; `parents[0]` unused)."""
    withheld = [disclosure.withheld(level) for level in counts]
    families = [Families(level_parents, len(coarser)) for level_parents, coarser in zip(parents[1:], counts, strict=False)]
    for level in range(len(counts) - 1, 0, -1):
        _complete_families(
            counts[level], withheld[level], counts[level - 1], withheld[level - 1], families[level - 1], disclosure
        )
    for level in range(1, len(counts)):
        _hide_under_withheld(counts[level], withheld[level], withheld[level - 1], families[level - 1])
    return withheld


class Families:
    """The children (rows of the finer resolution) of each parent row."""

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
    sum would give the parent back): the smallest above 0, else any. From the coarsest resolution
    down, so that the child's own children are seen to in their turn."""
    for parent, year in zip(*np.nonzero(parent_withheld), strict=True):
        family = families.children(parent)
        if family.size and not withheld[family, year].any():
            positive = family[counts[family, year] > 0]
            choice = positive[np.argmin(counts[positive, year])] if positive.size else family[0]
            withheld[choice, year] = True
