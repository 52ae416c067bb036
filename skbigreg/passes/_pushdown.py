"""Statistics computed by a database (SQL push-down), as the mergeable types.

:class:`~skbigreg.io.SqlPushdown` compiles the map step to SQL aggregates
and returns plain arrays; these functions make them the statistics the
estimators merge and solve from, so a fit on a table equals the fit on its
pulled rows.
"""

from __future__ import annotations

import numpy as np

from ..io._pushdown import ScorePoint
from ..stats import ChunkStatistics, GramStats, GroupedGramStats, LeverageOuterProducts
from ._scores import residual_shift


def pushdown_statistics(pushdown):
    """The first pass in the database: totals, and per cluster when it names clusters.

    Returns
    -------
    ChunkStatistics
    """
    k = len(pushdown.feature_names)
    if pushdown.clusters is None:
        m = pushdown.moments()
        stats = GramStats(k, 1, m.n_rows, m.weight_sum, m.mean, m.comoment)
        return ChunkStatistics(stats, None, None, m.log_weight_sum)
    grouped, log_w = pushdown.grouped_moments()
    clusters = GroupedGramStats(grouped.labels, grouped.n_rows, grouped.weight_sum,
                                grouped.mean, grouped.comoment, k)
    return ChunkStatistics(clusters.total(), clusters, None, log_w)


def pushdown_score_pass(pushdown, *, solution, stats, frequency=False):
    """The HC pass in the database at ``solution``, as ``score_pass_statistics`` gives it.

    Returns
    -------
    ChunkStatistics
        The pass's rows' statistics in ``stats`` (the proof it saw the fit's
        rows) and the HC meats in ``extra``.
    """
    shift_x, shift_y = residual_shift(solution, stats)
    point = ScorePoint(
        coef=solution.coef[:, 0], shift_x=shift_x, shift_y=float(shift_y[0]),
        bread=solution.bread, center=solution.center,
        inverse_weight=1.0 / stats.weight_sum, frequency=frequency,
        unit_tolerance=LeverageOuterProducts.unit_tolerance,
    )
    sums = pushdown.score_sums(point, np.asarray(stats.mean, dtype=float))
    rows = sums.rows
    seen = GramStats(stats.n_features, 1, rows.n_rows, rows.weight_sum, rows.mean, rows.comoment)
    meats = LeverageOuterProducts(sums.n_rows, sums.hc0, sums.hc2, sums.hc3,
                                  sums.n_unit_leverage, frequency)
    return ChunkStatistics(seen, None, meats)
