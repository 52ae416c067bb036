"""Map Dask partitions to statistics on the workers and tree-reduce them there.

Only the statistics (K x K objects) travel between workers and to the client;
the rows never leave the workers that hold them. ``compute`` runs on whatever
scheduler is active: the threaded default, or a ``distributed.Client``.
"""

from __future__ import annotations

import operator
from functools import reduce


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


def _sum(*items):
    return reduce(operator.add, items)


def dask_map_reduce(func, partitions, split_every=8, **kwargs):
    """``sum(func(*p, **kwargs) for p in partitions)``, mapped and reduced on Dask.

    Parameters
    ----------
    func : callable
        Module-level function returning a mergeable object.
    partitions : list of tuples of Delayed
        From :func:`dask_partitions`.
    split_every : int
        Fan-in of the reduction tree.

    Returns
    -------
    The merged object, computed (the only thing sent to the client).
    """
    import dask

    if not partitions:
        raise ValueError("The Dask collection has no partitions.")
    layer = [dask.delayed(func, pure=True)(*part, **kwargs) for part in partitions]
    while len(layer) > 1:
        layer = [
            dask.delayed(_sum, pure=True)(*layer[i : i + split_every])
            for i in range(0, len(layer), split_every)
        ]
    return layer[0].compute()
