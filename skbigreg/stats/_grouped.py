"""Centred Gram statistics per group label, in one pass.

What cluster-robust errors need (the score of each cluster at the final
coefficients) and what per-fold and per-level methods build on. For ``G``
groups, ``K`` features and ``T`` targets the object holds
``G * (K + T)^2 + G * (K + T + 2)`` float64 numbers: 10,000 clusters of 50
features take about 21 MB.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ._accumulators import GramStats
from ._base import Field, Layout, Saved, check_same_labels, check_same_shape, pack, unpack
from ._checks import check_moments
from ._moments import raise_not_finite
from ._sparse import dense_row_blocks, is_sparse

# Rows per block when forming per-row outer products (bounded to ~16 MiB).
_OUTER_BYTES = 2**24
# Groups averaging at least this many rows in a chunk get one BLAS syrk each.
_ROWS_FOR_BLAS = 32


class GroupedGramStats(Saved):
    """Per-group :class:`GramStats`, stored as stacked arrays keyed by label.

    Parameters
    ----------
    labels : ndarray of shape (G,)
        Sorted unique group labels (integers or strings).
    n_rows, weight_sum : ndarray of shape (G,)
    mean : ndarray of shape (G, K + T)
    comoment : ndarray of shape (G, K + T, K + T)
    n_features : int

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats, GroupedGramStats
    >>> rng = np.random.default_rng(0)
    >>> X, y, g = rng.normal(size=(30, 2)), rng.normal(size=30), rng.integers(0, 3, 30)
    >>> grouped = GroupedGramStats.from_arrays(X, y, g)
    >>> grouped.labels
    array([0, 1, 2])
    >>> grouped.total().allclose(GramStats.from_arrays(X, y))
    True
    """

    _schema = "skbigreg.GroupedGramStats"
    _version = 1
    # G and D are read off the labels and the means; every other array must agree.
    _layout = Layout(
        _schema,
        _version,
        {
            "n_features": Field((), "dims"),
            "labels": Field(("G",), "labels"),
            "n_rows": Field(("G",), "count"),
            "weight_sum": Field(("G",), "weight"),
            "mean": Field(("G", "D"), "finite"),
            "comoment": Field(("G", "D", "D"), "comoment"),
        },
    )

    def __init__(self, labels, n_rows, weight_sum, mean, comoment, n_features):
        self.labels = np.asarray(labels)
        self.n_rows = np.asarray(n_rows, dtype=np.int64)
        self.weight_sum = np.asarray(weight_sum, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.comoment = np.asarray(comoment, dtype=np.float64)
        self.n_features = int(n_features)

    @property
    def n_groups(self):
        """Number of groups ``G``."""
        return len(self.labels)

    @property
    def n_targets(self):
        return self.mean.shape[1] - self.n_features

    @property
    def shape(self):
        """``(n_features, n_targets)``."""
        return (self.n_features, self.n_targets)

    @classmethod
    def empty(cls, n_features, n_targets=1, label_dtype=np.int64):
        """Statistics of no groups (the identity of ``+``)."""
        size = n_features + n_targets
        return cls(
            np.empty(0, dtype=label_dtype),
            np.empty(0),
            np.empty(0),
            np.empty((0, size)),
            np.empty((0, size, size)),
            n_features,
        )

    @classmethod
    def from_arrays(cls, X, y, groups, sample_weight=None):
        """Per-group statistics of one chunk (rows sorted by label internally).

        A scipy.sparse ``X`` is densified one block of rows at a time (the
        result holds a dense ``(K + T)^2`` matrix per group anyway).
        """
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(y), -1) if y.ndim == 1 else y
        if is_sparse(X):
            groups = np.asarray(groups)
            return sum(cls.from_arrays(b.X, b.y, groups[b.rows], b.sample_weight)
                       for b in dense_row_blocks(X, y, sample_weight))
        X = np.asarray(X, dtype=np.float64)
        labels, codes = np.unique(np.asarray(groups), return_inverse=True)
        n, k = X.shape
        Z = np.hstack([X, y])
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        n_groups = len(labels)
        weight_sum = np.bincount(codes, weights=w, minlength=n_groups)
        indicator = sparse.csr_matrix(
            (w, (codes, np.arange(n))), shape=(n_groups, n)
        )
        safe = np.where(weight_sum > 0, weight_sum, 1.0)
        mean = np.asarray(indicator @ Z) / safe[:, None]
        scaled = (Z - mean[codes]) * np.sqrt(w)[:, None]
        comoment = _group_comoments(scaled, codes, n_groups)
        stats = cls(
            labels,
            np.bincount(codes, minlength=n_groups),
            weight_sum,
            mean,
            comoment,
            k,
        )
        if not (np.isfinite(stats.mean).all() and np.isfinite(stats.comoment).all()):
            raise_not_finite(X, y, sample_weight)
        return stats

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "grouped statistics")
        check_same_labels(self.labels, other.labels, "grouped statistics")
        labels = np.union1d(self.labels, other.labels)
        size = self.mean.shape[1]
        out = {
            "n_rows": np.zeros(len(labels), dtype=np.int64),
            "weight_sum": np.zeros(len(labels)),
            "mean": np.zeros((len(labels), size)),
            "comoment": np.zeros((len(labels), size, size)),
        }
        left = np.searchsorted(labels, self.labels)
        right = np.searchsorted(labels, other.labels)
        for key in out:
            out[key][left] = getattr(self, key)
        # Chan-Golub-LeVeque update, vectorised over the labels in ``other``.
        w1 = out["weight_sum"][right]
        w2 = other.weight_sum
        total = w1 + w2
        ratio = np.divide(w2, total, out=np.zeros_like(total), where=total > 0)
        delta = other.mean - out["mean"][right]
        out["mean"][right] = out["mean"][right] + delta * ratio[:, None]
        scale = w1 * ratio
        out["comoment"][right] += (
            other.comoment + scale[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        out["weight_sum"][right] = total
        out["n_rows"][right] += other.n_rows
        return type(self)(labels, n_features=self.n_features, **out)

    __radd__ = __add__

    def group(self, label):
        """The :class:`GramStats` of one group."""
        (index,) = np.flatnonzero(self.labels == label)
        return GramStats(
            self.n_features,
            self.n_targets,
            self.n_rows[index],
            self.weight_sum[index],
            self.mean[index],
            self.comoment[index],
        )

    def total(self):
        """Statistics of all groups merged (equals the ungrouped statistics)."""
        return sum(
            (self.group(label) for label in self.labels),
            GramStats.empty(self.n_features, self.n_targets),
        )

    def to_dict(self):
        """Plain arrays (labels as numbers or strings) with schema and version."""
        return pack(
            self._schema,
            self._version,
            {
                "n_features": self.n_features,
                "n_rows": self.n_rows,
                "weight_sum": self.weight_sum,
                "mean": self.mean,
                "comoment": self.comoment,
            },
            raw={"labels": self.labels},
        )

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output, checking every array; never executes code."""
        fields = unpack(data, cls._layout)
        n_features = int(fields.pop("n_features"))
        source = f"{cls._schema} data"
        if n_features > fields["mean"].shape[1]:
            raise ValueError(
                f"{source}: n_features = {n_features} exceeds the {fields['mean'].shape[1]} "
                "columns of the means."
            )
        check_moments(fields["n_rows"], fields["weight_sum"], fields["comoment"], source)
        return cls(n_features=n_features, **fields)

    def __repr__(self):
        return (
            f"GroupedGramStats(n_groups={self.n_groups}, n_features={self.n_features}, "
            f"n_targets={self.n_targets})"
        )



def _group_comoments(scaled, codes, n_groups):
    """``sum_{i in g} z_i z_i'`` for every group ``g`` of the (centred) rows."""
    n, size = scaled.shape
    if n >= _ROWS_FOR_BLAS * n_groups:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
        out = np.empty((n_groups, size, size))
        for g in range(n_groups):
            block = scaled[order[bounds[g] : bounds[g + 1]]]
            out[g] = block.T @ block
        return out
    # Many small groups: per-row outer products summed by a sparse indicator.
    out = np.zeros((n_groups, size * size))
    step = max(1, _OUTER_BYTES // (8 * size * size))
    for start in range(0, n, step):
        block = scaled[start : start + step]
        outer = (block[:, :, None] * block[:, None, :]).reshape(len(block), -1)
        rows = sparse.csr_matrix(
            (np.ones(len(block)), (codes[start : start + step], np.arange(len(block)))),
            shape=(n_groups, len(block)),
        )
        out += rows @ outer
    return out.reshape(n_groups, size, size)
