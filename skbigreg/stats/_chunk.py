"""The map of the least-squares estimators, runnable on any worker.

A chunk (from a joblib worker, a Dask partition, a file batch) becomes a
:class:`LinearChunkStatistics`; these add up with ``+``. The checks here are
the ones a worker can make without the estimator: the feature count and
names, matching lengths, weights, and finiteness (read off the statistics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._accumulators import GramStats, QRStats
from ._grouped import GroupedGramStats

_ACCUMULATORS = {"gram": GramStats, "qr": QRStats}


@dataclass(frozen=True)
class ChunkSpec:
    """What every chunk must agree on, fixed by the first chunk."""

    solver: str
    n_features: int
    n_targets: int
    feature_names: tuple | None = None
    with_clusters: bool = False


@dataclass(frozen=True)
class LinearChunkStatistics:
    """Statistics of one or more chunks: totals and (optionally) per cluster."""

    stats: object
    clusters: GroupedGramStats | None = None

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        clusters = None
        if self.clusters is not None and other.clusters is not None:
            clusters = self.clusters + other.clusters
        return LinearChunkStatistics(self.stats + other.stats, clusters)

    __radd__ = __add__


def linear_chunk_statistics(X, y, sample_weight=None, clusters=None, *, spec):
    """Check one chunk against ``spec`` and reduce it to statistics."""
    names = getattr(X, "columns", None)
    if spec.feature_names is not None and names is not None:
        names = tuple(str(c) for c in names)
        if names != spec.feature_names:
            raise ValueError(
                f"Chunk has feature names {list(names)}, expected {list(spec.feature_names)}."
            )
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(len(y), -1) if y.ndim == 1 else y
    if X.ndim != 2 or X.shape[1] != spec.n_features:
        raise ValueError(
            f"X has {X.shape[1] if X.ndim == 2 else X.ndim} features, but the model "
            f"is expecting {spec.n_features} features as input."
        )
    if len(y) != len(X) or y.shape[1] != spec.n_targets:
        raise ValueError(f"y has shape {y.shape}; expected ({len(X)}, {spec.n_targets}).")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (len(X),):
            raise ValueError(f"sample_weight has shape {sample_weight.shape}; expected ({len(X)},).")
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
    stats = _ACCUMULATORS[spec.solver].from_arrays(X, y, sample_weight)
    grouped = None
    if spec.with_clusters:
        if clusters is None:
            raise ValueError("clusters must be given with every chunk or with none.")
        grouped = GroupedGramStats.from_arrays(X, y, np.asarray(clusters), sample_weight)
    return LinearChunkStatistics(stats, grouped)


def chunk_statistics(chunk, *, spec):
    """:func:`linear_chunk_statistics` of a :class:`skbigreg.io.Chunk`."""
    return linear_chunk_statistics(
        chunk.X, chunk.y, chunk.sample_weight, chunk.labels.get("clusters"), spec=spec
    )
