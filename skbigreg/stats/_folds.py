"""Statistics per cross-validation fold, and per (train, test) split.

The per-fold statistics of a partition of the rows add up fold by fold like
the totals. The training statistics of fold ``k`` are the total minus fold
``k``, computed from centred moments (no offset loss), or the sum of the
other folds for TSQR statistics, which have no subtraction. How rows are
assigned to folds (hashing) is model selection's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._accumulators import GramStats, QRStats, raw_block_statistics
from ._base import Field, Layout, Saved, check_same_shape, pack, unpack
from ._checks import check_moments
from ._moments import block_rows

_ACCUMULATORS = {cls._schema: cls for cls in (GramStats, QRStats)}
# Cache-sized row blocks per raw block of a fold (see SortedFoldGram).
_RAW_BLOCKS = 4


def _stacked_fields(prefix, dim):
    """Fields of a tuple of accumulators saved as stacked arrays."""
    return {
        f"{prefix}n_rows": Field((dim,), "count"),
        f"{prefix}weight_sum": Field((dim,), "weight"),
        f"{prefix}mean": Field((dim, "D"), "finite"),
        f"{prefix}comoment": Field((dim, "D", "D"), "comoment", optional=True),
        f"{prefix}r": Field((dim, "D", "D"), "upper", optional=True),
    }


def _layout(schema, prefixes):
    fields = {"accumulator": Field((), "text"), "shape": Field((2,), "dims")}
    for prefix, dim in prefixes:
        fields.update(_stacked_fields(prefix, dim))
    return Layout(schema, 1, fields, _shape_dims)


def _shape_dims(values):
    n_features, n_targets = (int(v) for v in values["shape"])
    return {"D": n_features + n_targets}


def _pack(schema, parts):
    """``parts`` maps a key prefix to a non-empty tuple of accumulators of one type."""
    first = next(iter(parts.values()))[0]
    fields = {"shape": first.shape}
    for prefix, stats in parts.items():
        fields[f"{prefix}n_rows"] = [s.n_rows for s in stats]
        fields[f"{prefix}weight_sum"] = [s.weight_sum for s in stats]
        fields[f"{prefix}mean"] = np.stack([s.mean for s in stats])
        fields[prefix + first._second] = np.stack([getattr(s, s._second) for s in stats])
    return pack(schema, 1, fields, raw={"accumulator": first._schema})


def _unpack(data, layout, prefixes):
    """Tuples of accumulators, one per prefix, from checked stacked arrays."""
    fields = unpack(data, layout)
    source = f"{layout.schema} data"
    accumulator = _ACCUMULATORS.get(fields["accumulator"])
    if accumulator is None:
        raise ValueError(
            f"{source}: unknown accumulator {fields['accumulator']!r} "
            f"(expected one of {sorted(_ACCUMULATORS)})."
        )
    n_features, n_targets = (int(v) for v in fields["shape"])
    out = []
    for prefix in prefixes:
        wrong = "r" if accumulator is GramStats else "comoment"
        second = fields.get(prefix + accumulator._second)
        if second is None or prefix + wrong in fields:
            raise ValueError(
                f"{source}: {accumulator.__name__} folds are saved as "
                f"{prefix + accumulator._second!r} alone."
            )
        n_rows, weight_sum, mean = (fields[prefix + k] for k in ("n_rows", "weight_sum", "mean"))
        if len(n_rows) == 0:
            raise ValueError(f"{source}: no folds saved.")
        check_moments(n_rows, weight_sum, second, source)
        out.append(tuple(
            accumulator(n_features, n_targets, int(n_rows[k]), float(weight_sum[k]),
                        mean[k], second[k])
            for k in range(len(n_rows))
        ))
    return out


@dataclass(frozen=True)
class FoldStatistics(Saved):
    """Statistics of each fold of a partition of the rows (mergeable).

    Attributes
    ----------
    folds : tuple of GramStats or QRStats
        One entry per fold, in fold order; empty folds hold empty statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import FoldStatistics, GramStats
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    >>> folds = FoldStatistics((GramStats.from_arrays(X[:10], y[:10]),
    ...                         GramStats.from_arrays(X[10:], y[10:])))
    >>> train, test = folds.split(0)
    >>> train.allclose(GramStats.from_arrays(X[10:], y[10:]))
    True
    """

    folds: tuple

    _schema = "skbigreg.FoldStatistics"
    _layout = _layout(_schema, [("", "F")])

    @classmethod
    def empty(cls, n_splits, n_features, n_targets=1, accumulator=GramStats):
        """``n_splits`` folds of no rows: the identity of ``+``."""
        return cls(tuple(accumulator.empty(n_features, n_targets) for _ in range(n_splits)))

    @property
    def n_splits(self):
        return len(self.folds)

    @property
    def shape(self):
        """``(n_splits, n_features, n_targets)``."""
        return (self.n_splits, *self.folds[0].shape)

    def __add__(self, other):
        """Fold-by-fold merge of the statistics of two row sets."""
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "fold statistics", axes=" (n_splits, n_features, n_targets)")
        return FoldStatistics(tuple(a + b for a, b in zip(self.folds, other.folds)))

    __radd__ = __add__

    def total(self):
        """Statistics of all rows."""
        total = self.folds[0]
        for fold in self.folds[1:]:
            total = total + fold
        return total

    def split(self, k, total=None):
        """``(train, test)`` statistics of fold ``k``.

        ``train`` is ``total - fold k`` for Gram statistics (centred, so
        offsets cost no accuracy) and the sum of the other folds for TSQR.
        """
        test = self.folds[k]
        if not hasattr(test, "r"):
            total = self.total() if total is None else total
            return total - test, test
        others = [fold for j, fold in enumerate(self.folds) if j != k]
        train = others[0]
        for fold in others[1:]:
            train = train + fold
        return train, test

    def to_dict(self):
        """Plain arrays (the folds stacked) with schema and version."""
        return _pack(self._schema, {"": self.folds})

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output, checking every array; never executes code."""
        (folds,) = _unpack(data, cls._layout, [""])
        return cls(folds)


