"""map -> tree-reduce drivers over joblib."""

from __future__ import annotations

import os

from joblib import effective_n_jobs
from threadpoolctl import threadpool_limits

from ._joblib import parallel_map


_RAISE = object()


def tree_sum(items, empty=_RAISE):
    """Sum an iterable pairwise, as a balanced binary tree, with O(log n) memory.

    Keeps a stack of partial sums whose sizes are distinct powers of two (a
    binary counter), so rounding grows like ``log n`` rather than ``n`` and
    at most ``log2 n`` partial results are alive at once. An empty
    iterable returns ``empty`` when given, else raises ``ValueError``.
    """
    stack = []  # (size, partial sum)
    for item in items:
        size, total = 1, item
        while stack and stack[-1][0] == size:
            prev_size, prev = stack.pop()
            size, total = size + prev_size, prev + total
        stack.append((size, total))
    if not stack:
        if empty is _RAISE:
            raise ValueError("Nothing to reduce: the source produced no chunks.")
        return empty
    total = stack.pop()[1]
    while stack:
        total = stack.pop()[1] + total
    return total


def map_reduce(func, items, n_jobs=None, empty=_RAISE, **kwargs):
    """``tree_sum(func(item, **kwargs) for item in items)``, in parallel with joblib.

    Parameters
    ----------
    func : callable
        A module-level function (it is shipped to workers), returning a
        mergeable statistics object.
    items : iterable
        Chunks; consumed lazily, so a stream never sits in memory whole.
    empty : object, optional
        Returned when ``items`` is empty (default: raise ``ValueError``).
    n_jobs : int or None
        joblib's meaning. Threads are preferred (the maps spend their time
        in numpy/BLAS, which release the GIL, and in-memory chunks need no
        copy to another process); any backend chosen with
        :func:`joblib.parallel_config` (loky, dask, joblibspark's spark,
        ipyparallel ...) takes precedence (see :func:`parallel_map`).

    BLAS threads are limited so that ``n_jobs`` workers do not oversubscribe
    the cores.
    """
    n_workers = effective_n_jobs(n_jobs)
    if n_workers == 1:
        return tree_sum((func(item, **kwargs) for item in items), empty)
    blas_threads = max(1, (os.cpu_count() or 1) // n_workers)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return tree_sum(parallel_map(func, items, n_jobs, **kwargs), empty)
