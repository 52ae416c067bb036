"""Per-cluster statistics for several cluster dimensions and their intersections.

Multi-way (Cameron-Gelbach-Miller) cluster-robust errors combine one-way
sandwiches by inclusion-exclusion over the non-empty subsets of the cluster
dimensions, so the pass gathers one :class:`GroupedGramStats` per subset:
each dimension alone, and each intersection keyed by the record of its labels.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ._base import Field, Layout, Saved, pack, unpack
from ._checks import check_moments
from ._grouped import GroupedGramStats
from ._irls import ClusterSums
from ._levels import LevelMeans, sorted_codes


def intersection_codes(columns):
    """The sorted distinct intersections of the rows' labels, and each row's position.

    An intersection label is a record (a numpy structured array, one field
    per column) that sorts field by field, so intersections of different
    chunks merge by label like any cluster labels; ``(1, "a")`` of one chunk
    and ``(1.0, "a")`` of another are one intersection, as ``1`` and ``1.0``
    are one cluster. Rows are coded column by column on integer codes (no
    Python object per row).

    Examples
    --------
    >>> labels, codes = intersection_codes([np.array([2, 1, 2]), np.array(["b", "a", "b"])])
    >>> labels.tolist(), codes.tolist()
    ([(1, 'a'), (2, 'b')], [1, 0, 1])
    """
    fields = [_native(column) for column in columns]
    key = np.zeros(len(fields[0]), dtype=np.int64)
    for field in fields:
        uniques, codes = sorted_codes(field)
        # prev * size + code keeps the lexicographic order; re-coding keeps it small
        key = np.unique(key * len(uniques) + codes, return_inverse=True)[1].reshape(-1)
    _, first, codes = np.unique(key, return_index=True, return_inverse=True)
    names = [f"d{j}" for j in range(len(fields))]
    labels = np.rec.fromarrays([field[first] for field in fields], names=names)
    return np.asarray(labels).view(np.ndarray), codes.reshape(-1)


def _native(column):
    """A label column as a numpy array of numbers, strings, booleans or datetimes."""
    column = np.asarray(column)
    if column.dtype == object:  # e.g. pandas string columns
        column = np.asarray(column.tolist())
    if column.dtype == object:
        raise ValueError(
            "Multi-way cluster labels must be numbers, strings, booleans or dates in "
            f"every column; got values of type {type(column.flat[0]).__name__}."
        )
    return column


# Most cluster dimensions a saved file may hold (2^8 - 1 subsets).
MAX_DIMENSIONS = 8


class MultiwayGroupedStats(Saved):
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

    _schema = "skbigreg.MultiwayGroupedStats"
    _version = 1
    # Every subset's groups stacked (M in all); each group's labels saved as its
    # positions in the sorted labels of each dimension (``labels{j}``).
    _layout = Layout(
        _schema,
        _version,
        {
            "n_features": Field((), "dims"),
            "way_sizes": Field(("W",), "count"),
            **{f"labels{j}": Field((f"G{j}",), "labels", optional=True)
               for j in range(MAX_DIMENSIONS)},
            "keys": Field(("M", "D"), "count"),
            "n_rows": Field(("M",), "count"),
            "weight_sum": Field(("M",), "weight"),
            "mean": Field(("M", "P"), "finite"),
            "comoment": Field(("M", "P", "P"), "comoment"),
        },
    )

    def __init__(self, ways, grouped, nesting=None):
        self.ways = tuple(tuple(way) for way in ways)
        self.grouped = tuple(grouped)
        self.nesting = None if nesting is None else tuple(nesting)

    @classmethod
    def empty(cls, n_features, n_targets=1, n_dimensions=2):
        """Statistics of no rows (the identity of ``+``)."""
        ways = subsets(n_dimensions)
        return cls(ways, [GroupedGramStats.empty(n_features, n_targets) for _ in ways])

    @classmethod
    def from_arrays(cls, X, y, columns, sample_weight=None):
        """Statistics of one chunk; ``columns`` holds one label array per dimension."""
        ways = subsets(len(columns))
        grouped = []
        for way in ways:
            labels, codes = _coded(columns, way)
            part = GroupedGramStats.from_arrays(X, y, codes, sample_weight)
            part.labels = labels  # codes are the positions among the sorted labels
            grouped.append(part)
        return cls(ways, grouped)

    @classmethod
    def from_rows(cls, rows, columns, levels=None):
        """Sums of per-row scores ``rows`` (n, p) per cluster of every subset.

        With ``levels`` (the absorbed factor's level of each row), also
        whether each level lies in one cluster of each subset.
        """
        ways = subsets(len(columns))
        sums, nesting = [], []
        # one zero column: LevelMeans is used for its labels and nesting only
        placeholder = np.zeros((len(rows), 1))
        for way in ways:
            labels, codes = _coded(columns, way)
            part = ClusterSums.from_rows(rows, codes)
            sums.append(ClusterSums(labels, part.sums))
            if levels is not None:
                nesting.append(LevelMeans.from_arrays(placeholder, levels, None, labels[codes]))
        return cls(ways, sums, nesting if levels is not None else None)

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
        if not isinstance(other, MultiwayGroupedStats):
            raise ValueError(f"Cannot merge MultiwayGroupedStats with {type(other).__name__}.")
        if other.ways != self.ways:
            raise ValueError(
                f"Cannot merge clusters of {self.n_dimensions} dimensions with clusters "
                f"of {other.n_dimensions}: give the same cluster columns with every chunk."
            )
        if (self.nesting is None) != (other.nesting is None):
            raise ValueError("Cannot merge cluster sums with and without levels.")
        nesting = None if self.nesting is None else (
            a + b for a, b in zip(self.nesting, other.nesting))
        return type(self)(self.ways, map(_merged, self.grouped, other.grouped), nesting)

    __radd__ = __add__

    @property
    def shape(self):
        """``(n_features, n_targets)`` of the per-cluster statistics."""
        return self.grouped[0].shape

    # -- serialisation ----------------------------------------------------
    def to_dict(self):
        """Plain arrays (labels as numbers or strings) with schema and version.

        Every subset's groups are stacked; an intersection's label is saved
        as the positions of its parts among each dimension's sorted labels.
        """
        if not isinstance(self.grouped[0], GroupedGramStats) or self.nesting is not None:
            raise ValueError("Only first-pass multi-way statistics (per-cluster Gram "
                             "statistics) are saved; a second pass is made again.")
        tables = [g.labels for way, g in zip(self.ways, self.grouped) if len(way) == 1]
        keys = [_keys(g.labels, way, tables) for way, g in zip(self.ways, self.grouped)]
        stacked = {name: np.concatenate([getattr(g, name) for g in self.grouped])
                   for name in ("n_rows", "weight_sum", "mean", "comoment")}
        return pack(
            self._schema,
            self._version,
            {"n_features": self.grouped[0].n_features, "way_sizes": self.groups_per_way,
             "keys": np.concatenate(keys), **stacked},
            raw={f"labels{j}": table for j, table in enumerate(tables)},
        )

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output, checking every array; never executes code."""
        fields = unpack(data, cls._layout)
        source = f"{cls._schema} data"
        keys, sizes = fields["keys"], fields["way_sizes"]
        n_dims = keys.shape[1]
        tables = [fields.get(f"labels{j}") for j in range(MAX_DIMENSIONS)]
        if not 1 <= n_dims <= MAX_DIMENSIONS or len(sizes) != 2**n_dims - 1 or any(
                (table is None) != (j >= n_dims) for j, table in enumerate(tables)):
            raise ValueError(
                f"{source}: {len(sizes)} subsets, keys of {n_dims} dimensions and label "
                f"tables {[j for j, t in enumerate(tables) if t is not None]} do not agree."
            )
        if sizes.sum() != len(keys):
            raise ValueError(f"{source}: way_sizes add up to {sizes.sum()}, not the "
                             f"{len(keys)} saved groups.")
        n_features = int(fields["n_features"])
        if n_features > fields["mean"].shape[1]:
            raise ValueError(f"{source}: n_features = {n_features} exceeds the "
                             f"{fields['mean'].shape[1]} columns of the means.")
        check_moments(fields["n_rows"], fields["weight_sum"], fields["comoment"], source)
        ways, grouped = subsets(n_dims), []
        for way, (start, stop) in zip(ways, _bounds(sizes)):
            labels = _labels_from_keys(keys[start:stop], way, tables, source)
            grouped.append(GroupedGramStats(
                labels, *(fields[name][start:stop]
                          for name in ("n_rows", "weight_sum", "mean", "comoment")),
                n_features))
        return cls(ways, grouped)

    def __repr__(self):
        return f"MultiwayGroupedStats(n_groups={self.n_groups}, ways={self.ways})"


def _merged(left, right):
    """``left + right`` where an empty side (whose label type is unknown) is no merge."""
    if not len(right.labels):
        return left
    if not len(left.labels):
        return right
    return left + right


def _keys(labels, way, tables):
    """Positions of each label's parts among its dimensions' sorted labels, (G, D)."""
    keys = np.zeros((len(labels), len(tables)), dtype=np.int64)
    if not len(labels):
        return keys
    if len(way) == 1:
        keys[:, way[0]] = np.arange(len(labels))
        return keys
    for i, j in enumerate(way):
        keys[:, j] = np.searchsorted(tables[j], labels[f"d{i}"])
    return keys


def _bounds(sizes):
    stops = np.cumsum(sizes)
    return zip(stops - sizes, stops)


def _labels_from_keys(keys, way, tables, source):
    """The labels of subset ``way`` from saved positions, checked: in range, and
    unique and sorted as every merge assumes."""
    for j in way:
        if len(keys) and keys[:, j].max() >= len(tables[j]):
            raise ValueError(f"{source}: keys of dimension {j} exceed its "
                             f"{len(tables[j])} labels.")
    if len(way) == 1:
        if not np.array_equal(keys[:, way[0]], np.arange(len(keys))):
            raise ValueError(f"{source}: dimension {way[0]} must list each of its labels once.")
        return tables[way[0]]
    codes = keys[:, list(way)]
    later = np.diff(codes, axis=0)
    # lexicographic: the first column that differs must increase
    first = np.argmax(later != 0, axis=1)
    if len(codes) > 1 and not (later[np.arange(len(later)), first] > 0).all():
        raise ValueError(f"{source}: the labels of subset {way} are not unique and sorted.")
    names = [f"d{i}" for i in range(len(way))]
    parts = [tables[j][codes[:, i]] for i, j in enumerate(way)]
    if not len(codes):
        return np.empty(0, dtype=[(name, part.dtype) for name, part in zip(names, parts)])
    return np.asarray(np.rec.fromarrays(parts, names=names)).view(np.ndarray)


def subsets(n_dimensions):
    """The non-empty subsets of ``range(n_dimensions)``, singletons first.

    Examples
    --------
    >>> subsets(3)
    ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2))
    """
    dims = range(n_dimensions)
    return tuple(way for size in dims for way in combinations(dims, size + 1))


def _coded(columns, way):
    """Sorted labels of the clusters of subset ``way`` and each row's position."""
    if len(way) == 1:
        labels, codes = np.unique(np.asarray(columns[way[0]]), return_inverse=True)
        return labels, codes.reshape(-1)
    return intersection_codes([columns[j] for j in way])


def cluster_statistics(X, y, clusters, sample_weight=None):
    """Per-cluster statistics: one-way for a label array, multi-way for a tuple of them."""
    if isinstance(clusters, tuple):
        return MultiwayGroupedStats.from_arrays(X, y, clusters, sample_weight)
    return GroupedGramStats.from_arrays(X, y, clusters, sample_weight)
