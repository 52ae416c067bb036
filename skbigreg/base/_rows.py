"""Rows: the one validation of a chunk's X, y and sample weights.

Two callers, one set of checks. An estimator validates a chunk with
:func:`validate_chunk` (scikit-learn's ``validate_data``, which also fixes
``n_features_in_`` and ``feature_names_in_`` on the first chunk). A worker
that has no estimator (a joblib process, a Dask worker) checks a chunk
against a :class:`ChunkSpec` taken from the first chunk, in
:func:`linear_chunk_statistics`. Finiteness is read off the statistics,
which are non-finite exactly when an input is, so the common path makes no
separate pass over the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compat import _check_sample_weight, _num_samples, validate_data
from ..io import check_cluster_columns, check_dense_target, check_label, cluster_columns
from ..stats import (
    ChunkStatistics,
    accumulator_for,
    check_sparse_finite,
    cluster_statistics,
    is_sparse,
)

# scipy.sparse layouts taken as they are; any other (COO, LIL, ...) becomes CSR.
SPARSE_FORMATS = ("csr", "csc")


def validate_chunk(estimator, X, y, sample_weight, reset):
    """``validate_data`` for one chunk: X and y as float64, y 2-D, weights checked.

    ``X`` may be scipy.sparse (a matrix or an array, any format): it is
    kept sparse (CSR or CSC, float64), and an explicitly stored NaN or
    infinity is refused here, reading the ``nnz`` stored values only.
    ``y`` must be dense: a sparse ``y`` raises scikit-learn's ``TypeError``
    (:func:`skbigreg.io.check_dense_target`).

    Returns
    -------
    X : ndarray or scipy.sparse of shape (n, K)
    y : ndarray of shape (n, T)
    sample_weight : ndarray of shape (n,) or None
    y_1d : bool
        Whether ``y`` was given 1-D.
    """
    check_dense_target(y)  # before validate_data, which would take a sparse y apart
    if not reset and _num_samples(X) == 0:
        return _validate_empty(estimator, X, y, sample_weight)
    if not reset and _passes_as_is(estimator, X, y):
        y_1d = y.ndim == 1
        return X, y.reshape(-1, 1) if y_1d else y, check_weights(sample_weight, X), y_1d
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        dtype=np.float64,
        multi_output=True,
        y_numeric=True,
        ensure_all_finite=False,
        accept_sparse=SPARSE_FORMATS,
    )
    if is_sparse(X):
        check_sparse_finite(X)
    y = np.asarray(y, dtype=np.float64)
    y_1d = y.ndim == 1
    y2 = y.reshape(-1, 1) if y_1d else y
    return X, y2, check_weights(sample_weight, X), y_1d


def _passes_as_is(estimator, X, y):
    """Whether ``validate_data(reset=False)`` would return ``X`` and ``y`` unchanged.

    True only for float64 numpy arrays of the fitted width, without feature
    names on either side, of matching lengths and with a finite ``y``:
    scikit-learn's checks then convert nothing and raise or warn nothing,
    and a ``partial_fit`` loop spares their cost (about a tenth of the
    map of a small chunk). Anything else takes the full validation, so its
    errors and warnings are scikit-learn's.
    """
    return (
        type(X) is np.ndarray and type(y) is np.ndarray
        and X.dtype == np.float64 and y.dtype == np.float64
        and X.ndim == 2 and y.ndim in (1, 2) and len(X) == len(y) and len(X) > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", -1)
        and not hasattr(estimator, "feature_names_in_")
        and bool(np.isfinite(y).all())
    )


def target_name(y):
    """The name of the dependent variable(s) of ``y``, recorded at the first fit.

    A named :class:`pandas.Series` gives its name, a one-column DataFrame
    its column's name, a DataFrame of several targets a tuple of column
    names; arrays and unnamed Series give ``"y"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbigreg.base import target_name
    >>> target_name(pd.Series([1.0], name="wage")), target_name([1.0, 2.0])
    ('wage', 'y')
    >>> target_name(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    ('a', 'b')
    """
    name = getattr(y, "name", None)
    if name is not None and np.ndim(y) == 1:
        return str(name)
    columns = getattr(y, "columns", None)
    if columns is None or np.ndim(y) != 2:
        return "y"
    names = tuple(str(column) for column in columns)
    return names[0] if len(names) == 1 else names


def binary_classes(labels, owner):
    """The two class labels of a binary model, sorted (``classes_[1]`` is the event).

    Raises
    ------
    ValueError
        Unless ``labels`` hold exactly two distinct values.

    Examples
    --------
    >>> from skbigreg.base import binary_classes, encode_binary
    >>> classes = binary_classes(["late", "on time", "late"], "Model")
    >>> classes.tolist(), encode_binary(["on time", "late"], classes).tolist()
    (['late', 'on time'], [1.0, 0.0])
    """
    classes = np.unique(np.asarray(labels))
    if classes.ndim != 1 or len(classes) != 2:
        raise ValueError(
            f"Only binary classification is supported: {owner} needs exactly 2 classes; "
            f"got {classes.size}: {classes.tolist()[:10]} (pass classes= when a first "
            "chunk holds one class)."
        )
    return classes


def encode_binary(y, classes):
    """1.0 where ``y`` is the event ``classes[1]``, 0.0 where it is ``classes[0]``.

    Labels outside ``classes`` (or of another type: ``"1"`` is not ``1``)
    raise a ``ValueError`` naming them.
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    if (y.dtype.kind in "biuf") == (classes.dtype.kind in "biuf"):
        known = np.isin(y, classes)
    else:
        known = np.zeros(len(y), dtype=bool)
    if not known.all():
        unknown = list(dict.fromkeys(y[~known].tolist()))
        raise ValueError(
            f"y has labels {unknown[:10]}{' ...' if len(unknown) > 10 else ''} not in "
            f"classes_ {classes.tolist()}."
        )
    return (y == classes[1]).astype(np.float64)


def _validate_empty(estimator, X, y, sample_weight):
    """An empty chunk adds nothing but must still have the model's features."""
    X = validate_data(estimator, X, reset=False, dtype=np.float64, ensure_min_samples=0,
                      ensure_all_finite=False, accept_sparse=SPARSE_FORMATS)
    y = np.asarray(y, dtype=np.float64)
    if len(y) != 0:
        raise ValueError(f"X has 0 rows but y has {len(y)}.")
    return X, (y.reshape(0, 1) if y.ndim == 1 else y), check_weights(sample_weight, X), y.ndim == 1


def check_weights(sample_weight, X):
    """Finite non-negative weights, one per row, or None.

    A chunk whose weights are all zero is accepted (zero weight removes a
    row); a fit whose weights are all zero is refused by
    :func:`check_weight_sum`.
    """
    if sample_weight is None:
        return None
    if _num_samples(X) == 0:  # sklearn's check wants one row; an empty chunk needs its shape only
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (0,):
            raise ValueError(f"sample_weight has shape {weights.shape}; expected (0,).")
        return weights
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True,
        allow_all_zero_weights=True,
    )


