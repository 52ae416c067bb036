"""Map Spark partitions to statistics on the executors; merge them on the driver.

Each partition's Arrow batches are mapped to a mergeable object where the
rows live (``DataFrame.mapInArrow``); it travels back as bytes (``encode`` on
the executor, ``decode`` on the driver: for statistics,
:func:`skbigreg.stats.encode_statistics`, plain arrays and no pickle) and the
parts are tree-summed on the driver. The rows never leave the executors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..io import Chunk
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


def _batch_chunk(batch, layout):
    """One Arrow batch as a :class:`~skbigreg.io.Chunk` (X a frame named by the features)."""
    names, n_features = layout.names, len(layout.features)
    X = np.empty((batch.num_rows, n_features))
    for j in range(n_features):
        X[:, j] = _column(batch, j, names[j], True)
    y = _column(batch, n_features, names[n_features], True)
    at = n_features + 1
    weight = None
    if layout.weighted:
        weight, at = _column(batch, at, names[at], True), at + 1
    labels = {label: _column(batch, at + i, names[at + i], False)
              for i, label in enumerate(layout.labels)}
    return Chunk(pd.DataFrame(X, columns=list(layout.features), copy=False), y, weight, labels)


@dataclass(frozen=True)
class _Layout:
    """Which of a selected frame's columns is what: features, target, weight, labels."""

    names: tuple
    features: tuple
    weighted: bool
    labels: tuple


def _map_partition(batches, *, func, encode, layout, kwargs):
    """What ``mapInArrow`` runs on each partition: its batches mapped, summed, one blob out.

    ``func(chunk, **kwargs)`` maps each Arrow batch, as a
    :class:`~skbigreg.io.Chunk`, to a mergeable object; a partition's results
    are summed there, so one blob per non-empty partition travels. A
    module-level function: Spark ships ``functools.partial(_map_partition,
    ...)``, its parameters pickled by value, no closure.
    """
    import pyarrow as pa

    total = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        part = func(_batch_chunk(batch, layout), **kwargs)
        total = part if total is None else total + part
    if total is not None:
        yield pa.RecordBatch.from_pydict({"stats": [encode(total)]},
                                         schema=pa.schema([("stats", pa.binary())]))


# What Spark says when a task's Python worker process is gone (killed, crashed).
_WORKER_DIED = "Python worker exited unexpectedly"
_PYTHON_ERROR = re.compile(r"^(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _worker_error(exc):
    """The Python error an executor raised, re-raised on the driver with its message."""
    text = str(exc)
    found = _PYTHON_ERROR.findall(text)
    kind, message = found[-1] if found else (type(exc).__name__, text.strip().splitlines()[0]
                                             if text.strip() else "")
    cls = ValueError if kind == "ValueError" else RuntimeError
    return cls(f"A Spark partition failed to map to statistics ({kind}): {message}")


def spark_map_reduce(func, source, *, encode, decode, labels=None, **kwargs):
    """``sum(func(chunk, **kwargs))`` over a Spark source's partitions, mapped on the executors.

    Parameters
    ----------
    func : callable
        Module-level function of one :class:`~skbigreg.io.Chunk` (an Arrow
        batch: ``X`` a DataFrame named by the features, ``y``, the weights
        and the row labels) returning a mergeable object; shipped to the
        executors.
    source : SparkSource
        From :func:`skbigreg.io.read_spark`.
    encode, decode : callable
        A partition's merged result to bytes (run on the executor) and back
        (on the driver), e.g. :func:`skbigreg.stats.encode_statistics` and
        :func:`skbigreg.stats.decode_statistics`.
    labels : sequence of str, optional
        The row labels the chunks carry (default: every one the source has).
    **kwargs
        Passed to ``func``.

    Returns
    -------
    The merged object (the only thing the driver receives).

    Raises
    ------
    ValueError
        The frame has no rows, or a partition's map failed on its data (a
        null or non-finite value, a bad label); the message names it.
    RuntimeError
        The map failed otherwise (a lost executor past Spark's retries).
    """
    labels = tuple(source.labels if labels is None else labels)
    layout = _Layout(tuple(source.columns(labels)), tuple(source.features),
                     source.sample_weight is not None, labels)
    mapper = partial(_map_partition, func=func, encode=encode, layout=layout, kwargs=kwargs)
    try:
        rows = source.selected(labels).mapInArrow(mapper, "stats binary").collect()
    except Exception as exc:
        if "Traceback (most recent call last)" in str(exc):
            raise _worker_error(exc) from exc
        if _WORKER_DIED in str(exc):
            raise RuntimeError(
                "A Spark partition failed to map to statistics: its Python worker died "
                f"({_WORKER_DIED}) on every attempt Spark allows (spark.task.maxFailures)."
            ) from exc
        raise  # not an executor's failure: Spark's own message says it
    if not rows:
        raise ValueError("The Spark DataFrame has no rows.")
    return tree_sum(decode(row["stats"]) for row in rows)
