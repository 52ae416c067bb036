"""Fit from a chunk source: check each chunk's row labels; merge every chunk, then solve once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io import LABEL_NAMES
from ..stats import GroupedGramStats
from ._base import validate_chunk


class ChunkLabels:
    """The row labels an estimator's ``fit_chunks`` reads, checked chunk by chunk.

    A chunk carrying a label the estimator does not read is refused (it would
    be silently ignored otherwise); a label is on every chunk or on none, with
    one value per row.
    """

    def __init__(self, estimator, reads, required=()):
        self.owner = type(estimator).__name__
        self.reads = tuple(reads)
        self.required = tuple(required)
        self.carried = None  # the labels of the first chunk

    def check(self, chunk):
        carried = {name for name in LABEL_NAMES if chunk.label(name) is not None}
        unread = sorted(carried - set(self.reads))
        if unread:
            raise ValueError(
                f"The chunks carry {unread} labels, which {self.owner}.fit_chunks does "
                f"not read (it reads {list(self.reads)})."
            )
        missing = [name for name in self.required if name not in carried]
        if missing:
            raise ValueError(f"{self.owner}.fit_chunks needs {missing} labels on every chunk.")
        for name in carried:
            shape = np.shape(chunk.label(name))
            if shape != (chunk.n_rows,):
                raise ValueError(f"{name} has shape {shape}; expected ({chunk.n_rows},).")
        if self.carried is None:
            self.carried = carried
        elif carried != self.carried:
            changed = sorted(carried ^ self.carried)
            raise ValueError(f"The {changed} labels must be on every chunk or on none.")


@dataclass(frozen=True)
class MergedChunks:
    """Statistics of chunks merged by ``+``, before any solve.

    ``extra`` is the estimator's label-keyed statistics (the second value of
    its ``_map_chunk``); ``clusters`` the per-cluster statistics, or None.
    """

    stats: object
    extra: object
    clusters: object
    n_samples: int
    y_1d: bool

    def __add__(self, other):
        clusters = None if self.clusters is None else self.clusters + other.clusters
        return MergedChunks(self.stats + other.stats, self.extra + other.extra, clusters,
                            self.n_samples + other.n_samples, self.y_1d)


def merge_chunks(estimator, source, labels, groups_of):
    """``partial_fit``'s validation and statistics on every chunk, merged, unsolved.

    Solving once, on the merged statistics, gives ``fit`` on all rows; it
    also spares the per-chunk solves, whose rank-deficiency warnings could
    be false (a level or a partition not seen yet). Empty chunks are
    skipped. ``labels`` is a :class:`ChunkLabels`; ``groups_of(chunk)``
    gives the ``groups`` argument of the estimator's ``_map_chunk``.
    Sets the estimator's ``n_features_in_`` and ``feature_names_in_``.
    """
    merged = None
    for chunk in source:
        labels.check(chunk)
        if chunk.n_rows == 0:
            continue
        X, y, weight, y_1d = validate_chunk(estimator, chunk.X, chunk.y, chunk.sample_weight,
                                            reset=merged is None)
        stats, extra = estimator._map_chunk(X, y, weight, groups_of(chunk))
        clusters = chunk.label("clusters")
        if clusters is not None:
            clusters = GroupedGramStats.from_arrays(X, y, np.asarray(clusters), weight)
        part = MergedChunks(stats, extra, clusters, X.shape[0], y_1d)
        merged = part if merged is None else merged + part
    if merged is None:
        raise ValueError("The chunk source produced no rows.")
    return merged
