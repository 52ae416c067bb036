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

# Stored (or densified) values per block of rows: copies of a block stay near
# 8 MiB of values and indices, so a chunk's map never holds a second copy of X.
_BLOCK_ENTRIES = 2**19


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
        share = np.zeros(X.shape[1])
        for rows in entry_blocks(X):  # per-entry weights one block at a time
            entry_weights = np.repeat(weights[rows], np.diff(X.indptr[rows.start : rows.stop + 1]))
            entries = slice(X.indptr[rows.start], X.indptr[rows.stop])
            share += np.bincount(X.indices[entries], weights=entry_weights, minlength=X.shape[1])
        total = weights.sum()
    return share > 0.5 * total


def entry_blocks(X, n_dense=0):
    """Slices of consecutive rows of CSR ``X``, each holding about ``_BLOCK_ENTRIES`` values.

    ``n_dense`` columns densified per row count towards a block's values, so
    a block's copies stay a few MiB whatever the shape of ``X``.
    """
    n = X.shape[0]
    per_row = X.nnz / max(n, 1) + n_dense
    step = max(64, int(_BLOCK_ENTRIES / max(per_row, 1.0)))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def sparse_gram_moments(X, y, sample_weight=None):
    """``(n_rows, weight_sum, mean, comoment)`` of ``Z = [X, y]`` for sparse ``X``.

    ``X`` (n, K) is any scipy.sparse matrix, ``y`` (n, T) dense, both float64.
    The co-moment is centred as described in the module notes. Memory: the
    (K+T)^2 co-moment and copies of one block of rows, never a column-sliced
    copy of ``X`` nor a second (K+T)^2 matrix.
    """
    X = as_csr(X)
    n, k = X.shape
    size = k + y.shape[1]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weight_sum = float(w.sum())
    if not weight_sum > 0:
        if np.isnan(weight_sum):
            raise_not_finite(X.data, y, sample_weight)
        return n, weight_sum, np.zeros(size), np.zeros((size, size))
    dense = dense_columns(X, None if sample_weight is None else w)
    targets = k + np.arange(y.shape[1])
    split = SplitColumns(np.flatnonzero(~dense), np.concatenate([np.flatnonzero(dense), targets]))
    column_means = np.concatenate([X.T @ w, w @ y]) / weight_sum
    # Reference of the dense columns and targets: the chunk's mean.
    reference = column_means[split.shifted]
    comoment, shifted_sum = _shifted_products(X, y, w, split, reference)
    # Mean of the columns as they entered the products, then centre in place.
    shift_mean = np.empty(size)
    shift_mean[split.sparse] = column_means[split.sparse]
    shift_mean[split.shifted] = shifted_sum / weight_sum
    _subtract_outer(comoment, weight_sum, shift_mean)
    mean = shift_mean
    mean[split.shifted] += reference
    if not (np.isfinite(mean).all() and np.isfinite(comoment).all()):
        raise_not_finite(X.data, y, sample_weight)
    return n, weight_sum, mean, comoment


@dataclass(frozen=True)
class SplitColumns:
    """Positions in ``[X, y]`` of the columns left sparse and of those shifted first."""

    sparse: np.ndarray
    shifted: np.ndarray


def _shifted_products(X, y, w, split, reference):
    """``Z'WZ`` of ``Z = [X, y]`` with the shifted columns less ``reference``, and their sums.

    Returned in the column order of ``[X, y]``, with the shifted sums
    ``w'(Z_shifted - reference)``. One block of rows at a time: the shifted
    columns are densified and shifted before any product; the sparse columns
    enter as stored, through sparse products whose entries are added to the
    dense result where they fall.
    """
    s, d = split.sparse, split.shifted
    n_x = X.shape[1]
    dense_x = d[d < n_x]
    out = np.zeros((n_x + y.shape[1],) * 2)
    cross = np.zeros((len(s), len(d)))
    shifted_sum = np.zeros(len(d))
    for rows in entry_blocks(X, len(d)):
        block = X[rows]
        Zb = np.hstack([block[:, dense_x].toarray(), y[rows]]) - reference
        # Z'WZ = S'S with S = sqrt(W) Z: numpy gives S.T @ S to BLAS syrk.
        root = np.sqrt(w[rows, None])
        scaled = Zb * root
        weighted = scaled * root
        shifted_sum += weighted.sum(axis=0)
        out[np.ix_(d, d)] += scaled.T @ scaled
        if not len(s):
            continue
        Xs = block[:, s]
        cross += Xs.T @ weighted
        _add_sparse(out, s, Xs.T @ (Xs * w[rows, None]))
    out[np.ix_(s, d)] = cross
    out[np.ix_(d, s)] = cross.T
    return out, shifted_sum


def _add_sparse(out, positions, product):
    """``out[positions, positions] += product`` for a sparse ``product``, entry by entry."""
    product = sparse.coo_array(product)
    product.sum_duplicates()
    out[positions[product.row], positions[product.col]] += product.data


def _subtract_outer(comoment, weight, mean):
    """``comoment -= weight * mean mean'`` in place, a band of rows at a time."""
    step = max(1, _BLOCK_ENTRIES // max(len(mean), 1))
    for start in range(0, len(mean), step):
        band = slice(start, start + step)
        comoment[band] -= np.outer(weight * mean[band], mean)


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
