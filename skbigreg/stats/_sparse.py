"""Centred statistics of a scipy.sparse chunk, from sparse products.

A sparse design (one-hot factors next to a few numeric columns) is mapped
without densifying it: the cost is that of the sparse products, O(nnz) per
row pass plus ``O(sum_i nnz_i^2)`` for ``X'WX``, not O(n K^2).

Exactness of the centred form. The statistics store centred co-moments, but
centring a sparse column fills it. The columns are therefore split by their
weighted share of rows holding an entry:

* a column stored in more than half of the rows (a numeric column, a frequent
  level) is *dense*: it is densified in row blocks and shifted by the chunk's
  mean before any product, exactly as the dense path centres;
* the other columns are left sparse and centred algebraically afterwards,
  ``C = A - w m m'``. That subtraction loses ``log10(1 + m_j^2 / s_j^2)``
  digits on column ``j``, and for a column with entries in a weighted share
  ``f <= 1/2`` of the rows Cauchy-Schwarz bounds ``m_j^2 / s_j^2 <= f / (1 - f)
  <= 1``: at most ``log10 2``, a third of a digit, whatever the offsets of the
  values -- the same guarantee as the dense accumulator's raw-product path.

Everything here imports numpy and scipy only, so workers can run it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ._moments import block_rows, raise_not_finite


def is_sparse(X):
    """Whether ``X`` is a scipy.sparse matrix or array."""
    return sparse.issparse(X)


def as_csr(X):
    """``X`` as a canonical float64 CSR array (summed duplicates, sorted indices).

    Never modifies ``X``: a copy is made when it has to be changed.
    """
    X = sparse.csr_array(X, dtype=np.float64)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def check_sparse_finite(X):
    """Raise the finiteness check's ``ValueError`` for an explicit NaN/inf in ``X``.

    Only stored values can be non-finite, so this reads ``nnz`` numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skbigreg.stats import check_sparse_finite
    >>> check_sparse_finite(sparse.csr_array(np.eye(2)))
    >>> check_sparse_finite(sparse.csr_array(np.diag([1.0, np.nan])))
    Traceback (most recent call last):
    ...
    ValueError: Input X contains NaN.
    """
    if not np.isfinite(X.data).all():
        raise_not_finite(X.data, None)


def as_dense(X):
    """``X`` as a dense ndarray (a sparse chunk is densified whole, memory n x K).

    For the few maps that need every dense row of a chunk at once.
    """
    return X.toarray() if is_sparse(X) else X


def dense_columns(X, weights=None):
    """Mask of the columns of CSR ``X`` stored in more than half of the (weighted) rows."""
    if weights is None:  # counts only: no per-entry array
        share, total = np.bincount(X.indices, minlength=X.shape[1]), X.shape[0]
    else:
        entry_weights = np.repeat(weights, np.diff(X.indptr))
        share = np.bincount(X.indices, weights=entry_weights, minlength=X.shape[1])
        total = weights.sum()
    return share > 0.5 * total


def sparse_gram_moments(X, y, sample_weight=None):
    """``(n_rows, weight_sum, mean, comoment)`` of ``Z = [X, y]`` for sparse ``X``.

    ``X`` (n, K) is any scipy.sparse matrix, ``y`` (n, T) dense, both float64.
    The co-moment is centred as described in the module notes.
    """
    X = as_csr(X)
    n, k = X.shape
    t = y.shape[1]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weight_sum = float(w.sum())
    size = k + t
    if not weight_sum > 0:
        if np.isnan(weight_sum):
            raise_not_finite(X.data, y, sample_weight)
        return n, weight_sum, np.zeros(size), np.zeros((size, size))
    dense = dense_columns(X, None if sample_weight is None else w)
    X_dense, X_sparse = X[:, np.flatnonzero(dense)], X[:, np.flatnonzero(~dense)]
    # Reference of the dense columns and targets: the chunk's mean.
    reference = np.concatenate([X_dense.T @ w, w @ y]) / weight_sum
    raw, shifted_sum = _shifted_products(X_sparse, X_dense, y, w, reference)
    n_sparse = X_sparse.shape[1]
    shift_mean = np.concatenate([X_sparse.T @ w, shifted_sum]) / weight_sum
    comoment = raw - weight_sum * np.outer(shift_mean, shift_mean)
    mean = shift_mean + np.concatenate([np.zeros(n_sparse), reference])
    # Back to the column order of [X, y].
    order = np.concatenate([np.flatnonzero(~dense), np.flatnonzero(dense), k + np.arange(t)])
    position = np.argsort(order)
    comoment = comoment[np.ix_(position, position)]
    mean = mean[position]
    if not (np.isfinite(mean).all() and np.isfinite(comoment).all()):
        raise_not_finite(X.data, y, sample_weight)
    return n, weight_sum, mean, comoment


def _shifted_products(X_sparse, X_dense, y, w, reference):
    """``Z'WZ`` of ``Z = [X_sparse, X_dense - r_x, y - r_y]`` and the shifted sums ``w'(Z - r)``.

    The dense columns and targets are shifted in cache-sized blocks before
    any product; the sparse columns enter as stored (one sparse product).
    """
    n_sparse, n_shifted = X_sparse.shape[1], len(reference)
    size = n_sparse + n_shifted
    raw = np.zeros((size, size))
    shifted_sum = np.zeros(n_shifted)
    cross = np.zeros((n_sparse, n_shifted))
    step = block_rows(n_shifted)
    for start in range(0, X_sparse.shape[0], step):
        rows = slice(start, start + step)
        Zb = np.hstack([X_dense[rows].toarray(), y[rows]]) - reference
        weighted = Zb * w[rows, None]
        shifted_sum += weighted.sum(axis=0)
        raw[n_sparse:, n_sparse:] += Zb.T @ weighted
        cross += X_sparse[rows].T @ weighted
    raw[:n_sparse, n_sparse:] = cross
    raw[n_sparse:, :n_sparse] = cross.T
    raw[:n_sparse, :n_sparse] = (X_sparse.T @ (sparse.diags_array(w) @ X_sparse)).toarray()
    return raw, shifted_sum


@dataclass(frozen=True)
class DenseRows:
    """One block of a sparse chunk's rows, densified.

    Attributes
    ----------
    rows : slice
        Position of the block in the chunk.
    X : ndarray of shape (n_block, K)
    y : ndarray of shape (n_block, T)
    sample_weight : ndarray of shape (n_block,) or None
    """

    rows: slice
    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None


def dense_row_blocks(X, y, sample_weight=None, min_rows=64):
    """:class:`DenseRows` of sparse ``X`` densified a cache-sized block at a time.

    For maps that need the dense rows (the TSQR factor, per-group moments,
    scores of centred rows): memory stays that of one block, though the
    cost is that of the dense design.
    """
    X = as_csr(X)
    step = max(min_rows, block_rows(X.shape[1] + y.shape[1]))
    for start in range(0, X.shape[0], step):
        rows = slice(start, start + step)
        w = None if sample_weight is None else sample_weight[rows]
        yield DenseRows(rows, X[rows].toarray(), y[rows], w)
