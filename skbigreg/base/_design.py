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
design; any other frame is raw rows.
"""

from __future__ import annotations

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
