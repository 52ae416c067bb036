"""Per-level sums of several absorbed factors, mergeable by addition.

Absorbing two or more high-dimensional factors (worker and firm) takes
several passes over the rows; every pass after the first maps a chunk to the
weighted sums of some row vectors per level of each factor. Once the first
pass has fixed every factor's levels (:class:`FactorMeans`), a level is a
position, so these sums merge by plain addition and take ``O(G (K + 1))``
memory for ``G`` levels in all, never ``O(rows)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._base import check_same_shape
from ._levels import LevelMeans


@dataclass(frozen=True)
class FactorMeans:
    """Weight, row count and means of ``[X, y]`` per level of each of several factors.

    One :class:`LevelMeans` per factor, merged factor by factor: the first
    pass of a multi-way fixed-effects fit. The weighted sums per level
    (``weight_sum * mean``) are the right-hand side of the normal equations
    of the effects.

    Attributes
    ----------
    factors : tuple of LevelMeans

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import FactorMeans
    >>> Z = np.array([[1.0], [2.0], [4.0]])
    >>> codes = np.array([[0, 5], [0, 6], [1, 5]])
    >>> total = FactorMeans.from_arrays(Z[:2], codes[:2]) + FactorMeans.from_arrays(Z[2:], codes[2:])
    >>> [f.mean[:, 0].tolist() for f in total.factors]
    [[1.5, 4.0], [2.5, 2.0]]
    """

    factors: tuple

    @classmethod
    def empty(cls, n_factors, n_columns):
        """No levels: the identity of ``+``."""
        return cls(tuple(LevelMeans.empty(n_columns) for _ in range(n_factors)))

    @classmethod
    def from_arrays(cls, Z, levels, sample_weight=None, clusters=None):
        """Per-level statistics of ``Z`` (n, D) for each column of ``levels`` (n, F).

        ``levels`` is a sequence of F label arrays or an (n, F) array.
        """
        columns = levels.T if isinstance(levels, np.ndarray) else levels
        return cls(tuple(LevelMeans.from_arrays(Z, np.asarray(column), sample_weight, clusters)
                         for column in columns))

    @property
    def shape(self):
        """``(F, D)``: factors and columns."""
        return (len(self.factors), self.factors[0].mean.shape[1])

    @property
    def sizes(self):
        """Number of levels of each factor."""
        return tuple(len(f.labels) for f in self.factors)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "factor means", axes=" (n_factors, n_columns)")
        return type(self)(tuple(a + b for a, b in zip(self.factors, other.factors)))

    __radd__ = __add__

    def __repr__(self):
        return f"FactorMeans(n_levels={self.sizes}, n_columns={self.shape[1]})"


@dataclass(frozen=True)
class LevelSums:
    """Weighted sums of row vectors per level of each factor, levels coded.

    ``sums[f][g]`` is ``sum_i w_i v_i`` over the rows whose level of factor
    ``f`` has position ``g`` (positions fixed by a first pass). A pass of a
    multi-way fixed-effects fit maps each chunk to one of these; they merge
    by addition, in any order.

    Attributes
    ----------
    sums : tuple of ndarray, each of shape (G_f, D)

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import LevelSums
    >>> V = np.array([[1.0], [2.0], [4.0]])
    >>> codes = np.array([[0, 0, 1], [1, 0, 1]])  # factor by factor
    >>> total = LevelSums.from_codes(V[:1], codes[:, :1], (2, 2)) + LevelSums.from_codes(
    ...     V[1:], codes[:, 1:], (2, 2))
    >>> [s[:, 0].tolist() for s in total.sums]
    [[3.0, 4.0], [2.0, 5.0]]
    """

    sums: tuple

    @classmethod
    def empty(cls, sizes, n_columns):
        """Zero sums: the identity of ``+``."""
        return cls(tuple(np.zeros((size, n_columns)) for size in sizes))

    @classmethod
    def from_codes(cls, V, codes, sizes, sample_weight=None):
        """Sums of ``w_i v_i`` (``V`` (n, D)) per level.

        ``codes`` holds, for each factor, every row's level position: F
        arrays of shape (n,) (or an (F, n) array).
        """
        sums = tuple(np.empty((size, V.shape[1])) for size in sizes)
        for j in range(V.shape[1]):
            # one contiguous column at a time (bincount reads it fastest), written
            # straight into the result: no stack of D level-sized temporaries
            column = np.ascontiguousarray(V[:, j]) if sample_weight is None else \
                V[:, j] * sample_weight
            for f, size in enumerate(sizes):
                sums[f][:, j] = np.bincount(codes[f], weights=column, minlength=size)
        return cls(sums)

    def add_to(self, total):
        """``total + self``, adding into ``total``'s arrays (which must be the caller's own).

        A pass that sums many chunks' level sums keeps one set of
        level-sized arrays this way instead of allocating a new one per chunk.
        """
        if total is None:
            return self
        check_same_shape(total, self, "level sums", axes="")
        for a, b in zip(total.sums, self.sums):
            a += b
        return total

    @property
    def shape(self):
        """``((G_1, D), ..., (G_F, D))``."""
        return tuple(s.shape for s in self.sums)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "level sums", axes="")
        return type(self)(tuple(a + b for a, b in zip(self.sums, other.sums)))

    __radd__ = __add__

    def __repr__(self):
        return f"LevelSums(shape={self.shape})"


@dataclass(frozen=True)
class LevelCoder:
    """Positions of one factor's labels among its sorted levels (from a first pass).

    Integer labels of a compact range are looked up in a table (``O(n)``);
    other labels by binary search.
    """

    labels: np.ndarray
    table: np.ndarray | None = None
    low: int = 0

    @classmethod
    def of(cls, labels):
        """A coder for the sorted distinct ``labels``."""
        labels = np.asarray(labels)
        if labels.dtype.kind in "iu" and labels.size:
            low, high = int(labels.min()), int(labels.max())
            if high - low < 4 * labels.size + 1024:
                table = np.full(high - low + 1, -1, dtype=np.int64)
                table[(labels - labels.dtype.type(low)).astype(np.int64)] = np.arange(labels.size)
                return cls(labels, table, low)
        return cls(labels)

    def codes(self, values, name="entities"):
        """Each value's position; a ``ValueError`` naming ``name`` for a level not seen."""
        values = np.asarray(values)
        if self.table is not None and values.dtype.kind in "iu":
            offset = values.astype(np.int64) - self.low
            inside = (offset >= 0) & (offset < len(self.table))
            position = self.table[np.where(inside, offset, 0)]
            unseen = ~inside | (position < 0)
        else:
            position = np.clip(np.searchsorted(self.labels, values), 0, max(len(self.labels) - 1, 0))
            unseen = self.labels[position] != values if len(self.labels) else np.ones(len(values), bool)
        if np.any(unseen):
            raise ValueError(
                f"{name} contains levels not seen in the first pass (e.g. "
                f"{values[np.argmax(unseen)]!r}): every pass must read the same rows."
            )
        return position


