"""Turn in-memory data or an iterable of chunks into a source of checked chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

#: The row labels, each with one meaning: ``clusters`` (robust inference,
#: bootstrap), ``partitions`` (natural blocks, sites), ``groups`` (CV
#: splitters), ``entities`` (absorbed fixed effects) and ``periods`` (the
#: time period of each row, the ordering dimension of panel HAC errors).
LABEL_NAMES = ("clusters", "partitions", "groups", "entities", "periods")

#: The fields a chunk may have besides the labels.
_FIELDS = ("X", "y", "sample_weight")

_PROTOCOL = (
    "A chunk is a tuple (X, y) or a dict with keys 'X', 'y' and optionally "
    "'sample_weight', " + ", ".join(map(repr, LABEL_NAMES)) + ", e.g. "
    "{'X': X, 'y': y, 'sample_weight': w, 'clusters': firm}"
)


@dataclass(frozen=True)
class Chunk:
    """One block of rows.

    ``X`` keeps its container (ndarray, DataFrame, ...) so estimators can
    read feature names; ``labels`` maps ``"clusters"``, ``"partitions"``,
    ``"groups"``, ``"entities"`` and ``"periods"`` to one label per row when
    given.
    """

    X: object
    y: object
    sample_weight: np.ndarray | None = None
    labels: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_rows(self):
        return _n_rows(self.X)

    def label(self, name):
        """Row labels of ``name`` or None."""
        return self.labels.get(name)


class ChunkSource:
    """A source of :class:`Chunk` objects, re-iterable when its origin is.

    Methods that need several passes (HC standard errors, IRLS, SMR
    iterations) iterate a source more than once; a one-shot generator
    raises a clear error on the second pass instead of yielding nothing.
    """

    def __init__(self, factory: Callable[[], Iterator], reiterable: bool):
        self._factory = factory
        self.reiterable = reiterable
        self._passes = 0

    def transform(self, transformer):
        """A source whose chunks have ``X`` replaced by ``transformer.transform(X)``.

        The way to stream through preprocessing: ``transformer`` is stateless
        or already fitted (e.g. a ``ColumnTransformer`` with a
        ``OneHotEncoder(categories=...)`` declaring every level, so the
        encoding is the same for every chunk; call
        ``set_output(transform="pandas")`` on it to keep column names).
        sklearn's ``Pipeline`` has no ``partial_fit``, so this is how a
        pipeline's preprocessing runs before ``partial_fit``/``fit_chunks``.
        """
        parent = self

        def transformed():
            for chunk in parent:
                yield Chunk(transformer.transform(chunk.X), chunk.y, chunk.sample_weight, chunk.labels)

        return ChunkSource(transformed, reiterable=self.reiterable)

    def __iter__(self):
        if self._passes and not self.reiterable:
            raise ValueError(
                "This chunk source is a one-shot iterator and has been consumed; "
                "for methods that need another pass, pass a list of chunks or a "
                "callable that returns a fresh iterator."
            )
        self._passes += 1
        for item in self._factory():
            yield item if isinstance(item, Chunk) else as_chunk(item)


def as_chunk(item):
    """A :class:`Chunk` from ``(X, y)`` or a dict of named fields.

    No field is read from its position beyond ``X`` and ``y``: a third
    element could be weights or labels, and guessing wrong fits a silently
    different model, so a longer tuple is refused. A dict's keys are
    ``"X"``, ``"y"``, ``"sample_weight"`` and the row labels
    (``"clusters"``, ``"partitions"``, ``"groups"``, ``"entities"``,
    ``"periods"``); any other key is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.io import as_chunk
    >>> X, y, firm = np.ones((3, 2)), np.arange(3.0), np.array([0, 0, 1])
    >>> as_chunk({"X": X, "y": y, "clusters": firm}).label("clusters")
    array([0, 0, 1])
    >>> as_chunk((X, y, firm))
    Traceback (most recent call last):
    ...
    TypeError: A chunk tuple has 3 elements; only (X, y) is read by position. A chunk is a tuple (X, y) or a dict with keys 'X', 'y' and optionally 'sample_weight', 'clusters', 'partitions', 'groups', 'entities', 'periods', e.g. {'X': X, 'y': y, 'sample_weight': w, 'clusters': firm}.
    """
    if isinstance(item, Chunk):
        return item
    if isinstance(item, Mapping):
        unknown = sorted(map(str, set(item) - set(_FIELDS) - set(LABEL_NAMES)))
        if unknown or "X" not in item:
            problem = f"unknown keys {unknown}" if unknown else "no key 'X'"
            raise TypeError(f"A chunk dict has {problem}. {_PROTOCOL}.")
        labels = {name: item[name] for name in LABEL_NAMES if item.get(name) is not None}
        return check_chunk(item["X"], item.get("y"), item.get("sample_weight"), labels)
    if isinstance(item, tuple) and len(item) != 2:
        raise TypeError(
            f"A chunk tuple has {len(item)} elements; only (X, y) is read by position. "
            f"{_PROTOCOL}."
        )
    if not isinstance(item, tuple):
        raise TypeError(f"Got a chunk of type {type(item).__name__}. {_PROTOCOL}.")
    return check_chunk(*item)


def check_dense_target(y):
    """Refuse a scipy.sparse ``y`` with scikit-learn's ``TypeError`` (it names ``y``).

    ``X`` may be sparse; ``y`` is one dense column per target, as in
    scikit-learn's ``LinearRegression``, which refuses a sparse ``y`` with
    this message. Every estimator and chunk source calls this one check.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skbigreg.io import check_dense_target
    >>> check_dense_target(np.zeros(3))
    >>> check_dense_target(sparse.csr_array(np.ones((3, 1))))
    Traceback (most recent call last):
    ...
    TypeError: Sparse data was passed for y, but dense data is required. Use '.toarray()' to convert to a dense numpy array.
    """
    if sparse.issparse(y):
        raise TypeError(
            "Sparse data was passed for y, but dense data is required. "
            "Use '.toarray()' to convert to a dense numpy array."
        )


def check_chunk(X, y, sample_weight=None, labels=None):
    """Check that the pieces of a chunk agree in length and name known labels.

    The values are the estimator's to check, in one place each
    (:func:`skbigreg.base.validate_chunk` for rows and weights,
    :func:`check_labels` for labels); this checks what only the chunk knows.
    """
    n = _n_rows(X)
    check_dense_target(y)
    if y is not None and _n_rows(y) != n:
        raise ValueError(f"X has {n} rows but y has {_n_rows(y)}.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.ndim == 0:
            sample_weight = np.full(n, float(sample_weight))
        if sample_weight.shape != (n,):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; expected ({n},)."
            )
    checked = {}
    for name, values in (labels or {}).items():
        if name not in LABEL_NAMES:
            raise ValueError(f"Unknown row label {name!r}; expected one of {LABEL_NAMES}.")
        if values is None:
            continue
        if name == "clusters" and np.ndim(values) == 2:
            # multi-way clusters: one column per dimension (a frame keeps its names)
            values = values if hasattr(values, "columns") else np.asarray(values)
            if _n_rows(values) != n:
                raise ValueError(f"clusters has {_n_rows(values)} rows; expected {n}.")
            checked[name] = values
            continue
        if name == "entities" and _is_table(values, n):
            checked[name] = values  # one column per absorbed factor (DataFrame kept)
            continue
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"{name} has shape {values.shape}; expected ({n},).")
        checked[name] = values
    return Chunk(X, y, sample_weight, checked)


def iter_chunks(X, y=None, sample_weight=None, *, chunk_rows=None, **labels):
    """One way in for every estimator: arrays, DataFrames or chunk iterables.

    Parameters
    ----------
    X : array-like, DataFrame, iterable of chunks, or callable
        In-memory rows (numpy, pandas, anything with ``__len__`` and
        slicing), or an iterable of chunks -- tuples ``(X, y)`` or dicts
        with keys ``"X"``, ``"y"`` and optionally ``"sample_weight"``,
        ``"clusters"``, ``"partitions"``, ``"groups"``, ``"entities"``,
        ``"periods"`` (see :func:`as_chunk`; a longer tuple is refused) -- or a
        zero-argument callable returning such an iterator (re-iterable for
        multi-pass methods).
    y, sample_weight : array-like, optional
        With in-memory ``X`` only.
    chunk_rows : int, optional
        Rows per chunk when slicing in-memory data; None keeps one chunk.
    **labels : array-like
        ``clusters=``, ``partitions=``, ``groups=``, ``entities=``,
        ``periods=`` with in-memory ``X``.

    Returns
    -------
    ChunkSource
        Re-iterable unless ``X`` is a one-shot iterator (a generator).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.io import iter_chunks
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    >>> [chunk.n_rows for chunk in iter_chunks(X, y, chunk_rows=2)]
    [2, 2, 1]
    """
    if isinstance(X, ChunkSource):
        return X
    if _is_dask(X):
        return ChunkSource(lambda: _dask_chunks(X, y, sample_weight, labels), reiterable=True)
    if callable(X) and not hasattr(X, "shape"):
        return ChunkSource(X, reiterable=True)
    if _is_in_memory(X):
        X, y, sample_weight = (np.asarray(v) if _array_only(v) else v
                               for v in (X, y, sample_weight))
        if sparse.issparse(X) and X.format not in ("csr", "csc"):
            X = X.tocsr()  # COO, DIA, BSR, ...: the row slices need CSR
        chunk = check_chunk(X, y, sample_weight, labels)
        rows = chunk.n_rows if chunk_rows is None else int(chunk_rows)
        if rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows}.")
        return ChunkSource(lambda: _slices(chunk, rows), reiterable=True)
    if y is not None or sample_weight is not None or any(v is not None for v in labels.values()):
        raise TypeError("y, sample_weight and labels go inside the chunks of an iterable source.")
    if isinstance(X, Iterator):
        return ChunkSource(lambda: X, reiterable=False)
    if isinstance(X, Iterable):
        return ChunkSource(lambda: iter(X), reiterable=True)
    raise TypeError(f"Cannot read rows from {type(X).__name__}.")


def _is_dask(X):
    return type(X).__module__.startswith("dask")


def _dask_chunks(X, y, sample_weight, labels):
    """Stream a Dask collection's partitions through this process, one at a time."""
    import dask

    from ._dask import dask_partitions

    names = list(labels)
    for part in dask_partitions(X, y, sample_weight, *(labels[n] for n in names)):
        Xp, yp, wp, *lp = dask.compute(*part)
        yield check_chunk(Xp, yp, wp, dict(zip(names, lp)))


