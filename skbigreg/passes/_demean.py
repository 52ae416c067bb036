"""The row passes of a multi-way fixed-effects fit at the current effects.

Each maps one chunk -- ``Z = [X, y]``, its weights and each row's level
positions ``codes`` (F arrays of shape (n,)) -- to small mergeable statistics: the per-level
sums ``D'W (D p)`` of one conjugate-gradient step
(:func:`effect_product`), the Gram of the demeaned rows once the effects
have converged (:func:`demeaned_gram`), and the scores of robust errors at
the final coefficients (:func:`demeaned_score_statistics`).
"""

from __future__ import annotations

import numpy as np

from ..stats import (
    ChunkStatistics,
    ClusterSums,
    GramStats,
    LevelSums,
    MultiwayGroupedStats,
    OuterProductStats,
)
from ._scores import residual_row_scores


def effect_rows(effects, codes):
    """``sum_f effects_f[codes[f]]``: each row's sum of effects, shape (n, D)."""
    total = np.take(effects[0], codes[0], axis=0)  # several times faster than indexing
    for f in range(1, len(effects)):
        total += np.take(effects[f], codes[f], axis=0)
    return total


def effect_product(direction, codes, sample_weight=None):
    """One chunk's share of ``D'WD p`` for ``p = direction`` (a :class:`LevelSums`)."""
    sizes = [len(p) for p in direction]
    return LevelSums.from_codes(effect_rows(direction, codes), codes, sizes, sample_weight)


def demeaned_rows(Z, codes, effects):
    """``Z - D a``: the rows with every factor's effects removed, one factor at a time.

    Not ``Z - (a_1 + a_2 + ...)``: with large offsets the sum of a row's
    effects rounds at the size of the largest, an error that differs
    between pairs of levels (not in the span of the indicators, so no
    effect can absorb it). Subtracted in turn, each difference is that of
    close numbers (exact when within a factor 2), and what rounding is left
    is the size of the smaller terms.
    """
    within = Z - np.take(effects[0], codes[0], axis=0)
    for f in range(1, len(effects)):
        within -= np.take(effects[f], codes[f], axis=0)
    return within


def demeaned_gram(Z, codes, effects, n_features, sample_weight=None):
    """:class:`GramStats` of the demeaned rows (their centred co-moments and means)."""
    within = demeaned_rows(Z, codes, effects)
    return GramStats.from_arrays(within[:, :n_features], within[:, n_features:], sample_weight)


def demeaned_score_statistics(Z, codes, effects, coef, sample_weight=None, clusters=None):
    """Second-pass map: scores ``w_i e_i (x_i - (D a_x)_i)`` at the final ``coef``.

    ``e_i`` is the within residual. Returns the chunk's rows' statistics
    (to prove the pass saw the fit's rows), its clusters' sums of scores
    (when ``clusters`` are given) and the sum of the scores' outer products.
    """
    k = len(coef)
    within = demeaned_rows(Z, codes, effects)
    scores = residual_row_scores(within, sample_weight, np.append(-coef, 1.0),
                                 0.0, center=False)[:, :k]
    sums = None if clusters is None else ClusterSums.from_rows(scores, clusters)
    rows = GramStats.from_arrays(Z[:, :k], Z[:, k:], sample_weight)
    return ChunkStatistics(rows, sums, OuterProductStats.from_rows(scores))


def demeaned_form_scores(Z, codes, effects, forms, sample_weight=None, clusters=None):
    """Second-pass map of a model of several equations (2SLS and its first stages).

    Each ``(coef, projection)`` of ``forms`` is a residual ``e_i = z_i' coef``
    of the demeaned rows ``z_i`` and the map from its scores ``w_i e_i z_i``
    to those of its own design (e.g. the fitted endogenous regressors of
    2SLS). The scores of all forms sit side by side; returns, as
    :func:`demeaned_score_statistics`, the rows' statistics, the clusters'
    sums of scores (when ``clusters`` are given; a
    :class:`MultiwayGroupedStats` for a tuple of cluster columns) and the sum
    of the scores' outer products.
    """
    k = Z.shape[1] - 1
    within = demeaned_rows(Z, codes, effects)
    scores = np.hstack([residual_row_scores(within, sample_weight, coef, 0.0, center=False)
                        @ projection for coef, projection in forms])
    if isinstance(clusters, tuple):
        sums = MultiwayGroupedStats.from_rows(scores, clusters)
    else:
        sums = None if clusters is None else ClusterSums.from_rows(scores, clusters)
    rows = GramStats.from_arrays(Z[:, :k], Z[:, k:], sample_weight)
    return ChunkStatistics(rows, sums, OuterProductStats.from_rows(scores))