@dataclass(frozen=True)
class LevelPairs:
    """The distinct pairs of levels of two factors seen together in a row.

    The pairs are the edges of the bipartite graph of the two factors'
    levels (workers and firms linked by employment); its connected
    components count the effects the two factors cannot tell apart: one
    per component (fixest's count of redundant effects). Levels are
    positions fixed by a first pass; a pair ``(g, h)`` is stored as the key
    ``g * G_2 + h``. Merging concatenates the keys and drops repeats once
    they have doubled the distinct keys last counted, so memory stays within
    about twice the distinct pairs and a merge of a small part costs about
    its size; any order of merges gives the same pairs.

    Attributes
    ----------
    sizes : tuple of int
        ``(G_1, G_2)``: the levels of each factor.
    keys : ndarray of int64
        The keys (repeats possible; :meth:`distinct` drops them).
    n_distinct : int
        Distinct keys when last counted (a lower bound).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import LevelPairs
    >>> worker, firm = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    >>> pairs = LevelPairs.from_codes(worker[:2], firm[:2], (3, 3)) + LevelPairs.from_codes(
    ...     worker[2:], firm[2:], (3, 3))
    >>> len(pairs.distinct()), pairs.n_components()
    (4, 2)
    """

    sizes: tuple
    keys: np.ndarray
    n_distinct: int

    @classmethod
    def from_codes(cls, first, second, sizes):
        """The distinct pairs of the rows' level positions ``first`` and ``second``."""
        keys = np.asarray(first, dtype=np.int64) * int(sizes[1]) + np.asarray(second, np.int64)
        keys = np.unique(keys)
        return cls(tuple(int(s) for s in sizes), keys, len(keys))

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if self.sizes != other.sizes:
            raise ValueError(
                f"Cannot merge level pairs of {self.sizes} and {other.sizes} levels.")
        keys = np.concatenate([self.keys, other.keys])
        n_distinct = max(self.n_distinct, other.n_distinct)
        if len(keys) > 2 * n_distinct:
            keys = np.unique(keys)
            n_distinct = len(keys)
        return type(self)(self.sizes, keys, n_distinct)

    __radd__ = __add__

    def distinct(self):
        """The sorted distinct keys."""
        return np.unique(self.keys)

    def n_components(self):
        """Connected components of the levels linked by the pairs (isolated levels count)."""
        g1, g2 = self.sizes
        first, second = np.divmod(self.keys, g2) if g2 else (self.keys, self.keys)
        graph = coo_matrix((np.ones(len(self.keys)), (first, g1 + second)),
                           shape=(g1 + g2, g1 + g2))
        return int(connected_components(graph, directed=False)[0])

    def __repr__(self):
        return f"LevelPairs(sizes={self.sizes}, n_keys={len(self.keys)})"
