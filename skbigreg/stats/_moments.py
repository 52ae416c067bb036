"""Centred moments of the augmented design ``Z = [X, y]``, shared by both accumulators.

Both accumulators describe a weighted chunk of rows by its weighted count, the
weighted mean of ``Z`` and a second-moment object of the *centred* rows: the
co-moment matrix ``C = sum_i w_i (z_i - m)(z_i - m)'`` (Gram accumulator) or
an upper-triangular factor ``R`` with ``R'R = C`` (TSQR accumulator).
Centring is done per block of rows small enough to stay in cache, so it costs
no extra pass over memory; blocks are merged with the pairwise update of
Chan, Golub & LeVeque.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows per block: keep the centred block (rows x columns doubles) near 2 MiB,
# the size of a core's cache here, so the centring pass reads from cache.
_BLOCK_BYTES = 2**21


@dataclass(frozen=True)
class CentredBlock:
    """One block of rows reduced to what both accumulators need.

    Attributes
    ----------
    n_rows : int
        Rows in the block.
    weight_sum : float
        Sum of the sample weights of the block.
    mean : ndarray of shape (n_columns,)
        Weighted mean of ``[X, y]`` over the block.
    scaled : ndarray of shape (n_rows, n_columns)
        ``sqrt(w_i) * (z_i - mean)``; a view of a reused buffer, valid until
        the next block is produced.
    """

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    scaled: np.ndarray


def block_rows(n_columns):
    """Number of rows per cache-sized block for ``n_columns`` columns."""
    return max(64, _BLOCK_BYTES // (8 * max(n_columns, 1)))


def centred_blocks(X, y, sample_weight=None, rows=None):
    """Yield :class:`CentredBlock` objects over consecutive row blocks.

    ``X`` is (n, K) and ``y`` is (n, T), both float64; ``sample_weight`` is
    None (unit weights) or (n,) non-negative.
    """
    n_samples, n_features = X.shape
    n_columns = n_features + y.shape[1]
    rows = rows or block_rows(n_columns)
    buffer = np.empty((min(rows, n_samples), n_columns))
    for start in range(0, n_samples, rows):
        stop = min(start + rows, n_samples)
        wb = None if sample_weight is None else sample_weight[start:stop]
        yield centre_block(buffer[: stop - start], X[start:stop], y[start:stop], wb)


def centre_block(out, Xb, yb, wb=None):
    """The :class:`CentredBlock` of rows ``Xb, yb`` (weights ``wb``), written into ``out``.

    ``out`` is an (n, K + T) array of any memory layout; it becomes the
    block's ``scaled`` rows ``sqrt(w_i) * (z_i - mean)``.
    """
    size, n_features = Xb.shape
    if wb is None:
        weight_sum = float(size)
        mean = np.concatenate([Xb.sum(axis=0), yb.sum(axis=0)]) / size
        np.subtract(Xb, mean[:n_features], out=out[:, :n_features])
        np.subtract(yb, mean[n_features:], out=out[:, n_features:])
    else:
        weight_sum = float(wb.sum())
        if weight_sum > 0:
            mean = np.concatenate([wb @ Xb, wb @ yb]) / weight_sum
        else:
            mean = np.zeros(out.shape[1])
        np.subtract(Xb, mean[:n_features], out=out[:, :n_features])
        np.subtract(yb, mean[n_features:], out=out[:, n_features:])
        out *= np.sqrt(wb)[:, None]
    return CentredBlock(size, weight_sum, mean, out)


def merged_mean(w1, m1, w2, m2):
    """Weighted mean of two parts and the shift ``m2 - m1`` between them."""
    total = w1 + w2
    delta = m2 - m1
    if total == 0:
        return m1.copy(), delta, 0.0
    return m1 + delta * (w2 / total), delta, w1 * w2 / total


def raise_not_finite(X, y, sample_weight=None):
    """Raise a ``ValueError`` that names the non-finite input of a chunk.

    Called only when a chunk's statistics came out non-finite, so the
    common path never scans the rows for NaN/inf.
    """
    for name, array in (("X", X), ("y", y), ("sample_weight", sample_weight)):
        if array is None:
            continue
        if np.isnan(array).any():
            raise ValueError(f"Input {name} contains NaN.")
        if np.isinf(array).any():
            raise ValueError(f"Input {name} contains infinity.")
    raise ValueError(
        "Input X or y contains values too large for float64 cross-products "
        "(the statistics overflowed to infinity); rescale the columns."
    )