def log_weight_sum(sample_weight):
    """``sum log w`` of a chunk's rows (0 without weights; -inf with a zero weight,
    as statsmodels' weighted likelihood has it)."""
    if sample_weight is None:
        return 0.0
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(sample_weight)))


def check_weight_sum(stats):
    """Refuse statistics whose rows all have zero weight: there is nothing to fit."""
    if stats.n_rows and not stats.weight_sum > 0:
        raise ValueError(
            f"Every sample weight of the {stats.n_rows} rows seen is zero; "
            "at least one row needs a positive weight."
        )


def rows_differ(first, second, rtol=1e-10):
    """Why two statistics cannot be of the same rows, or "" when they can.

    Row counts must be equal; weight sums, means and centred co-moments
    equal to ``rtol`` of their scale (a co-moment entry to ``rtol`` times
    the geometric mean of its two variances; a mean to ``rtol`` times its
    magnitude plus its standard deviation), which tolerates the rounding of
    a different chunking or merge order and nothing else.
    """
    if first.n_rows != second.n_rows:
        return f"it has seen {second.n_rows} of {first.n_rows} rows"
    if not np.isclose(first.weight_sum, second.weight_sum, rtol=rtol, atol=0.0):
        return f"weight sum {second.weight_sum:.17g} instead of {first.weight_sum:.17g}"
    c1, c2 = first.comoment, second.comoment
    scale = np.sqrt(np.maximum(np.outer(np.diag(c1), np.diag(c1)), 0.0))
    spread = np.sqrt(np.maximum(np.diag(c1), 0.0) / max(first.weight_sum, 1e-300))
    if np.any(np.abs(first.mean - second.mean) > rtol * (np.abs(first.mean) + spread)):
        return "different column means"
    # Constant columns have no scale of their own: allow rounding of the whole.
    floor = 64 * np.finfo(np.float64).eps * max(float(np.trace(c1)), 1e-300)
    if np.any(np.abs(c1 - c2) > rtol * scale + floor):
        return "different cross-products"
    return ""


