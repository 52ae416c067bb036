"""Raw rows made into a model's design by the encoding it was fitted with.

An estimator fitted from a formula (:mod:`skbigreg.formula`) keeps its
frozen encoding as the fitted attribute ``design_spec_``. The layers below
the formula layer know it only by this protocol:

- ``design_spec_.feature_names``: the design's columns (the model's
  ``feature_names_in_``);
- ``design_spec_.transform(frame)``: the design (a pandas DataFrame of
  those columns, one row per row of ``frame``) of raw rows, with the fit's
  levels and transform state; a missing column or an unseen level raises
  the ``ValueError`` the fit would raise;
- ``design_spec_.label(frame, role)``: the row labels a role (e.g.
  ``"entities"``) was read from in the fit, taken from ``frame``, or None
  when the fit read none.

``predict``, ``score`` and ``results().get_prediction`` pass their input
through :func:`design_rows`: a frame whose columns are the design's is the
design; any other frame is raw rows. A Dask DataFrame of raw rows is
predicted lazily, partition by partition (:func:`partitionwise`).
"""

from __future__ import annotations

import functools

import numpy as np

from ..io import is_dask_collection


def design_rows(spec, X):
    """``X``, or the design ``spec`` (a ``design_spec_``, or None) makes of raw rows ``X``.

    Examples
    --------
    >>> import pandas as pd
    >>> class Doubling:  # a toy spec: the design is twice the raw column
    ...     feature_names = ["2x"]
    ...     def transform(self, frame):
    ...         return pd.DataFrame({"2x": 2 * frame["x"]})
    >>> design_rows(Doubling(), pd.DataFrame({"x": [1.0, 2.0]}))["2x"].tolist()
    [2.0, 4.0]
    >>> design_rows(Doubling(), pd.DataFrame({"2x": [5.0]}))["2x"].tolist()  # already the design
    [5.0]
    """
    if spec is None or is_dask_collection(X):
        return X
    columns = column_names(X)
    if columns is None or is_design(columns, spec.feature_names):
        return X
    return spec.transform(X)


def is_design(columns, feature_names):
    """Are ``columns`` the design's (``const`` allowed, as statsmodels' ``exog``)?"""
    return set(columns) - {"const"} == set(feature_names)


def column_names(X):
    """Column names of a pandas/polars/pyarrow frame, or None for arrays and matrices."""
    names = getattr(X, "column_names", None)  # pyarrow, whose .columns are arrays
    if names is None and hasattr(X, "columns") and hasattr(X, "shape"):
        names = X.columns
    if names is None:
        return None
    return [str(name) for name in names]


def raw_labels(spec, X, role):
    """The ``role`` labels (e.g. ``"entities"``) of raw rows ``X``, as the fit read them.

    None when ``X`` is not raw rows (arrays, the design) or the fit read
    no such labels.
    """
    if spec is None or is_dask_collection(X):
        return None
    columns = column_names(X)
    if columns is None or is_design(columns, spec.feature_names):
        return None
    return spec.label(X, role)


def with_design_spec(estimator, results):
    """``results`` (a RegressionResults) given the estimator's ``design_spec_``, if any.

    Its ``get_prediction`` then takes raw rows too.
    """
    spec = getattr(estimator, "design_spec_", None)
    if spec is not None:  # frozen dataclass: set as it is handed out, before anyone reads it
        object.__setattr__(results, "design_spec", spec)
    return results


def partitionwise(method):
    """Let a prediction ``method`` take a Dask DataFrame of raw rows of a formula fit.

    Such rows are predicted lazily, one partition at a time: each partition
    (a pandas frame) goes through ``method`` itself, which encodes it with
    the frozen ``design_spec_`` and reads its labels (``entities``,
    ``partitions``) from its columns, exactly as for an in-memory frame. The
    result is a Dask Series (a DataFrame for 2-D predictions) on the same
    partitions and index; a missing column or an unseen level raises the
    fit's ValueError when it is computed. Any other input goes to ``method``
    unchanged.

    Parameters
    ----------
    method : callable
        A prediction method ``method(self, X, **labels)`` that takes raw rows
        in memory (through :func:`design_rows` and :func:`raw_labels`).

    Returns
    -------
    callable
        The method, taking Dask DataFrames of raw rows too.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import dask.dataframe as dd
    >>> from skbigreg.formula import ols
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.1, 0.8, 1.0, 1.5, 1.6]})
    >>> model = ols("y ~ np.log(x)", df)  # its predict is partitionwise
    >>> lazy = model.predict(dd.from_pandas(df[["x"]], npartitions=2))
    >>> lazy.npartitions
    2
    >>> bool(np.allclose(lazy.compute(), model.predict(df[["x"]]), rtol=1e-12))
    True
    """

    @functools.wraps(method)
    def predict(self, X, *args, **kwargs):
        spec = getattr(self, "design_spec_", None)
        if spec is None or not _is_raw_dask_frame(spec, X):
            return method(self, X, *args, **kwargs)
        given = [name for name, value in kwargs.items() if value is not None]
        given += ["labels" for value in args if value is not None]
        if given:
            raise ValueError(
                f"{type(self).__name__}.{method.__name__} reads {given[0]} of a Dask DataFrame "
                "of raw rows from its columns, as the formula fit did; do not pass them."
            )
        return predict_partitions(self, method.__name__, X)

    return predict


# Row labels a prediction reads from raw rows (see raw_labels' callers).
_PREDICTION_LABELS = ("entities", "partitions")


def _is_raw_dask_frame(spec, X):
    if not is_dask_collection(X):
        return False
    columns = column_names(X)
    return columns is not None and not is_design(columns, spec.feature_names)


def predict_partitions(estimator, method, frame):
    """``estimator.<method>`` of each partition of the Dask DataFrame ``frame``, lazily.

    The columns the prediction reads are checked now (on the frame's empty
    ``_meta``); the levels when computed. The estimator travels as it is now
    (a copy), once, as one task of the graph; its answer's shape and dtype
    are read from a one-row design of zeros, so nothing is computed here.
    """
    import copy

    from dask import delayed

    spec = estimator.design_spec_
    spec.transform(frame._meta)  # a missing column: the fit's ValueError, now
    for role in _PREDICTION_LABELS:
        spec.label(frame._meta, role)
    meta = _prediction_meta(estimator, method)
    fitted = delayed(copy.deepcopy(estimator), pure=True)
    return frame.map_partitions(_predict_partition, fitted, method, meta=meta)


def _prediction_meta(estimator, method):
    """An empty pandas Series (or DataFrame) of ``estimator.<method>``'s output."""
    import pandas as pd

    names = list(estimator.design_spec_.feature_names)
    zeros = pd.DataFrame(np.zeros((1, len(names))), columns=names)
    values = np.asarray(getattr(estimator, method)(zeros))
    if values.ndim == 1:
        return pd.Series(values[:0])
    return pd.DataFrame(values[:0], columns=range(values.shape[1]))


def _predict_partition(frame, estimator, method):
    """One partition's predictions, indexed as its rows (module level: workers run it)."""
    import pandas as pd

    if len(frame) == 0:
        return _prediction_meta(estimator, method).set_axis(frame.index)
    values = np.asarray(getattr(estimator, method)(frame))
    if values.ndim == 1:
        return pd.Series(values, index=frame.index)
    return pd.DataFrame(values, index=frame.index)
