"""Row labels: one check for every estimator and every way rows arrive.

A row label (``clusters``, ``partitions``, ``groups``, ``entities``,
``periods``) gives each row a level. Labels decide which statistics a row joins, so a bad label
is a silently wrong model: a missing label joins a real level, a label of
the wrong length shifts every row after it, a label that turns from float
to str between chunks splits one level in two. :func:`check_label` refuses
each of these with a ``ValueError`` that names the label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# pandas' inferred types of a label array, mapped to the kinds that may mix.
_KINDS = {
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "boolean": "boolean",
    "string": "string",
    "bytes": "bytes",
    "datetime64": "datetime",
    "datetime": "datetime",
    "date": "datetime",
    "timedelta64": "timedelta",
    "timedelta": "timedelta",
    "period": "period",
    "categorical": "categorical",
}

# Labels whose levels are ordered, and the kinds whose order means what the
# label says: ``periods`` are ordered in time (panel HAC errors weight pairs
# of periods by their distance), so strings -- sorted as text, "10" before
# "9" -- and categories are refused.
_ORDERED_KINDS = {"periods": ("number", "datetime", "period")}


def check_label(name, values, n_rows):
    """``values`` as one label per row, and the label's kind.

    Parameters
    ----------
    name : str
        The label's name, for messages.
    values : array-like of shape (n_rows,)
    n_rows : int
        Rows of the chunk the labels belong to.

    Returns
    -------
    labels : ndarray of shape (n_rows,)
    kind : str
        ``"number"``, ``"string"``, ``"boolean"``, ``"datetime"``, ...: labels
        of one estimator must keep one kind from chunk to chunk.

    Raises
    ------
    ValueError
        On a wrong length, missing values (NaN, None, NaT), values of
        mixed types (e.g. numbers and strings), or ``periods`` that are not
        numbers, datetimes or pandas Periods (their order is their meaning).

    Examples
    --------
    >>> from skbigreg.io import check_label
    >>> check_label("clusters", ["a", "b"], 2)
    (array(['a', 'b'], dtype='<U1'), 'string')
    >>> check_label("clusters", [1.0, None], 2)
    Traceback (most recent call last):
    ...
    ValueError: clusters has 1 missing label (NaN/None), the first at row 1 of this chunk; every row needs a label: drop those rows or give them a level of their own.
    """
    if isinstance(values, pd.Categorical) or isinstance(
        getattr(values, "dtype", None), pd.CategoricalDtype
    ):
        values = np.asarray(values, dtype=object)
    array = np.asarray(values)
    if array.shape != (n_rows,):
        raise ValueError(
            f"{name} has shape {array.shape}; expected ({n_rows},): one label per row of X."
        )
    missing = pd.isna(array)
    if missing.any():
        count = int(missing.sum())
        raise ValueError(
            f"{name} has {count} missing label{'s' if count > 1 else ''} (NaN/None), "
            f"the first at row {int(np.argmax(missing))} of this chunk; every row "
            "needs a label: drop those rows or give them a level of their own."
        )
    inferred = pd.api.types.infer_dtype(array, skipna=False) if n_rows else "empty"
    kind = _KINDS.get(inferred, inferred)
    if kind in ("mixed", "mixed-integer", "unknown-array"):
        kinds = sorted({type(value).__name__ for value in array.tolist()})
        raise ValueError(f"{name} mixes labels of types {kinds}; use one type.")
    ordered = _ORDERED_KINDS.get(name)
    if ordered is not None and n_rows and kind not in ordered:
        raise ValueError(
            f"{name} must be orderable in time (numbers, datetimes or pandas Periods); "
            f"got labels of type {kind}: give each row's period as a number (e.g. the "
            "year) or a datetime."
        )
    return array, kind


def cluster_columns(clusters):
    """``[(name, labels), ...]`` of 2-D ``clusters`` with two or more columns, else None.

    Multi-way clusters come as a DataFrame or an ``(n, d)`` array; each
    column is one dimension, named for messages (``clusters['year']``,
    ``clusters column 1``) and checked by :func:`check_label` like any
    label. A 1-D array, or a single column (which :func:`check_label` then
    refuses by its shape), gives None.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.io import cluster_columns
    >>> [name for name, _ in cluster_columns(np.array([[1, 2], [3, 4]]))]
    ['clusters column 0', 'clusters column 1']
    >>> cluster_columns(np.array([1, 2])) is None
    True
    """
    if clusters is None or getattr(clusters, "ndim", np.ndim(clusters)) != 2:
        return None
    if hasattr(clusters, "columns"):
        columns = [(f"clusters[{name!r}]", clusters.iloc[:, j].to_numpy())
                   for j, name in enumerate(clusters.columns)]
    else:
        array = np.asarray(clusters)
        columns = [(f"clusters column {j}", array[:, j]) for j in range(array.shape[1])]
    return columns if len(columns) > 1 else None


def check_cluster_columns(columns, n_rows, known=None):
    """Check every column of multi-way clusters; the checked columns and their kinds.

    ``known`` are the kinds of the earlier chunks' columns (None for the
    first chunk): the number of columns and each column's kind must stay.
    """
    if known is not None and len(columns) != len(known):
        raise ValueError(
            f"clusters has {len(columns)} column(s) in this chunk and had {len(known)} in "
            "the earlier ones; give the same cluster columns with every chunk."
        )
    checked, kinds = [], []
    for j, (name, values) in enumerate(columns):
        labels, kind = check_label(name, values, n_rows)
        if known is not None and n_rows and "empty" not in (kind, known[j]) and kind != known[j]:
            raise ValueError(
                f"{name} labels were of type {known[j]} in the earlier chunks and are of "
                f"type {kind} in this one; a level must have one type in every chunk."
            )
        checked.append(labels)
        kinds.append(known[j] if known is not None and kind == "empty" else kind)
    return tuple(checked), tuple(kinds)


def check_labels(owner, given, n_rows, known=None):
    """Check a chunk's labels against the estimator and the earlier chunks.

    Parameters
    ----------
    owner : str
        The estimator's name, for messages.
    given : mapping of str to array-like or None
        The chunk's labels by name (None: not given); every name must be one
        the estimator reads.
    n_rows : int
    known : mapping of str to str or None, optional
        The kinds returned for the first chunk; None for the first chunk.
        A label given with earlier chunks must be given with this one (and
        the other way round), with labels of the same kind.

    Returns
    -------
    labels : dict of str to ndarray
        The given labels, checked.
    kinds : dict of str to str or None
        Each name's kind (None where not given): pass it as ``known`` for
        the next chunk.
    """
    labels, kinds = {}, {}
    for name, values in given.items():
        if values is None:
            kinds[name] = None
            continue
        labels[name], kinds[name] = check_label(name, values, n_rows)
    if known is None or not n_rows:
        return labels, (kinds if known is None else dict(known))
    for name, kind in kinds.items():
        before = known.get(name)
        if before is None and kind is not None:
            raise ValueError(
                f"{owner}: {name} is given with this chunk but was not given with the "
                f"earlier ones; give {name} with every chunk or with none."
            )
        if before is not None and kind is None:
            raise ValueError(
                f"{owner}: {name} is missing from this chunk but was given with the "
                f"earlier ones; give {name} with every chunk or with none."
            )
        if kind is not None and kind != before and "empty" not in (kind, before):
            raise ValueError(
                f"{owner}: {name} labels were of type {before} in the earlier chunks "
                f"and are of type {kind} in this one; a level must have one type "
                "in every chunk, or one level becomes two."
            )
    return labels, _settle(kinds, known)


def _settle(kinds, known):
    """The kinds to remember: an empty chunk's labels fix no kind."""
    return {name: known.get(name) if kind == "empty" else kind for name, kind in kinds.items()}