@dataclass(frozen=True)
class SplitStatistics(Saved):
    """Train and test statistics of splits that do not partition the rows.

    Gathered from in-memory rows only: they cannot be merged across chunks.

    Attributes
    ----------
    train, test : tuple of GramStats or QRStats
        The statistics of each split's training and test rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats, SplitStatistics
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    >>> splits = SplitStatistics((GramStats.from_arrays(X[:20], y[:20]),),
    ...                          (GramStats.from_arrays(X[15:], y[15:]),))
    >>> again = SplitStatistics.from_dict(splits.to_dict())
    >>> again.split(0)[1].n_rows
    15
    """

    train: tuple
    test: tuple

    _schema = "skbigreg.SplitStatistics"
    _layout = _layout(_schema, [("train_", "F"), ("test_", "F")])

    @property
    def n_splits(self):
        return len(self.test)

    def __add__(self, other):
        raise ValueError(
            "Statistics of (train, test) splits that do not partition the rows "
            "cannot be merged across chunks; use cv=int (hashed folds) or a "
            "splitter whose test sets partition the rows."
        )

    def split(self, k, total=None):
        return self.train[k], self.test[k]

    def to_dict(self):
        """Plain arrays (train and test statistics stacked) with schema and version."""
        return _pack(self._schema, {"train_": self.train, "test_": self.test})

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output, checking every array; never executes code."""
        train, test = _unpack(data, cls._layout, ["train_", "test_"])
        return cls(train, test)


class SortedFoldGram:
    """Per-fold Gram statistics of unweighted rows handed over sorted by fold.

    # C_k = sum over blocks b of fold k of  Z_b'Z_b - n_b m_b m_b',  Z = [X, y]

    Pieces of rows arrive sorted by fold, as ``[X, y, 1]`` (:meth:`add`,
    then :meth:`close_full_blocks`).
    Each fold's raw products ``[X, y, 1]'[X, y, 1]`` -- one ``syrk`` per fold
    and piece, whose last column holds the row sums and count -- are summed
    over the pieces until the fold holds a block's rows
    (:func:`~skbigreg.stats._moments.block_rows`, the blocks of a chunk's
    own Gram). The block is then centred from its sums, exactly as an
    unweighted block of :meth:`GramStats.from_arrays` is, and merged into the
    fold. A block whose offsets forbid the raw form (a column's mean exceeds
    its spread) is recomputed from its rows instead: ``refill(k, start,
    stop)`` returns the statistics of fold ``k``'s rows among rows
    ``start:stop`` of the chunk.

    Parameters
    ----------
    n_splits, n_features, n_targets : int
    refill : callable ``(k, start, stop) -> GramStats``

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats
    >>> from skbigreg.stats._folds import SortedFoldGram
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    >>> gram = SortedFoldGram(2, 2, 1, refill=None)
    >>> gram.add(np.column_stack([X, y, np.ones(30)]), np.array([0, 10, 30]), 30)
    >>> gram.pooled_offsets_fit()
    True
    >>> gram.result().folds[1].allclose(GramStats.from_arrays(X[10:], y[10:]))
    True
    """

    def __init__(self, n_splits, n_features, n_targets, refill):
        self.n_features, self.n_targets = n_features, n_targets
        self._refill = refill
        # Raw sums need no cache-sized block (nothing is centred in place): blocks
        # of several cache blocks spare merges, the offset check stays per block.
        self._block_rows = _RAW_BLOCKS * block_rows(n_features + n_targets)
        size = n_features + n_targets + 1
        self._raw = np.zeros((n_splits, size, size))  # [X, y, 1]'[X, y, 1] of the open block
        self._rows = np.zeros(n_splits, dtype=np.int64)
        self._start = np.zeros(n_splits, dtype=np.int64)  # chunk row where the open block began
        self._seen = 0  # chunk rows added so far
        self._folds = [GramStats.empty(n_features, n_targets) for _ in range(n_splits)]

    def add(self, Z_sorted, bounds, n_rows):
        """Add the chunk's next ``n_rows`` rows, as ``[X, y, 1]`` sorted by fold.

        The rows of fold ``k`` are ``Z_sorted[bounds[k]:bounds[k + 1]]``.
        """
        counts = np.diff(bounds)
        raw = self._raw
        for k in np.flatnonzero(counts).tolist():
            a = Z_sorted[bounds[k]:bounds[k + 1]]
            raw[k] += a.T @ a  # BLAS syrk straight on the sorted rows
        self._rows += counts
        self._seen += n_rows

    def close_full_blocks(self):
        """Centre and merge every open block that holds a block's rows."""
        for k in np.flatnonzero(self._rows >= self._block_rows):
            self._close(k)

    def pooled_offsets_fit(self):
        """Whether the rows added so far, pooled over the folds, allow raw products."""
        raw = self._raw.sum(axis=0)
        return raw_block_statistics(
            GramStats, self.n_features, int(self._rows.sum()), raw[:-1, -1], raw[:-1, :-1]
        ) is not None

    def result(self):
        """The :class:`FoldStatistics` of every row added."""
        for k in np.flatnonzero(self._rows):
            self._close(k)
        return FoldStatistics(tuple(self._folds))

    def _close(self, k):
        """Merge fold ``k``'s open block into the fold and open a new one."""
        raw = self._raw[k]
        part = raw_block_statistics(
            GramStats, self.n_features, int(self._rows[k]), raw[:-1, -1], raw[:-1, :-1])
        if part is None:  # offsets (or non-finite values): from the block's rows
            part = self._refill(k, int(self._start[k]), self._seen)
        self._folds[k] = self._folds[k] + part
        self._raw[k] = 0.0
        self._rows[k] = 0
        self._start[k] = self._seen
