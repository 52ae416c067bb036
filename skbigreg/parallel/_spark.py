"""Map Spark partitions to statistics on the executors; merge them on the driver.

Each partition's Arrow batches are mapped to a mergeable object where the
rows live (``DataFrame.mapInArrow``); it travels back as bytes (``encode`` on
the executor, ``decode`` on the driver: for statistics,
:func:`skbigreg.stats.encode_statistics`, plain arrays and no pickle) and the
parts are tree-summed on the driver. The rows never leave the executors.
"""

from __future__ import annotations

import re

import numpy as np

from ._map_reduce import tree_sum

def _column(batch, index, name, numeric):
    column = batch.column(index)
    if column.null_count:
        raise ValueError(f"Column {name!r} has {column.null_count} null value(s).")
    values = column.to_numpy(zero_copy_only=False)
    if not numeric:
        return values
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Column {name!r} has NaN or infinite values.")
    return values


def _batch_arrays(batch, names, n_features, with_weight, with_clusters):
    X = np.empty((batch.num_rows, n_features))
    for j in range(n_features):
        X[:, j] = _column(batch, j, names[j], True)
    y = _column(batch, n_features, names[n_features], True)
    at = n_features + 1
    w = _column(batch, at, names[at], True) if with_weight else None
    at += with_weight
    clusters = _column(batch, at, names[at], False) if with_clusters else None
    return X, y, w, clusters


def _partition_mapper(func, encode, names, n_features, with_weight, with_clusters, kwargs):
    """The function ``mapInArrow`` runs on each partition: one blob per partition.

    ``func(X, y, sample_weight, **kwargs)`` (with ``clusters`` as fourth
    argument when the source has them) maps each Arrow batch; a partition's
    batches are summed there, so one blob per non-empty partition travels.
    """
    def mapper(batches):
        import pyarrow as pa

        total = None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            X, y, w, clusters = _batch_arrays(batch, names, n_features, with_weight,
                                              with_clusters)
            args = (X, y, w, clusters) if with_clusters else (X, y, w)
            part = func(*args, **kwargs)
            total = part if total is None else total + part
        if total is not None:
            yield pa.RecordBatch.from_pydict({"stats": [encode(total)]},
                                             schema=pa.schema([("stats", pa.binary())]))
    return mapper


_PYTHON_ERROR = re.compile(r"^(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _worker_error(exc):
    """The Python error an executor raised, re-raised on the driver with its message."""
    text = str(exc)
    found = _PYTHON_ERROR.findall(text)
    kind, message = found[-1] if found else (type(exc).__name__, text.strip().splitlines()[0]
                                             if text.strip() else "")
    cls = ValueError if kind == "ValueError" else RuntimeError
    return cls(f"A Spark partition failed to map to statistics ({kind}): {message}")


def spark_map_reduce(func, source, *, encode, decode, with_clusters=None, **kwargs):
    """``sum(func(X, y, w[, clusters], **kwargs))`` over a Spark source's partitions.

    Parameters
    ----------
    func : callable
        Module-level function of one batch's arrays returning a
        :class:`~skbigreg.stats.ChunkStatistics` (shipped to the executors).
    source : SparkSource
        From :func:`skbigreg.io.read_spark`.
    encode, decode : callable
        A partition's merged result to bytes (run on the executor) and back
        (on the driver), e.g. :func:`skbigreg.stats.encode_statistics` and
        :func:`skbigreg.stats.decode_statistics`.
    with_clusters : bool, optional
        Pass the cluster column to ``func`` (default: when the source has one).
    **kwargs
        Passed to ``func``.

    Returns
    -------
    ChunkStatistics
        The merged statistics (the only thing the driver receives).

    Raises
    ------
    ValueError
        The frame has no rows, or a partition's map failed on its data (a
        null or non-finite value, a bad label); the message names it.
    RuntimeError
        The map failed otherwise (a lost executor past Spark's retries).
    """
    with_clusters = source.clusters is not None if with_clusters is None else with_clusters
    names = source.columns(with_clusters)
    frame = source.selected(with_clusters)
    mapper = _partition_mapper(func, encode, names, len(source.features),
                               source.sample_weight is not None, with_clusters, kwargs)
    try:
        rows = frame.mapInArrow(mapper, "stats binary").collect()
    except Exception as exc:
        if "Traceback (most recent call last)" not in str(exc):
            raise  # not an executor's Python error: Spark's own message says it
        raise _worker_error(exc) from exc
    if not rows:
        raise ValueError("The Spark DataFrame has no rows.")
    return tree_sum(decode(row["stats"]) for row in rows)
