"""Fit any estimator with ``partial_fit`` from a chunk source."""

from __future__ import annotations

import inspect

from ..io import LABEL_NAMES, iter_chunks


def partial_fit_chunks(estimator, chunks, reset=True, **fit_params):
    """Stream a chunk source through ``estimator.partial_fit``, chunk by chunk.

    The one way to fit every estimator with ``partial_fit`` from any source
    :func:`skbigreg.io.iter_chunks` reads (lists of chunks, callables,
    :func:`skbigreg.io.read_files` sources, Dask collections streamed through
    this process). A chunk's ``sample_weight`` and its row labels
    (``clusters``, ``partitions``, ``groups``) are passed on when
    ``partial_fit`` accepts an argument of that name, and refused otherwise.
    Estimators with multi-pass methods also have their own ``fit_chunks``.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
    chunks : chunk source
    reset : bool, default=True
        Start from an unfitted clone of ``estimator``'s parameters (like
        ``fit``); False continues the current fit.
    **fit_params
        Passed to every ``partial_fit`` call (e.g. ``classes=``).

    Returns
    -------
    estimator
        The fitted estimator (a fresh clone when ``reset``).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeRidge
    >>> from skbigreg.parallel import partial_fit_chunks
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X @ [1.0, 2.0]
    >>> chunks = [(X[i:i + 100], y[i:i + 100]) for i in range(0, 300, 100)]
    >>> model = partial_fit_chunks(CumulativeRidge(alpha=1e-9), chunks)
    >>> np.round(model.coef_, 6)
    array([1., 2.])
    """
    from sklearn.base import clone

    if reset:
        estimator = clone(estimator)
    accepted = inspect.signature(estimator.partial_fit).parameters
    seen = False
    for chunk in iter_chunks(chunks):
        kwargs = dict(fit_params)
        if chunk.sample_weight is not None:
            _require(accepted, "sample_weight", estimator)
            kwargs["sample_weight"] = chunk.sample_weight
        for name in LABEL_NAMES:
            if chunk.label(name) is not None:
                _require(accepted, name, estimator)
                kwargs[name] = chunk.label(name)
        estimator.partial_fit(chunk.X, chunk.y, **kwargs)
        seen = True
    if not seen:
        raise ValueError("The chunk source produced no rows.")
    return estimator


def _require(accepted, name, estimator):
    if name not in accepted:
        raise ValueError(
            f"The chunks carry {name!r} but {type(estimator).__name__}.partial_fit "
            f"does not take it."
        )