def refuse_unread(owner, labels, reads):
    """Refuse a chunk's labels that the estimator does not read (it would ignore them)."""
    unread = sorted(name for name, values in labels.items()
                    if values is not None and name not in reads)
    if unread:
        raise ValueError(
            f"The chunk carries {unread} labels, which {owner} does not read "
            f"(it reads {list(reads)}); a label it ignored would silently change "
            "the model."
        )


class ChunkLabels:
    """The row labels an estimator reads, checked chunk by chunk.

    For estimators that gather chunks themselves (e.g. by partition): each
    chunk's labels go through :func:`refuse_unread` and :func:`check_labels`
    against the first chunk's.
    """

    def __init__(self, estimator, reads, required=()):
        self.owner = type(estimator).__name__
        self.reads = tuple(reads)
        self.required = tuple(required)
        self.kinds = None  # fixed by the first chunk

    def check(self, chunk):
        """The chunk's checked labels by name (a ``ValueError`` on any problem)."""
        refuse_unread(self.owner, chunk.labels, self.reads)
        given = {name: chunk.label(name) for name in self.reads}
        missing = [name for name in self.required if given[name] is None]
        if missing:
            raise ValueError(f"{self.owner} needs {missing[0]} labels with every chunk.")
        labels, self.kinds = check_labels(self.owner, given, chunk.n_rows, self.kinds)
        return labels