@dataclass(frozen=True)
class ChunkSpec:
    """What every chunk must agree on, fixed by the first chunk."""

    solver: str
    n_features: int
    n_targets: int
    feature_names: tuple | None = None
    with_clusters: bool = False


def linear_chunk_statistics(X, y, sample_weight=None, clusters=None, *, spec):
    """Check one chunk against ``spec`` and map it to :class:`ChunkStatistics`.

    A module-level function, so joblib and Dask can ship it to workers.
    """
    names = getattr(X, "columns", None)
    if spec.feature_names is not None and names is not None:
        names = tuple(str(c) for c in names)
        if names != spec.feature_names:
            raise ValueError(
                f"Chunk has feature names {list(names)}, expected {list(spec.feature_names)}."
            )
    X = _worker_rows(X)
    check_dense_target(y)
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    if X.ndim != 2 or X.shape[1] != spec.n_features:
        raise ValueError(
            f"X has {X.shape[1] if X.ndim == 2 else X.ndim} features, but the model "
            f"is expecting {spec.n_features} features as input."
        )
    n_rows = X.shape[0]
    if len(y) != n_rows or y.shape[1] != spec.n_targets:
        raise ValueError(f"y has shape {y.shape}; expected ({n_rows}, {spec.n_targets}).")
    sample_weight = check_weights(sample_weight, X)
    stats = accumulator_for(spec.solver).from_arrays(X, y, sample_weight)
    grouped = None
    if spec.with_clusters != (clusters is not None):
        raise ValueError("clusters must be given with every chunk or with none.")
    if clusters is not None:
        columns = cluster_columns(clusters)  # multi-way: one label array per column
        if columns is None:
            labels, _ = check_label("clusters", clusters, n_rows)
        else:
            labels, _ = check_cluster_columns(columns, n_rows)
        grouped = cluster_statistics(X, y, labels, sample_weight)
    return ChunkStatistics(stats, grouped, None, log_weight_sum(sample_weight))


def _worker_rows(X):
    """A worker's chunk as float64: an array, or CSR/CSC with finite stored values."""
    if not is_sparse(X):
        return np.asarray(X, dtype=np.float64)
    X = X.asformat(X.format if X.format in SPARSE_FORMATS else "csr").astype(np.float64)
    check_sparse_finite(X)
    return X


def chunk_statistics(chunk, *, spec):
    """:func:`linear_chunk_statistics` of a :class:`skbigreg.io.Chunk`."""
    return linear_chunk_statistics(
        chunk.X, chunk.y, chunk.sample_weight, chunk.label("clusters"), spec=spec
    )