def native(data):
    """polars and pyarrow containers as pandas/numpy (what validation reads)."""
    module = type(data).__module__
    if module.startswith("polars"):
        return data.to_pandas() if hasattr(data, "columns") else data.to_numpy()
    if module.startswith("pyarrow"):
        if hasattr(data, "column_names"):
            return data.to_pandas()
        return data.to_numpy(zero_copy_only=False)
    return data


def _is_in_memory(X):
    # an object exposing ``__array__`` (without ``shape``) is rows, not a chunk iterable
    return hasattr(X, "shape") or hasattr(X, "__array__") or (
        isinstance(X, (list, tuple)) and len(X) > 0 and not isinstance(X[0], (tuple, Mapping, Chunk))
    )


def _array_only(data):
    """Array-like only through ``__array__`` (no ``shape`` or ``len``)."""
    return hasattr(data, "__array__") and not hasattr(data, "shape")


def _n_rows(data):
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape is not None else len(data)


def _take(data, start, stop):
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[start:stop]
    if type(data).__module__.startswith("pyarrow"):
        return data.slice(start, stop - start)
    return data[start:stop]


def _is_table(values, n):
    """Whether ``values`` holds several label columns (n, F): a DataFrame or 2-D array."""
    shape = getattr(values, "shape", None)
    return shape is not None and len(shape) == 2 and shape[0] == n


def _slices(chunk, rows):
    n = chunk.n_rows
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        yield Chunk(
            native(_take(chunk.X, start, stop)),
            native(_take(chunk.y, start, stop)),
            _take(chunk.sample_weight, start, stop),
            {name: _take(values, start, stop) for name, values in chunk.labels.items()},
        )
