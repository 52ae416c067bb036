"""The one frame of every ``fit_chunks``: source, reset, all or nothing."""

from __future__ import annotations

from ..io import SparkSource, iter_chunks
from ._state import reset, rollback_on_error


def fit_source(estimator, chunks, passes, keep=()):
    """Fit ``estimator`` from a chunk source with ``passes(source)``; all or nothing.

    Every estimator's ``fit_chunks`` is this frame around its own passes:
    the chunks are read through :func:`~skbigreg.io.iter_chunks` (so every
    chunk follows one protocol, and a pass after the first refuses a
    one-shot generator), the fitted state is reset (but for ``keep``), and
    a failure on any pass leaves the estimator exactly as it was. What
    differs is ``passes``: one map-merge pass and a pass of scores for least
    squares, one pass per iteration for IRLS and SMR, a partition at a time
    for the debiased lasso.

    A Spark source (:func:`~skbigreg.io.read_spark`) is fitted by the
    estimator's ``_fit_spark(source)`` instead: its partitions are mapped
    on the executors, in the same frame (reset, all or nothing).

    Returns
    -------
    estimator
    """
    if isinstance(chunks, SparkSource):
        fit_spark = getattr(estimator, "_fit_spark", None)
        if fit_spark is None:
            raise TypeError(f"{type(estimator).__name__} cannot be fitted on a Spark source; "
                            "stream its rows with fit_chunks(iterable of chunks) instead.")
        spark, chunks = chunks, ()
        passes = lambda _: fit_spark(spark)  # noqa: E731
    source = iter_chunks(chunks)
    with rollback_on_error(estimator):
        reset(estimator, keep)
        passes(source)
    return estimator
