"""Statistics computed by a database (SQL push-down), as the mergeable types.

:class:`~skbigreg.io.SqlPushdown` compiles the map step to SQL aggregates
and returns plain arrays; these functions make them the statistics the
estimators merge and solve from, so a fit on a table equals the fit on its
pulled rows.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import block_diag

from ..io._pushdown import ScorePoint
from ..io._pushdown import _same_rows as same_rows
from ..stats import (
    ChunkStatistics,
    ClusterSums,
    FoldStatistics,
    GramStats,
    GroupedGramStats,
    IRLSPass,
    LevelMeans,
    LeverageOuterProducts,
    LikelihoodSums,
    MultiwayGroupedStats,
    OuterProductStats,
)
from ..stats._multiway import intersection_codes, subsets
from ..stats._irls import LIKELIHOOD_SUMS
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
    if pushdown.multiway:
        return _multiway_statistics(pushdown, k)
    grouped, log_w = pushdown.grouped_moments()
    clusters = _grouped_stats(grouped, k)
    return ChunkStatistics(clusters.total(), clusters, None, log_w)


def _grouped_stats(grouped, k):
    return GroupedGramStats(grouped.labels, grouped.n_rows, grouped.weight_sum, grouped.mean,
                            grouped.comoment, k)


def _multiway_statistics(pushdown, k):
    """Per-cluster statistics of every dimension and intersection (one scan), as
    :meth:`MultiwayGroupedStats.from_arrays` gives them for the rows."""
    ways = subsets(len(pushdown.clusters))
    found, log_w = pushdown.multiway_moments(ways)
    grouped = []
    for way, moments in zip(ways, found):
        if len(way) == 1:
            grouped.append(_grouped_stats(moments, k))
            continue
        # each row is one intersection: its record label, sorted as the rows' are
        labels, position = intersection_codes(list(moments.labels))
        order = np.argsort(position, kind="stable")
        grouped.append(GroupedGramStats(labels, moments.n_rows[order],
                                        moments.weight_sum[order], moments.mean[order],
                                        moments.comoment[order], k))
    clusters = MultiwayGroupedStats(ways, grouped)
    return ChunkStatistics(grouped[0].total(), clusters, None, log_w)


def pushdown_score_pass(pushdown, *, solution, stats, frequency=False, leverage=True):
    """The HC pass in the database at ``solution``, as ``score_pass_statistics`` gives it.

    ``leverage=False`` (an unweighted fit, whose scores do not depend on the
    weights' convention) gathers only ``sum s s'`` (HC0, HC1): a third of
    the sums and no leverage per row.

    Returns
    -------
    ChunkStatistics
        The pass's rows' statistics in ``stats`` (the proof it saw the fit's
        rows) and the HC meats in ``extra``: a
        :class:`~skbigreg.stats.LeverageOuterProducts`, or without
        ``leverage`` an :class:`~skbigreg.stats.OuterProductStats`.
    """
    if not leverage and pushdown.weighted:
        raise ValueError("A weighted fit's score pass keeps the leverages (and the weights' "
                         "convention): leverage=False is for unweighted fits.")
    shift_x, shift_y = residual_shift(solution, stats)
    point = ScorePoint(
        coef=solution.coef[:, 0], shift_x=shift_x, shift_y=float(shift_y[0]),
        bread=solution.bread, center=solution.center,
        inverse_weight=1.0 / stats.weight_sum, frequency=frequency,
        unit_tolerance=LeverageOuterProducts.unit_tolerance,
    )
    sums = pushdown.score_sums(point, np.asarray(stats.mean, dtype=float), leverage)
    rows = sums.rows
    same_rows(stats.n_rows, stats.weight_sum, rows.n_rows, rows.weight_sum)
    seen = GramStats(stats.n_features, 1, rows.n_rows, rows.weight_sum, rows.mean, rows.comoment)
    if not leverage:
        return ChunkStatistics(seen, None, OuterProductStats(sums.n_rows, sums.hc0))
    meats = LeverageOuterProducts(sums.n_rows, sums.hc0, sums.hc2, sums.hc3,
                                  sums.n_unit_leverage, frequency)
    return ChunkStatistics(seen, None, meats)


def pushdown_period_sums(pushdown, *, solution, stats):
    """Per-period sums of the scores ``w e u`` at ``solution``, for Driscoll-Kraay errors.

    One ``GROUP BY`` the ``periods`` column gives each period's weight,
    means and centred co-moments of ``z = [x, y]``; the residual is linear
    in ``z`` (``e = (z - c)' a`` with ``a = [-coef, 1]``), so each period's
    score sum follows exactly, as ``score_pass_statistics(periods=)`` sums
    it over the rows::

        sum_t w e       = W_t (m_t - c)' a
        sum_t w (x-c) e = (C_t a)[:k] + (m_t - c)[:k] sum_t w e

    Returns
    -------
    ClusterSums
        Keyed by period (sorted), one row of ``[sum w e, sum w (x - c) e]``
        (the first only with an intercept) per period.
    """
    grouped, _ = pushdown.grouped_moments("periods")
    same_rows(stats.n_rows, stats.weight_sum, int(grouped.n_rows.sum()),
              float(grouped.weight_sum.sum()))
    shift_x, shift_y = residual_shift(solution, stats)
    residual = np.append(-solution.coef[:, 0], 1.0)
    offset = grouped.mean - np.append(shift_x, shift_y[0])
    sum_e = grouped.weight_sum * (offset @ residual)
    k = stats.n_features
    sum_ue = (grouped.comoment @ residual + offset * sum_e[:, None])[:, :k]
    scores = np.hstack([sum_e[:, None], sum_ue]) if solution.center else sum_ue
    return ClusterSums(grouped.labels, scores)


def pushdown_within_statistics(pushdown):
    """The first pass of the within estimator in the database.

    Returns
    -------
    ChunkStatistics
        Totals (per cluster when it names clusters) and, in ``extra``, the
        :class:`~skbigreg.stats.LevelMeans` of the absorbed factor.
    """
    from ..io._pushdown_within import level_moments, within_moments

    first = pushdown_statistics(pushdown)
    stats = first.stats
    # The level query centres about query 1's means, which moments() refined:
    # any fixed centre is exact (the per-level sums are of deviations from it).
    mean = np.asarray(stats.mean, dtype=float)
    levels = level_moments(pushdown, mean, stats.n_rows, stats.weight_sum)
    # The within co-moment summed in the database (per cluster when nested),
    # never the total less the between-level part.
    _, spread = within_moments(pushdown, mean, levels.nested, levels)
    within, cluster_within = (spread.sum(axis=0), spread) if levels.nested else (spread, None)
    level_stats = LevelMeans(levels.labels, levels.n_rows, levels.weight_sum, levels.mean,
                             levels.cluster, levels.nested, within, cluster_within)
    return ChunkStatistics(stats, first.clusters, level_stats, first.log_weight_sum)


def pushdown_within_score_pass(pushdown, *, coef, stats, group="clusters", levels=None):
    """The within score pass in the database at ``coef`` (HC1, clusters across levels).

    ``group="periods"`` sums the scores per period instead of per cluster
    (Driscoll-Kraay errors), in ``clusters`` of the result. Multi-way
    clusters get them per cluster of every dimension and intersection (a
    :class:`~skbigreg.stats.MultiwayGroupedStats`), with whether the levels
    of the fit's ``levels`` (its :class:`~skbigreg.stats.LevelMeans`) nest
    in each subset's clusters, as ``partial_fit_scores`` gathers them.

    Returns
    -------
    ChunkStatistics
        The pass's rows' statistics, the per-cluster score sums (with
        clusters) and ``sum s s'`` in ``extra``, as
        ``CumulativeFixedEffectsRegression.partial_fit_scores`` gathers them.
    """
    k = len(coef)
    residual = np.append(-np.asarray(coef, dtype=float), 1.0)
    nesting = None
    if group == "clusters" and pushdown.multiway:
        nesting = pushdown_level_nesting(pushdown, levels)
    return pushdown_linear_score_pass(pushdown, [(residual, np.eye(k + 1, k))], stats=stats,
                                      shift=("levels", stats.mean, levels), center=False, group=group,
                                      nesting=nesting)


def pushdown_level_nesting(pushdown, levels):
    """Per subset of the multi-way cluster columns, the fit's levels (its
    :class:`~skbigreg.stats.LevelMeans`) flagged nested when each lies in one
    cluster of the subset (so in one of each of its columns), as
    :meth:`MultiwayGroupedStats.from_rows <skbigreg.stats.MultiwayGroupedStats.from_rows>`
    flags them from the rows."""
    from ..io._pushdown_within import level_nesting

    nested = level_nesting(pushdown)
    ways = subsets(len(pushdown.clusters))
    blank = np.zeros((len(levels.labels), 1))  # the nesting flags are what is read
    return {way: LevelMeans(levels.labels, levels.n_rows, levels.weight_sum, blank, None,
                            all(nested[j] for j in way)) for way in ways}


def pushdown_linear_score_pass(pushdown, forms, *, stats, shift, center, group="clusters",
                               nesting=None):
    """A score pass in the database for residuals linear in ``z = [X, y]``.

    ``forms`` are ``(coef, projection)`` pairs: the residual
    ``e = (z - shift)' coef`` and the map of its scores ``w e [1, z - shift]``
    (the one when ``center``) onto the model's own design, as
    ``residual_row_scores`` and IV's ``_residual_forms`` define them;
    ``shift`` is a vector or ``("levels", mean, level_stats)`` (each row's
    level means, from its :class:`~skbigreg.stats.LevelMeans`).
    ``nesting`` (per subset of multi-way clusters, its levels' nesting)
    asks for the score sums per cluster of every subset.

    Returns
    -------
    ChunkStatistics
        The pass's rows' statistics, per-cluster projected score sums (with
        clusters) and their ``sum s s'`` in ``extra``.
    """
    from ..io._pushdown_within import linear_score_sums

    coefs = np.array([coef for coef, _ in forms])
    projections = [np.asarray(projection, dtype=float) for _, projection in forms]
    # Only the columns of u that some projection reads are summed in SQL.
    used = np.flatnonzero(np.any([p[int(center):].any(axis=1) for p in projections], axis=0))
    keep = np.r_[np.arange(int(center)), int(center) + used]
    block = block_diag(*[p[keep] for p in projections])
    mean = np.asarray(stats.mean, dtype=float)
    sums = linear_score_sums(pushdown, coefs, mean, shift=shift, columns=used, center=center,
                             group=group, ways=None if nesting is None else tuple(nesting))
    rows = sums.rows
    seen = GramStats(stats.n_features, 1, rows.n_rows, rows.weight_sum, rows.mean, rows.comoment)
    clusters = None
    if sums.cluster_labels is not None:
        clusters = ClusterSums(sums.cluster_labels, sums.cluster_sums @ block)
    if sums.multiway is not None:
        clusters = MultiwayGroupedStats(
            tuple(nesting), [_sorted_sums(labels, way_sums @ block)
                             for labels, way_sums in sums.multiway], tuple(nesting.values()))
    return ChunkStatistics(seen, clusters,
                           OuterProductStats(sums.n_rows, block.T @ sums.outer @ block))



def _sorted_sums(labels, sums):
    """:class:`ClusterSums` of one subset's groups (one label array per column),
    sorted by label as :meth:`MultiwayGroupedStats.from_rows` sorts them."""
    if len(labels) == 1:
        order = np.argsort(labels[0], kind="stable")
        return ClusterSums(labels[0][order], sums[order])
    records, position = intersection_codes(list(labels))
    return ClusterSums(records, sums[np.argsort(position, kind="stable")])


class PushdownIRLS:
    """IRLS passes computed by the database, for ``CumulativeGLM._iterate``.

    Calling it with ``(state, columns, complete)`` makes one pass at the
    state's coefficients (one query) and returns the
    :class:`~skbigreg.stats.IRLSPass` that :func:`irls_pass` would give on
    the rows. The first query (weighted means, NULL and weight checks, and
    the response's support check in the same scan) runs once, when it is
    made. Each pass
    centres its co-moments about the previous pass's means (query 1's for
    the first), corrected exactly to its own.
    """

    def __init__(self, pushdown, family, link, fit_intercept, binary=False):
        from ..io._pushdown_glm import check_family, check_response, response_outside

        check_family(family, link)
        self.pushdown, self.family, self.fit_intercept = pushdown, family, fit_intercept
        first = pushdown.first_moments({"outside": response_outside(pushdown, family, binary)})
        self.n_rows, self.mean = first.n_rows, first.mean
        check_response(pushdown, family, binary, first.counts["outside"])
        self._shift = {}  # columns -> the last pass's means of [x[columns], z]
        self._constant = None

    def __call__(self, state, columns, complete):
        from ..io._pushdown_glm import irls_sums

        k = len(self.pushdown.feature_names)
        columns = np.arange(k) if columns is None else np.asarray(columns)
        key = tuple(columns)
        shift = self._shift.get(key)
        if shift is None:
            shift = np.append(self.mean[columns], 0.0)
        sums = irls_sums(self.pushdown, self.family, coef=state.coef, intercept=state.intercept,
                         columns=columns, shift=shift, fit_intercept=self.fit_intercept,
                         complete=complete, response_mean=float(self.mean[-1]))
        if sums.n_rows != self.n_rows:  # every pass must see the rows of the first
            same_rows(self.n_rows, 0.0, sums.n_rows, 0.0)
        if sums.weight_sum > 0:
            self._shift[key] = sums.mean
        gram = GramStats(len(columns), 1, sums.n_rows, sums.weight_sum, sums.mean, sums.comoment)
        if not complete:
            return IRLSPass.light(gram, sums.n_saturated)
        return self._complete(gram, sums)

    def _complete(self, gram, sums):
        extra = sums.complete
        n = sums.n_rows
        center = self.fit_intercept
        # The observed information (canonical links: the Fisher weights) from the
        # Gram: sum W d d' with d = [1, x] is [[W, W m'], [W m, C + W m m']].
        k = gram.n_features
        m, W = gram.mean[:k], gram.weight_sum
        information = gram.comoment[:k, :k] + W * np.outer(m, m)
        if center:
            information = np.block([[np.array([[W]]), W * m[None, :]],
                                    [W * m[:, None], information]])
        clusters = None
        if extra["cluster_labels"] is not None:
            clusters = ClusterSums(extra["cluster_labels"], extra["cluster_sums"])
        return IRLSPass(
            gram=gram, deviance=extra["deviance"], pearson=extra["pearson"],
            meat=OuterProductStats(n, extra["meat"]),
            observed=OuterProductStats(n, information), cluster_sums=clusters,
            n_saturated=sums.n_saturated, likelihood=self._likelihood(n, extra),
        )

    def _likelihood(self, n, extra):
        from ..io._pushdown_glm import response_constant

        terms = extra["likelihood"]
        if terms["w_const"] is None:  # an engine without LGAMMA: once, by GROUP BY y
            if self._constant is None:
                self._constant = response_constant(self.pushdown, self.family)
            terms = {**terms, "w_const": self._constant}
        sign = -1.0 if self.family.name == "poisson" else 1.0  # loglike holds c(y)
        values = dict.fromkeys(LIKELIHOOD_SUMS, 0.0)
        values.update(
            log_w=-np.inf if terms["wmin"] <= 0 else terms["log_w"], w_log_w=terms["w_log_w"],
            loglike=terms["loglike"] + sign * terms["w_const"], w_const=terms["w_const"])
        weight_sum, deviation, square = extra["response"]
        shift = deviation / weight_sum if weight_sum > 0 else 0.0
        response = GramStats(0, 1, n, weight_sum, np.array([self.mean[-1] + shift]),
                             np.array([[square - weight_sum * shift * shift]]))
        sums = np.array([float(values[name]) for name in LIKELIHOOD_SUMS])
        return LikelihoodSums(sums, response, (terms["wmin"], terms["wmax"]))


def pushdown_fold_statistics(pushdown, fold_of, n_splits, row_hash=None):
    """Totals and per-fold statistics, from one ``GROUP BY`` the ``groups`` label,
    or (with ``row_hash``) ``GROUP BY`` each row's fold, hashed in the query.

    Each group's centred statistics come from the database; ``fold_of``
    maps the sorted group labels to their folds (the caller's hash, as
    ``hash_folds(groups=...)`` gives it, so every group lands where a
    pulled fit puts it), and the groups of each fold are merged exactly:
    ``C_f = sum_g C_g + W_g (m_g - m_f)(m_g - m_f)'``. A ``row_hash``
    (:func:`~skbigreg.model_selection._folds.row_hash_spec`) has the
    database give each row the fold ``hash_folds`` gives it, so the groups
    are the folds themselves (``fold_of`` is then not used).

    Returns
    -------
    ChunkStatistics
        The totals, and the :class:`~skbigreg.stats.FoldStatistics` in ``extra``.
    """
    k = len(pushdown.feature_names)
    if row_hash is not None:
        grouped, log_w = pushdown.grouped_moments(row_hash=row_hash)
        fold = np.asarray(grouped.labels, dtype=np.int64)
    else:
        grouped, log_w = pushdown.grouped_moments("groups")
        fold = np.asarray(fold_of(grouped.labels), dtype=np.int64)
    folds = []
    for f in range(n_splits):
        members = fold == f
        if not members.any():
            folds.append(GramStats.empty(k, 1))
            continue
        weight = grouped.weight_sum[members]
        weight_sum = float(weight.sum())
        means = grouped.mean[members]
        mean = weight @ means / weight_sum if weight_sum > 0 else np.zeros(k + 1)
        offset = means - mean
        comoment = grouped.comoment[members].sum(axis=0) + (offset * weight[:, None]).T @ offset
        folds.append(GramStats(k, 1, int(grouped.n_rows[members].sum()), weight_sum, mean,
                               comoment))
    folds = FoldStatistics(tuple(folds))
    return ChunkStatistics(folds.total(), None, folds, log_w)
