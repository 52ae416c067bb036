"""Dask collections as row-aligned partitions: what a Dask source of rows is.

The drivers in :mod:`skbigreg.parallel` map these partitions on the workers;
:func:`skbigreg.io.iter_chunks` streams them through this process.
"""

from __future__ import annotations


def is_dask_collection(obj):
    """True for Dask arrays, DataFrames and Series (without importing dask)."""
    module = type(obj).__module__
    if not module.startswith("dask"):
        return False
    from dask import is_dask_collection as check

    return check(obj)


def dask_partitions(X, *others):
    """Row-aligned partitions of ``X`` and companions, as lists of Delayed objects.

    Dask arrays are rechunked to whole rows (all columns in one block) and the
    companions to ``X``'s row chunks; DataFrames and Series must have the same
    number of partitions (as columns of one frame do). ``None`` companions stay
    ``None``.
    """
    import dask.array as da

    if isinstance(X, da.Array):
        X = X.rechunk({1: -1}) if X.ndim == 2 else X
        rows = X.chunks[0]
        parts = [list(X.to_delayed().ravel())]
        for other in others:
            if other is None:
                parts.append([None] * len(rows))
                continue
            other = da.asarray(other)
            other = other.rechunk({0: rows, **({1: -1} if other.ndim == 2 else {})})
            parts.append(list(other.to_delayed().ravel()))
        return list(zip(*parts))
    n = X.npartitions
    parts = [list(X.to_delayed())]
    for other in others:
        if other is None:
            parts.append([None] * n)
            continue
        if getattr(other, "npartitions", None) != n:
            raise ValueError(
                f"X has {n} partitions but a companion collection has "
                f"{getattr(other, 'npartitions', 'no')}: they must be row-aligned."
            )
        parts.append(list(other.to_delayed()))
    return list(zip(*parts))
