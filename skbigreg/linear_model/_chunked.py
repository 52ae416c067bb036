"""Fit from a chunk source: check each chunk's row labels; merge every chunk, then solve once."""

from __future__ import annotations

import numpy as np

from ..io import LABEL_NAMES


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


def merge_chunks(estimator, source, labels, groups_of):
    """``partial_fit``'s validation and statistics on every chunk, merged, unsolved:
    a :class:`~skbigreg.linear_model._base.ChunkPart`.

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
        part = estimator._chunk_part(chunk.X, chunk.y, chunk.sample_weight,
                                     chunk.label("clusters"), groups_of(chunk),
                                     reset=merged is None)
        merged = part if merged is None else merged + part
    if merged is None:
        raise ValueError("The chunk source produced no rows.")
    return merged


def fit_merged_chunks(estimator, source, labels, groups_of, extra):
    """Reset ``estimator``, merge every chunk (:func:`merge_chunks`) and solve once.

    ``extra`` names the fitted attribute that holds the merged label-keyed
    statistics; per-cluster statistics, when the chunks carry clusters, go
    to ``cluster_stats_``. Returns the merged :class:`ChunkPart`.
    """
    estimator._reset()
    merged = merge_chunks(estimator, source, labels, groups_of)
    estimator._set_statistics(
        merged.stats, merged.y_1d, getattr(estimator, "feature_names_in_", None),
        merged.n_samples, **{extra: merged.extra}, cluster_stats_=merged.clusters,
    )
    return merged
