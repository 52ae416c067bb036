"""Partition gathering: each partition's rows, collected across the chunks of a source.

A partition (a machine, a file, a site) is a run of equal ``partitions``
labels; a partition may span chunks and a chunk may hold several
partitions, but a partition's rows must be contiguous in the source, so
that one partition at a time sits in memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._labels import check_label

__all__ = ["PartitionRows", "iter_partitions"]


@dataclass(frozen=True)
class PartitionRows:
    """One partition's rows, gathered across chunks.

    Attributes
    ----------
    label : object
        The partition's label (its position among the non-empty chunks when
        the chunks carry no ``partitions`` labels).
    weight : float
        Total sample weight (the row count when unweighted).
    X, y : array-like or None
        The rows (``X`` keeps a DataFrame's columns); None when not gathered.
    sample_weight : ndarray of shape (n_rows,) or None
    """

    label: object
    weight: float
    X: object = None
    y: object = None
    sample_weight: np.ndarray | None = None


_NO_PARTITION = object()  # before the first run


def iter_partitions(source, check=None, gather=True):
    """Each partition of ``source`` in order, its rows gathered across chunks.

    Partitions are the runs of equal ``partitions`` labels, or the non-empty
    chunks (labelled 0, 1, ...) when the chunks carry none. A label coming
    back after another partition began raises ``ValueError``, as does a
    missing (None or NaN) label.

    Parameters
    ----------
    source : iterable of Chunk
        E.g. a :class:`~skbigreg.io.ChunkSource`.
    check : callable, optional
        Called on every chunk first (the estimator's label checks).
    gather : bool, default=True
        False: yield the labels and weights alone (a cheap first pass).

    Yields
    ------
    PartitionRows

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.io import iter_chunks, iter_partitions
    >>> X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    >>> source = iter_chunks(X, y, chunk_rows=4, partitions=[7, 7, 7, 8, 8, 8])
    >>> [(part.label, len(part.y)) for part in iter_partitions(source)]
    [(7, 3), (8, 3)]
    """
    finished, current, pieces, weight = set(), _NO_PARTITION, [], 0.0
    for label, rows in _chunk_runs(source, check):
        if label != current:
            if label in finished:
                raise ValueError(
                    f"The rows of partition {label!r} are not contiguous in the files "
                    "or chunks: sort the rows by the partition label, or give each "
                    "partition its own file."
                )
            if current is not _NO_PARTITION:
                yield _partition(current, weight, pieces, gather)
                finished.add(current)
            current, pieces, weight = label, [], 0.0
        weight += _weight(rows)
        if gather:
            pieces.append(rows)
    if current is not _NO_PARTITION:
        yield _partition(current, weight, pieces, gather)


def _partition(label, weight, pieces, gather):
    if not gather:
        return PartitionRows(label, weight)
    return PartitionRows(label, weight, *_concatenate(pieces))


def _weight(rows):
    X, y, sample_weight = rows
    return float(len(y) if sample_weight is None else np.sum(sample_weight))


def _chunk_runs(source, check):
    """Every run of equal partition labels of every non-empty chunk, in order."""
    position, widths = 0, set()
    for chunk in source:
        if check is not None:
            check(chunk)
        widths.add(np.shape(chunk.X)[1:])
        if len(widths) > 1:  # an empty chunk too must have the features of the others
            raise ValueError(
                f"The chunks' X have different numbers of features: {sorted(widths)}."
            )
        if chunk.n_rows:
            yield from _runs(chunk, position)
            position += 1


def _runs(chunk, position):
    """``(label, (X, y, sample_weight))`` for each run of equal partition labels."""
    labels = chunk.label("partitions")
    if labels is None:
        yield position, (chunk.X, chunk.y, chunk.sample_weight)
        return
    labels, _ = check_label("partitions", labels, chunk.n_rows)
    edges = [0, *(np.flatnonzero(labels[1:] != labels[:-1]) + 1), len(labels)]
    for start, stop in itertools.pairwise(edges):
        rows = slice(start, stop)
        weight = None if chunk.sample_weight is None else chunk.sample_weight[rows]
        label = labels[start]
        yield label.item() if isinstance(label, np.generic) else label, (
            _take(chunk.X, rows), _take(chunk.y, rows), weight)


def _take(data, rows):
    return data.iloc[rows] if hasattr(data, "iloc") else data[rows]


def _concatenate(pieces):
    """One partition's ``(X, y, sample_weight)`` from its pieces (DataFrames stay DataFrames)."""
    if len(pieces) == 1:
        return pieces[0]
    Xs, ys, weights = zip(*pieces)
    if all(isinstance(X, pd.DataFrame) for X in Xs):
        X = pd.concat(Xs, ignore_index=True)
    else:
        X = np.concatenate([np.asarray(X) for X in Xs])
    y = np.concatenate([np.asarray(v) for v in ys])
    weight = None
    if any(w is not None for w in weights):
        weight = np.concatenate([
            np.ones(len(v)) if w is None else np.asarray(w, dtype=np.float64)
            for v, w in zip(ys, weights)
        ])
    return X, y, weight
