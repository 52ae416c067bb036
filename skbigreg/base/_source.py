"""The one frame of every ``fit_chunks``: source, reset, all or nothing."""

from __future__ import annotations

from ..io import SparkSource, SqlPushdown, iter_chunks
from ._state import reset, rollback_on_error

# Sources whose map runs in an engine, not in this process: the estimator's
# method that fits them, and how the refusal names them.
_ENGINES = (
    (SqlPushdown, "_fit_pushdown", "a SQL push-down (read_sql(...).pushdown())",
     "pull the rows with fit_chunks(read_sql(...))"),
    (SparkSource, "_fit_spark", "a Spark source",
     "stream its rows with fit_chunks(iterable of chunks)"),
)


def fit_source(estimator, chunks, passes, keep=(), engine_args=()):
    """Fit ``estimator`` from a chunk source with ``passes(source)``; all or nothing.

    Every estimator's ``fit_chunks`` is this frame around its own passes:
    the chunks are read through :func:`~skbigreg.io.iter_chunks` (so every
    chunk follows one protocol, and a pass after the first refuses a
    one-shot generator), the fitted state is reset (but for ``keep``), and
    a failure on any pass leaves the estimator exactly as it was. What
    differs is ``passes``: one map-merge pass and a pass of scores for least
    squares, one pass per iteration for IRLS and SMR, a partition at a time
    for the debiased lasso.

    A source whose map runs in an engine is fitted by the estimator's own
    method for it instead, in the same frame (parameters validated, reset,
    all or nothing): a Spark source (:func:`~skbigreg.io.read_spark`) by
    ``_fit_spark(source, *engine_args)`` (its partitions mapped on the
    executors), a :class:`~skbigreg.io.SqlPushdown` by
    ``_fit_pushdown(source, *engine_args)`` (the statistics computed by the
    database). An estimator without that method refuses the source with a
    ``TypeError`` naming it.

    Returns
    -------
    estimator
    """
    engine_fit = _engine_fit(estimator, chunks)
    if engine_fit is not None:
        validate = getattr(estimator, "_validate_params", None)
        if validate is not None:  # no partial_fit runs to validate them
            validate()
        engine, chunks = chunks, ()
        passes = lambda _: engine_fit(engine, *engine_args)  # noqa: E731
    source = iter_chunks(chunks)
    with rollback_on_error(estimator):
        reset(estimator, keep)
        passes(source)
    return estimator


def _engine_fit(estimator, chunks):
    """The estimator's method fitting an engine source ``chunks``; None for rows."""
    for kind, method, described, remedy in _ENGINES:
        if isinstance(chunks, kind):
            fit = getattr(estimator, method, None)
            if fit is None:
                raise TypeError(f"{type(estimator).__name__} cannot be fitted on {described}; "
                                f"{remedy} instead.")
            return fit
    return None
