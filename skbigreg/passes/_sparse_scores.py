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
from ..stats._sparse import as_csr, dense_columns, entry_blocks

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
    out = np.empty((k + with_intercept,) * 2)
    inner = out[with_intercept:, with_intercept:]
    np.multiply.outer(total * offset, offset, out=inner)  # no (K, K) temporary
    inner += stats.cxx
    if with_intercept:
        out[0, 0] = total
        out[0, 1:] = out[1:, 0] = total * offset
    return out


def _pair_sums(X, B, columns):
    """``x_i' B_cc x_i`` of each row of CSR ``X``, over pairs of its stored values.

    ``X``'s column ``j`` is column ``columns[j]`` of ``B``: ``B_cc`` is read
    entry by entry, never copied.
    """
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
        entries = B[columns[block.indices[left]], columns[block.indices[right]]]
        values = block.data[left] * block.data[right] * entries
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

    def quadratic(self, bread):
        """``(x_i - c)' B (x_i - c)`` of each row, for ``bread`` :func:`split_bread` of ``B``."""
        out = np.einsum("ij,ij->i", self.dense @ bread.dense, self.dense)
        out += 2 * np.einsum("ij,ij->i", self.sparse @ bread.cross.T, self.dense)
        out += _pair_sums(self.sparse, bread.full, self.sparse_columns)
        # The sparse columns' centre: -2 z'B offset + offset'B offset.
        out -= 2 * (self.dense @ bread.cross_offset + self.sparse @ bread.sparse_offset)
        return out + bread.offset_form


@dataclass(frozen=True)
class SplitBread:
    """The blocks of ``B`` that :meth:`ShiftedRows.quadratic` reads, made once per pass.

    ``dense`` is ``B_dd``, ``cross`` is ``B_ds``; the sparse-sparse block
    ``B_ss`` is only read entry by entry from ``full``, and through
    ``sparse_offset = B_ss o`` and ``offset_form = o' B_ss o`` for the
    sparse columns' centre ``o``.
    """

    full: np.ndarray
    dense: np.ndarray
    cross: np.ndarray
    cross_offset: np.ndarray
    sparse_offset: np.ndarray
    offset_form: float


def split_bread(B, dense, centre):
    """:class:`SplitBread` of ``B`` for the columns of the mask ``dense`` and ``centre``."""
    d, s = np.flatnonzero(dense), np.flatnonzero(~dense)
    offset = np.where(dense, 0.0, centre)  # o on the sparse columns, 0 elsewhere
    sparse_offset = (B @ offset)[s]
    cross = B[np.ix_(d, s)]
    return SplitBread(B, B[np.ix_(d, d)], cross, cross @ centre[s], sparse_offset,
                      float(centre[s] @ sparse_offset))


def shifted_rows(X, centre, dense):
    """:class:`ShiftedRows` of CSR ``X``: the columns of the mask ``dense`` are shifted."""
    d, s = np.flatnonzero(dense), np.flatnonzero(~dense)
    return ShiftedRows(d, s, X[:, d].toarray() - centre[d], X[:, s], centre[s])


@dataclass(frozen=True)
class RowTerms:
    """Per-row residuals ``e_i`` and quadratic forms ``(x_i - c)' B (x_i - c)``."""

    residual: np.ndarray
    quadratic: np.ndarray


def row_terms(X, y, centre, coef, bread):
    """:class:`RowTerms` of CSR ``X`` about ``centre``, one block of rows at a time.

    ``y`` is the shifted target ``y - c_y``. Memory: one densified block
    of the shifted columns, never an (n, d) copy of the chunk.
    """
    dense = dense_columns(X)
    split = split_bread(bread, dense, centre)
    residual, quadratic = np.empty(X.shape[0]), np.empty(X.shape[0])
    for rows in entry_blocks(X, int(dense.sum())):
        block = shifted_rows(X[rows], centre, dense)
        residual[rows] = y[rows] - block.times(coef)
        quadratic[rows] = block.quadratic(split)
    return RowTerms(residual, quadratic)


def sparse_score_pass(X, y, w, solution, stats, frequency, shift):
    """``(rows, meats)`` of :func:`~skbigreg.passes.score_pass_statistics` for one target.

    ``X`` sparse (n, K), ``y`` (n, 1), ``w`` weights or None; ``shift`` is
    ``(c_x, c_y)``, what the fit centres rows by.
    """
    X = as_csr(X)
    c_x, c_y = shift
    terms = row_terms(X, y[:, 0] - c_y[0], c_x, solution.coef[:, 0], solution.bread)
    per_row = None if frequency else w
    # Scores s_i = a_i e_i u_i: a_i = w_i (analytic) or sqrt(w_i) (frequency).
    scale = np.ones(X.shape[0]) if w is None else (np.sqrt(w) if frequency else w)
    squared = (scale * terms.residual) ** 2
    h = terms.quadratic
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
