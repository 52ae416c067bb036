"""Two or more absorbed factors in a database, as the mergeable statistics.

:mod:`skbigreg.io._pushdown_hdfe` returns the factors' cell table and the
within-cell co-moment as plain arrays; these functions make them the
statistics the multi-way fit solves from (the totals of the rows, every
factor's :class:`~skbigreg.stats.LevelMeans`), and turn the score pass's
sums into the :class:`~skbigreg.stats.ChunkStatistics` that
``demeaned_score_statistics`` gathers from pulled rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import block_diag

from ..stats import (
    ChunkStatistics,
    ClusterSums,
    FactorMeans,
    GramStats,
    LevelMeans,
    MultiwayGroupedStats,
    OuterProductStats,
)
from ..stats._multiway import subsets
from ._pushdown import _sorted_sums


@dataclass(frozen=True)
class PushedCells:
    """What the database gives a multi-way fit before the effects are solved.

    ``Z`` (C, D) are the cells' means of ``z = [x, y]``, ``weight`` (C,) their
    weights and ``n_rows`` (C,) their rows; ``levels`` each factor's label
    of each cell; ``spread`` (D, D) the rows' co-moment about their cell's
    means, summed over the cells.
    """

    Z: np.ndarray
    weight: np.ndarray
    n_rows: np.ndarray
    levels: tuple
    spread: np.ndarray

    def kept(self, keep):
        """The cells flagged in ``keep`` (rows of dropped singleton levels leave)."""
        return replace(self, Z=self.Z[keep], weight=self.weight[keep],
                       n_rows=self.n_rows[keep],
                       levels=tuple(level[keep] for level in self.levels))

    def totals(self):
        """:class:`GramStats` of the cells' rows: the between-cell Gram of the
        means (weights ``W_c``) plus the within-cell co-moment."""
        k = self.Z.shape[1] - 1
        between = GramStats.from_arrays(self.Z[:, :k], self.Z[:, k:], self.weight)
        return self.with_spread(between)

    def with_spread(self, cell_stats):
        """``cell_stats`` (of the cells' means) as the statistics of their rows."""
        return GramStats(cell_stats.n_features, 1, int(self.n_rows.sum()), cell_stats.weight_sum,
                         np.append(cell_stats.mean_x, cell_stats.mean_y),
                         cell_stats.comoment + self.spread)

    def factor_means(self, nested=None):
        """Every factor's levels: weights and means from the cells, row counts
        of the rows; ``nested`` flags factors whose levels lie in one cluster."""
        factors = []
        for f, level in enumerate(self.levels):
            means = LevelMeans.from_arrays(self.Z, level, self.weight)
            positions = np.searchsorted(means.labels, level)
            rows = np.bincount(positions, weights=self.n_rows, minlength=len(means.labels))
            factors.append(replace(means, n_rows=np.rint(rows).astype(np.int64),
                                   nested=bool(nested is not None and nested[f])))
        return FactorMeans(tuple(factors))


def pushdown_cells(pushdown):
    """The cells of the push-down's factors (three queries: totals, cells, spread)."""
    from ..io._pushdown_hdfe import cell_comoment, cell_table

    first = pushdown.first_moments()  # NULLs, weights, and the centre of the others
    cells = cell_table(pushdown, first.mean, first.n_rows, first.weight_sum, pushdown.max_cells)
    spread = cell_comoment(pushdown, first.mean, first.n_rows, first.weight_sum, cells)
    return PushedCells(cells.mean, cells.weight_sum, cells.n_rows, cells.levels, spread)


def pushdown_factor_nesting(pushdown, kept=None):
    """Per cluster column, per factor: whether each of the factor's levels lies
    in one cluster of the column (one query; over the rows of the ``kept``
    levels of each factor when singletons were dropped)."""
    from ..io._pushdown_hdfe import factor_nesting

    return factor_nesting(pushdown, kept)


def pushdown_effect_score_pass(pushdown, *, level_stats, effects, forms, stats):
    """The multi-way score pass in the database (HC, CRV1) of residuals linear
    in the demeaned ``[X, y]``.

    ``effects`` are each factor's effects of every column of ``[X, y]``
    (``column_effects_``), uploaded with ``level_stats``' labels; ``forms``
    are ``(coef, projection)`` pairs as ``demeaned_form_scores`` takes them:
    the residual ``e = t' coef`` of the demeaned row ``t`` and the map of its
    scores ``w e t`` onto its own design (only the columns some projection
    reads are summed in SQL).

    Returns
    -------
    ChunkStatistics
        The pass's rows' statistics, per-cluster projected score sums (with
        clusters; a :class:`~skbigreg.stats.MultiwayGroupedStats` for
        multi-way clusters) and ``sum s s'`` in ``extra``, as the pulled
        fit's score pass gathers them.
    """
    from ..io._pushdown_hdfe import effect_score_sums

    tables = [(f.labels, np.asarray(a, dtype=float)) for f, a in zip(level_stats.factors, effects)]
    coefs = np.array([coef for coef, _ in forms])
    projections = [np.asarray(projection, dtype=float) for _, projection in forms]
    used = np.flatnonzero(np.any([p.any(axis=1) for p in projections], axis=0))
    block = block_diag(*[p[used] for p in projections])
    ways = subsets(len(pushdown.clusters)) if pushdown.multiway else None
    sums = effect_score_sums(pushdown, tables, coefs, used,
                             np.asarray(stats.mean, dtype=float), ways)
    rows = sums.rows
    seen = GramStats(stats.n_features, 1, rows.n_rows, rows.weight_sum, rows.mean, rows.comoment)
    clusters = None
    if sums.cluster_labels is not None:
        clusters = ClusterSums(sums.cluster_labels, sums.cluster_sums @ block)
    if sums.multiway is not None:  # per cluster of every subset, as from_rows sums them
        clusters = MultiwayGroupedStats(ways, [_sorted_sums(labels, way_sums @ block)
                                               for labels, way_sums in sums.multiway])
    return ChunkStatistics(seen, clusters,
                           OuterProductStats(sums.n_rows, block.T @ sums.outer @ block))
