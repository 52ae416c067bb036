"""Per-cluster statistics for several cluster dimensions and their intersections.

Multi-way (Cameron-Gelbach-Miller) cluster-robust errors combine one-way
sandwiches by inclusion-exclusion over the non-empty subsets of the cluster
dimensions, so the pass gathers one :class:`GroupedGramStats` per subset:
each dimension alone, and each intersection keyed by the tuple of its labels.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ._grouped import GroupedGramStats
from ._irls import ClusterSums
from ._levels import LevelMeans


def intersection_labels(columns):
    """One label per row: the tuple of its labels in ``columns`` (an object array).

    Tuples compare and sort element by element, so ``(1, "a")`` of one
    chunk and ``(1.0, "a")`` of another are one intersection, as ``1`` and
    ``1.0`` are one cluster.

    Examples
    --------
    >>> intersection_labels([np.array([1, 2]), np.array(["a", "b"])])
    array([(1, 'a'), (2, 'b')], dtype=object)
    """
    rows = zip(*(np.asarray(column).tolist() for column in columns))
    return np.fromiter(rows, dtype=object, count=len(columns[0]))


class MultiwayGroupedStats:
    """A :class:`GroupedGramStats` for every non-empty subset of ``D`` cluster dimensions.

    Parameters
    ----------
    ways : tuple of tuple of int
        The subsets, singletons first (dimension ``j`` alone is ``(j,)``).
    grouped : tuple of GroupedGramStats or of ClusterSums
        The statistics per cluster of each subset, in the order of ``ways``:
        Gram statistics from the first pass (:meth:`from_arrays`), or sums of
        per-row scores from a second pass (:meth:`from_rows`).
    nesting : tuple of LevelMeans, optional
        Second pass of a model with absorbed effects: per subset, the
        levels of the absorbed factor and whether each lies in one cluster
        (``LevelMeans.nested``), which fixes the degrees of freedom the
        effects cost (fixest's ``k_fixef="nonnested"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    >>> firms, years = rng.integers(0, 5, 40), rng.integers(0, 3, 40)
    >>> stats = MultiwayGroupedStats.from_arrays(X, y, (firms, years))
    >>> stats.ways
    ((0,), (1,), (0, 1))
    >>> stats.n_groups
    (5, 3)
    """

    def __init__(self, ways, grouped, nesting=None):
        self.ways = tuple(tuple(way) for way in ways)
        self.grouped = tuple(grouped)
        self.nesting = None if nesting is None else tuple(nesting)

    @classmethod
    def from_arrays(cls, X, y, columns, sample_weight=None):
        """Statistics of one chunk; ``columns`` holds one label array per dimension."""
        ways = subsets(len(columns))
        grouped = tuple(
            GroupedGramStats.from_arrays(X, y, _labels_of(columns, way), sample_weight)
            for way in ways
        )
        return cls(ways, grouped)

    @classmethod
    def from_rows(cls, rows, columns, levels=None):
        """Sums of per-row scores ``rows`` (n, p) per cluster of every subset.

        With ``levels`` (the absorbed factor's level of each row), also
        whether each level lies in one cluster of each subset.
        """
        ways = subsets(len(columns))
        sums = tuple(ClusterSums.from_rows(rows, _labels_of(columns, way)) for way in ways)
        nesting = None
        if levels is not None:
            # one zero column: LevelMeans is used for its labels and nesting only
            placeholder = np.zeros((len(rows), 1))
            nesting = tuple(LevelMeans.from_arrays(placeholder, levels, None,
                                                   _labels_of(columns, way))
                            for way in ways)
        return cls(ways, sums, nesting)

    @property
    def n_dimensions(self):
        """Number of cluster dimensions ``D``."""
        return sum(len(way) == 1 for way in self.ways)

    @property
    def groups_per_way(self):
        """Clusters of each subset, in the order of ``ways``."""
        return tuple(len(g.labels) for g in self.grouped)

    @property
    def n_groups(self):
        """Clusters in each dimension."""
        return tuple(n for way, n in zip(self.ways, self.groups_per_way) if len(way) == 1)

    @property
    def nested(self):
        """Per subset, whether every level of the absorbed factor lies in one
        of its clusters (None without ``nesting``)."""
        return None if self.nesting is None else tuple(lv.nested for lv in self.nesting)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, MultiwayGroupedStats) or other.ways != self.ways:
            found = getattr(other, "n_dimensions", 1)
            raise ValueError(
                f"Cannot merge clusters of {self.n_dimensions} dimensions with clusters "
                f"of {found}: give the same cluster columns with every chunk."
            )
        if (self.nesting is None) != (other.nesting is None):
            raise ValueError("Cannot merge cluster sums with and without levels.")
        nesting = None if self.nesting is None else (
            a + b for a, b in zip(self.nesting, other.nesting))
        return type(self)(self.ways, (a + b for a, b in zip(self.grouped, other.grouped)),
                          nesting)

    __radd__ = __add__

    def __repr__(self):
        return f"MultiwayGroupedStats(n_groups={self.n_groups}, ways={self.ways})"


def subsets(n_dimensions):
    """The non-empty subsets of ``range(n_dimensions)``, singletons first.

    Examples
    --------
    >>> subsets(3)
    ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2))
    """
    dims = range(n_dimensions)
    return tuple(way for size in dims for way in combinations(dims, size + 1))


def _labels_of(columns, way):
    if len(way) == 1:
        return columns[way[0]]
    return intersection_labels([columns[j] for j in way])


def cluster_statistics(X, y, clusters, sample_weight=None):
    """Per-cluster statistics: one-way for a label array, multi-way for a tuple of them."""
    if isinstance(clusters, tuple):
        return MultiwayGroupedStats.from_arrays(X, y, clusters, sample_weight)
    return GroupedGramStats.from_arrays(X, y, clusters, sample_weight)
