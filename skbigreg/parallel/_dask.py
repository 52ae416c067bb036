"""Map Dask partitions to statistics on the workers and tree-reduce them there.

Only the statistics (K x K objects) travel between workers and to the client;
the rows never leave the workers that hold them. ``compute`` runs on whatever
scheduler is active: the threaded default, or a ``distributed.Client``.
A fit is one graph execution; partitions that arrive at misaligned addresses
are mapped on aligned copies of cache-sized slabs (:func:`map_partition`).
"""

from __future__ import annotations

import operator
from functools import reduce

import numpy as np
import pandas as pd

from ._map_reduce import tree_sum

# Rows per realigned slab: all of a slab's arrays together near 2 MiB, so the
# copy stays in cache and the map reads it from there.
_SLAB_BYTES = 2**21


def _sum(*items):
    return reduce(operator.add, items)


def _rows_of(part):
    """The ndarray holding a part's rows, or None if it has no single one.

    Frames and series of one numpy dtype give theirs (a view when pandas holds
    it in one block); mixed-dtype frames and other types give None.
    """
    if isinstance(part, np.ndarray):
        return part
    if isinstance(part, pd.DataFrame):
        dtypes = set(part.dtypes)
    elif isinstance(part, pd.Series):
        dtypes = {part.dtype}
    else:
        return None
    if len(dtypes) != 1 or not isinstance(dtype := dtypes.pop(), np.dtype) or dtype.hasobject:
        return None
    return part.to_numpy()


def _dressed_as(part, rows, index):
    """``rows`` as the type of ``part`` (same names, given index), without copying."""
    if isinstance(part, pd.DataFrame):
        return pd.DataFrame(rows, index=index, columns=part.columns, copy=False)
    if isinstance(part, pd.Series):
        return pd.Series(rows, index=index, name=part.name, copy=False)
    return rows


def _is_misaligned(rows):
    return rows is not None and not rows.flags.aligned


def _needs_slabs(parts, rows):
    """Whether some part is misaligned and all parts are row arrays of one length.

    Anything else (mixed-dtype frames, mismatched lengths) goes to ``func``
    unchanged, which handles the type or names the error.
    """
    present = [r for p, r in zip(parts, rows) if p is not None]
    if not any(map(_is_misaligned, present)):
        return False
    if any(r is None or r.ndim == 0 for r in present):
        return False
    return len({len(r) for r in present}) == 1 and len(present[0]) > 0


def _aligned_slabs(parts, rows):
    """Yield the parts slab by slab, misaligned ones copied into reused aligned buffers."""
    present = [r for r in rows if r is not None]
    n_rows = len(present[0])
    row_bytes = sum(r.itemsize * (r.size // n_rows) for r in present)
    step = max(64, _SLAB_BYTES // max(row_bytes, 1))
    buffers = {
        i: np.empty((min(step, n_rows),) + r.shape[1:], dtype=r.dtype)
        for i, r in enumerate(rows) if _is_misaligned(r)
    }
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        slab = []
        for i, (part, r) in enumerate(zip(parts, rows)):
            if i in buffers:
                out = buffers[i][: stop - start]
                np.copyto(out, r[start:stop])
                index = getattr(part, "index", None)
                slab.append(_dressed_as(part, out, None if index is None else index[start:stop]))
            elif part is None:
                slab.append(None)
            else:
                slab.append(part.iloc[start:stop] if hasattr(part, "iloc") else part[start:stop])
        yield slab


def map_partition(func, *parts, **kwargs):
    """``func(*parts, **kwargs)``, made on aligned memory.

    A partition that distributed deserialised from a message (data embedded in
    the graph, as ``da.from_array(...).persist()`` does, or fetched from
    another worker) can start at an address that is not a multiple of its
    itemsize. numpy then bypasses BLAS and its vector loops: the Gram map runs
    8-10x slower. Copying the whole partition would cost more than the map
    (fresh pages), so misaligned partitions -- arrays, or frames and series of
    one numpy dtype -- are mapped slab by slab, each copied into a small reused
    buffer that stays in cache, and the slabs' results added with ``+``.
    ``func`` must therefore return a mergeable object that keeps no reference
    to its inputs (statistics do not).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.parallel import map_partition
    >>> from skbigreg.stats import GramStats
    >>> raw = np.zeros(8 * 3000 + 1, dtype=np.uint8)
    >>> X = raw[1:].view(np.float64).reshape(1000, 3)   # starts at an odd address
    >>> X[:] = np.arange(3000.0).reshape(1000, 3) % 7
    >>> X.flags.aligned
    False
    >>> y = X.sum(axis=1)
    >>> stats = map_partition(GramStats.from_arrays, X, y)
    >>> bool(np.allclose(stats.comoment, GramStats.from_arrays(X.copy(), y).comoment))
    True
    """
    rows = [None if p is None else _rows_of(p) for p in parts]
    if not _needs_slabs(parts, rows):
        # A frame of several blocks was copied into ``rows``: hand func that
        # copy as a one-block frame rather than have it copy again.
        parts = [
            _dressed_as(p, r, p.index) if isinstance(p, pd.DataFrame) and r is not None else p
            for p, r in zip(parts, rows)
        ]
        return func(*parts, **kwargs)
    return tree_sum(func(*slab, **kwargs) for slab in _aligned_slabs(parts, rows))


def dask_map_reduce(func, partitions, split_every=8, **kwargs):
    """``sum(func(*p, **kwargs) for p in partitions)``, mapped and reduced on Dask.

    Parameters
    ----------
    func : callable
        Module-level function returning a mergeable object.
    partitions : list of tuples of Delayed
        From :func:`skbigreg.io.dask_partitions`.
    split_every : int
        Fan-in of the reduction tree.

    Returns
    -------
    The merged object, computed (the only thing sent to the client).
    """
    import dask

    if not partitions:
        raise ValueError("The Dask collection has no partitions.")
    layer = [
        dask.delayed(map_partition, pure=True)(func, *part, **kwargs) for part in partitions
    ]
    while len(layer) > 1:
        layer = [
            dask.delayed(_sum, pure=True)(*layer[i : i + split_every])
            for i in range(0, len(layer), split_every)
        ]
    return layer[0].compute()
