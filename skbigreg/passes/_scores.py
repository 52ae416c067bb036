"""The second pass: per-row scores at fitted coefficients, for robust errors.

HC and cluster-robust errors of a streamed fit need each row's score
``w_i e_i u_i`` at the final coefficients, so they take a second pass over
the rows; these maps turn a chunk into its scores (summed by the callers
into mergeable statistics). HC2 and HC3 also need each row's leverage, which
the first pass's statistics give in the same second pass.
"""

from __future__ import annotations

import numpy as np

from ..stats import (
    ChunkStatistics,
    ClusterSums,
    GramStats,
    LeverageOuterProducts,
    dense_row_blocks,
    is_sparse,
)
from ._sparse_scores import sparse_score_pass


def residual_shift(solution, stats):
    """``(c_x, c_y)``: what rows are centred by before forming ``u`` and ``e``."""
    if solution.center:
        return stats.mean_x, stats.mean_y
    return np.zeros(stats.n_features), np.zeros(stats.n_targets)


def hc_scores(X, y, sample_weight, solution, stats, target):
    """Per-row scores ``w_i e_i u_i`` of one chunk at the fitted coefficients."""
    c_x, c_y = residual_shift(solution, stats)
    U = X - c_x
    e = (y[:, target] - c_y[target]) - U @ solution.coef[:, target]
    if sample_weight is not None:
        e = e * sample_weight
    scores = U * e[:, None]
    if solution.center:
        scores = np.hstack([e[:, None], scores])
    return scores


def leverage(X, sample_weight, solution, stats):
    """Per-row leverage ``h_i = w_i u_i' (U'WU)^-1 u_i`` at the fitted design.

    The diagonal of the weighted hat matrix, as statsmodels defines it for WLS
    (``wexog (X'WX)^-1 wexog'``, ``wexog = sqrt(w) x``). In the centred
    parametrisation ``u = [1, x - mean_x]`` the bread is block diagonal, so
    ``h_i = w_i (1 / sum w + (x_i - mean_x)' Cxx^-1 (x_i - mean_x))``; without
    an intercept ``h_i = w_i x_i' (X'WX)^-1 x_i``.
    """
    c_x, _ = residual_shift(solution, stats)
    U = X - c_x
    h = np.einsum("ij,ij->i", U @ solution.bread, U)
    if solution.center:
        h = h + 1.0 / stats.weight_sum
    return h if sample_weight is None else h * sample_weight


def residual_row_scores(Z, sample_weight, coef, shift, center):
    """Per-row ``w_i e_i u_i`` for a residual that is linear in the columns.

    ``Z`` holds all accumulated columns (n, D); the residual is
    ``e_i = (z_i - shift)' coef`` and ``u_i = [1, z_i - shift]`` (the leading
    one only when ``center``). Estimators whose scores are not those of the
    least-squares design (IV, first stages) project these onto their own
    design afterwards.
    """
    U = Z - shift
    e = U @ coef
    if sample_weight is not None:
        e = e * sample_weight
    scores = U * e[:, None]
    return np.hstack([e[:, None], scores]) if center else scores


def row_level_means(levels, level_stats):
    """Each row's level means, shape (n, D), from the first pass's per-level statistics.

    Raises ``ValueError`` for a level not seen in the first pass.
    """
    position = np.searchsorted(level_stats.labels, levels)
    position = np.clip(position, 0, len(level_stats.labels) - 1)
    if not np.array_equal(level_stats.labels[position], levels):
        raise ValueError("entities contains levels not seen in the first pass.")
    return level_stats.mean[position]


def demeaned_scores(X, y, sample_weight, levels, level_stats, coef):
    """Per-row ``w_i e_i (x_i - m_level(i))`` with ``e_i`` the within residual.

    Raises ``ValueError`` for a level not seen in the first pass.
    """
    k = X.shape[1]
    means = row_level_means(levels, level_stats)
    X_within = X - means[:, :k]
    residual = (y - means[:, k]) - X_within @ coef
    if sample_weight is not None:
        residual = residual * sample_weight
    return X_within * residual[:, None]


def score_pass_statistics(X, y, sample_weight=None, *, solution, stats, frequency=False,
                          periods=None):
    """Second-pass map: a chunk's HC meats in ``extra``, its rows' statistics in ``stats``.

    ``extra`` is a :class:`~skbigreg.stats.LeverageOuterProducts` of the scores
    ``s_i`` (all targets stacked) and leverages ``h_i``: ``sum_i s_i s_i'``
    (HC0, HC1) and its ``1 / (1 - h_i)`` and ``1 / (1 - h_i)^2`` weightings
    (HC2, HC3). ``stats`` proves that the pass saw the rows of the fit.

    With ``frequency`` a row of weight ``w_i`` stands for ``w_i`` equal rows:
    each of them has score ``e_i u_i`` and leverage ``u_i' B u_i``, so the
    row contributes ``w_i`` times their terms -- its scores are scaled by
    ``sqrt(w_i)`` (not ``w_i``) and its leverage is not weighted.

    A scipy.sparse chunk of one target is mapped from sparse products
    (:mod:`skbigreg.passes._sparse_scores`); with several targets it is
    densified one block of rows at a time (bounded memory, dense cost).
    With ``periods`` (one label per row) the scores ``w_i e_i u_i`` are also
    summed per period, in ``periods`` (a :class:`~skbigreg.stats.ClusterSums`),
    for Driscoll-Kraay errors; a frequency-weighted row's ``w_i`` copies sum
    to the same ``w_i e_i u_i``.
    """
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(len(y), -1) if y.ndim == 1 else y
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if is_sparse(X) and y.shape[1] == 1:
        rows, meats = sparse_score_pass(X, y, w, solution, stats, frequency,
                                        residual_shift(solution, stats))
        return ChunkStatistics(rows, None, meats)
    if is_sparse(X):  # several targets: their scores stack, densify a block at a time
        return sum(
            score_pass_statistics(b.X, b.y, b.sample_weight, solution=solution,
                                  stats=stats, frequency=frequency)
            for b in dense_row_blocks(X, y, w, min_rows=4096)
        )
    X = np.asarray(X, dtype=np.float64)
    rows = GramStats.from_arrays(X, y, w)
    per_row = None if frequency else w
    scores = np.hstack([
        hc_scores(X, y, per_row, solution, stats, t) for t in range(stats.n_targets)
    ])
    h = leverage(X, per_row, solution, stats)
    if frequency and w is not None:
        scores = scores * np.sqrt(w)[:, None]
        h = np.where(w > 0, h, 0.0)  # a row of weight 0 stands for no row
    period_sums = None
    if periods is not None:
        # w_i e_i u_i: with frequency weights the scores above are sqrt(w_i) e_i u_i
        summed = scores if not frequency or w is None else scores * np.sqrt(w)[:, None]
        period_sums = ClusterSums.from_rows(summed, periods)
    return ChunkStatistics(rows, None, LeverageOuterProducts.from_rows(scores, h, frequency),
                           periods=period_sums)
