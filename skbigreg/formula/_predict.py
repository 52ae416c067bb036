"""Predictions of a formula-fitted estimator on new raw data, through its frozen spec.

A fitted estimator's own ``predict``, ``score`` and
``results().get_prediction`` take raw frames too (through its
``design_spec_``); these functions say so explicitly, and always read the
absorbed effects' columns.
"""

from __future__ import annotations

from ..io import is_dask_collection


def design(model, data):
    """The design matrix ``model`` was fitted on, made of new rows ``data`` (a DataFrame).

    Encoded with the model's frozen ``design_spec_``: the same levels and
    transform state as the fit; an unseen level raises ValueError.

    Parameters
    ----------
    model : estimator
        Fitted by a function of :mod:`skbigreg.formula`.
    data : DataFrame
        New rows (pandas, polars, pyarrow or Dask) with the formula's columns.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``data``, the model's feature columns; for a Dask
        DataFrame ``data``, a lazy Dask DataFrame encoded partition by partition.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import ols, design
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "b"],
    ...                    "y": [1.0, 2.5, 2.9, 4.6]})
    >>> design(ols("y ~ x + g", df), pd.DataFrame({"x": [5.0], "g": ["b"]}))
         x  g[T.b]
    0  5.0     1.0
    """
    spec = _spec(model)
    if is_dask_collection(data):
        return data.map_partitions(spec.transform, meta=spec.transform(data._meta))
    return spec.transform(data)


def predict(model, data):
    """``model.predict`` on new rows ``data`` (a DataFrame of the formula's columns).

    A fixed-effects model reads its ``entities`` column (or columns, one
    per absorbed factor) from ``data``.

    Parameters
    ----------
    model : estimator
        Fitted by a function of :mod:`skbigreg.formula`.
    data : DataFrame
        New rows with the formula's columns: pandas, polars, pyarrow, or Dask.

    Returns
    -------
    ndarray of shape (n_rows,)
        For a Dask DataFrame ``data``, a lazy Dask Series on its partitions
        and index, each partition encoded where it lies.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import ols, predict
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.1, 2.3, 3.2, 3.7]})
    >>> predict(ols("y ~ np.log(x)", df), pd.DataFrame({"x": [np.e]})).round(6)
    array([2.964591])
    """
    spec = _spec(model)
    if is_dask_collection(data):  # lazily, each partition read as below
        return model.predict(data)
    entities = spec.label(data, "entities")
    if entities is None:
        return model.predict(spec.transform(data))
    return model.predict(spec.transform(data), entities=entities)


def get_prediction(model, data, **kwargs):
    """``model.results().get_prediction`` on new rows ``data``: means, standard errors, intervals.

    Parameters
    ----------
    model : estimator
        Fitted by a function of :mod:`skbigreg.formula`.
    data : DataFrame
        New rows with the formula's columns.
    **kwargs
        Passed to :meth:`~skbigreg.inference.RegressionResults.get_prediction`
        (``weights=``).

    Returns
    -------
    PredictionResults

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import ols, get_prediction
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.5, 5.5, 8.0]})
    >>> frame = get_prediction(ols("y ~ x", df), pd.DataFrame({"x": [5.0]})).summary_frame()
    >>> frame[["mean", "mean_se"]].round(4)
       mean  mean_se
    0  9.75   0.5809
    """
    if is_dask_collection(data):
        raise ValueError("get_prediction needs the new rows in memory (its standard errors "
                         "are computed here): pass data.compute(), or predict() for lazy means.")
    return model.results().get_prediction(design(model, data), **kwargs)


def _spec(model):
    spec = getattr(model, "design_spec_", None)
    if spec is None:
        raise ValueError(f"This {type(model).__name__} was not fitted from a formula "
                         "(it has no design_spec_); call its predict() on a design matrix.")
    return spec

