"""The HC score pass of a scipy.sparse chunk, from sparse products.

The meats are weighted second moments of the design rows about the fitted
centre ``c``: ``sum_i v_i u_i u_i'`` with ``u_i = [1, x_i - c]`` and
``v_i = a_i^2 e_i^2`` (HC0), divided by ``1 - h_i`` (HC2) or its square (HC3).
With ``v_i >= 0`` they are the centred Gram statistics of the rows under the
weights ``v`` moved to ``c`` -- ``C_v + V (m_v - c)(m_v - c)'`` -- so they
come from the sparse Gram map, which keeps the centred form exact. The
leverages ``h_i = (x_i - c)' B (x_i - c)`` read the dense columns shifted
first (exact) and the sparse ones entry by entry: the cost is
``O(nnz * d + sum_i nnz_i^2)`` for ``d`` dense columns, never ``O(n K^2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import GramStats, LeverageOuterProducts
from ..stats._sparse import as_csr, dense_columns

# Pairs of stored values handled at once when summing x_i' B x_i (bounded memory).
_PAIR_BLOCK = 1 << 21


def moment_about(X, weights, centre, with_intercept):
    """``sum_i v_i u_i u_i'`` with ``u_i = [1, x_i - centre]`` (or ``x_i - centre``).

    ``weights`` ``v`` are non-negative; sparse ``X`` is mapped by the sparse
    Gram statistics, which stay centred, and moved to ``centre`` exactly.
    """
    k = X.shape[1]
    stats = GramStats.from_arrays(X, np.empty((X.shape[0], 0)), weights)
    if not stats.weight_sum > 0:
        size = k + with_intercept
        return np.zeros((size, size))
    offset = stats.mean_x - centre
    total = stats.weight_sum
    inner = stats.cxx + total * np.outer(offset, offset)
    if not with_intercept:
        return inner
    out = np.empty((k + 1, k + 1))
    out[0, 0] = total
    out[0, 1:] = out[1:, 0] = total * offset
    out[1:, 1:] = inner
    return out


def _pair_sums(X, B):
    """``x_i' B x_i`` of each row of CSR ``X``, over pairs of its stored values."""
    counts = np.diff(X.indptr)
    out = np.zeros(X.shape[0])
    start = 0
    while start < X.shape[0]:
        # Rows whose pairs fit in one block (at least one row).
        pairs = np.cumsum(counts[start:] ** 2)
        stop = start + max(1, int(np.searchsorted(pairs, _PAIR_BLOCK, side="right")))
        block = X[start:stop]
        n_entries = np.diff(block.indptr)
        row = np.repeat(np.arange(stop - start), n_entries)
        partners = n_entries[row]
        left = np.repeat(np.arange(block.nnz), partners)
        # The partner of pair p is the (p - first pair of its entry)-th value of the row.
        first = np.repeat(np.cumsum(partners) - partners, partners)
        right = block.indptr[row[left]] + (np.arange(len(left)) - first)
        values = block.data[left] * block.data[right] * B[block.indices[left], block.indices[right]]
        out[start:stop] = np.bincount(row[left], weights=values, minlength=stop - start)
        start = stop
    return out


@dataclass(frozen=True)
class ShiftedRows:
    """Sparse rows split for products about a centre ``c``.

    ``x_i - c`` is ``dense`` on the columns ``dense_columns`` (shifted before
    any product: exact) and ``sparse - offset`` on ``sparse_columns`` (the
    stored values; their centre ``offset`` enters afterwards).
    """

    dense_columns: np.ndarray
    sparse_columns: np.ndarray
    dense: np.ndarray
    sparse: object
    offset: np.ndarray

    def times(self, b):
        """``(x_i - c)' b`` of each row."""
        d, s = self.dense_columns, self.sparse_columns
        return self.dense @ b[d] + (self.sparse @ b[s] - self.offset @ b[s])

    def quadratic(self, B):
        """``(x_i - c)' B (x_i - c)`` of each row."""
        d, s = self.dense_columns, self.sparse_columns
        B_dd, B_ds, B_ss = B[np.ix_(d, d)], B[np.ix_(d, s)], B[np.ix_(s, s)]
        out = np.einsum("ij,ij->i", self.dense @ B_dd, self.dense)
        out += 2 * np.einsum("ij,ij->i", self.sparse @ B_ds.T, self.dense)
        out += _pair_sums(self.sparse, B_ss)
        # The sparse columns' centre: -2 z'B offset + offset'B offset.
        out -= 2 * (self.dense @ (B_ds @ self.offset) + self.sparse @ (B_ss @ self.offset))
        return out + self.offset @ B_ss @ self.offset


def shifted_rows(X, centre):
    """:class:`ShiftedRows` of CSR ``X``: columns in over half the rows are shifted."""
    dense = dense_columns(X)
    d, s = np.flatnonzero(dense), np.flatnonzero(~dense)
    return ShiftedRows(d, s, X[:, d].toarray() - centre[d], X[:, s], centre[s])


def sparse_score_pass(X, y, w, solution, stats, frequency, shift):
    """``(rows, meats)`` of :func:`~skbigreg.passes.score_pass_statistics` for one target.

    ``X`` sparse (n, K), ``y`` (n, 1), ``w`` weights or None; ``shift`` is
    ``(c_x, c_y)``, what the fit centres rows by.
    """
    X = as_csr(X)
    c_x, c_y = shift
    coef = solution.coef[:, 0]
    rows = shifted_rows(X, c_x)
    residual = (y[:, 0] - c_y[0]) - rows.times(coef)
    per_row = None if frequency else w
    # Scores s_i = a_i e_i u_i: a_i = w_i (analytic) or sqrt(w_i) (frequency).
    scale = np.ones(len(residual)) if w is None else (np.sqrt(w) if frequency else w)
    squared = (scale * residual) ** 2
    h = rows.quadratic(solution.bread)
    if solution.center:
        h = h + 1.0 / stats.weight_sum
    if per_row is not None:
        h = h * per_row
    if frequency and w is not None:
        h = np.where(w > 0, h, 0.0)
    room = 1.0 - h
    unit = room <= LeverageOuterProducts.unit_tolerance
    room = np.where(unit, 1.0, room)
    defined = np.where(unit, 0.0, squared)
    meats = [moment_about(X, v, c_x, solution.center)
             for v in (squared, defined / room, defined / room**2)]
    return GramStats.from_arrays(X, y, w), LeverageOuterProducts(X.shape[0], *meats, int(unit.sum()), frequency)
