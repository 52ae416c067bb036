"""Linear regression with absorbed fixed effects (the within estimator), in one pass."""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import column_or_1d

from .._compat import Interval, StrOptions, _fit_context, _num_samples, validate_data
from ..base import (
    partitionwise,
    SPARSE_FORMATS,
    CumulativeMixin,
    check_weight_sum,
    design_rows,
    fit_source,
    raw_labels,
    rollback_on_error,
    validate_chunk,
)
from ..exceptions import MissingPassError
from ..io import iter_chunks
from ..inference._covariance import (
    driscoll_kraay_meat,
    driscoll_kraay_note,
    multiway_sandwich,
    small_sample_factor,
)
from ..passes import demeaned_scores, pushdown_within_score_pass, pushdown_within_statistics
from ..solvers import solve_least_squares
from ..solvers._fixed_effects import (
    absorbed_mask,
    nested_cluster_scores,
    within_comoment,
)
from ..stats import (
    ChunkStatistics,
    ClusterSums,
    FactorMeans,
    GramStats,
    MultiwayGroupedStats,
    OuterProductStats,
    as_dense,
)
from ..stats._levels import level_and_total_statistics
from ._absorbed import absorbed_results, prediction_offsets
from ._hdfe_pushdown import fitted_from_cells, pushdown_scores
from ._hdfe import (
    _MULTI_PASS,
    MultiwayPasses,
    absorbed_dof,
    factor_effects,
    n_factors,
    one_factor,
    refuse_one_factor_singletons,
    singleton_notes,
    uncentred_within,
)

# Why results().get_prediction is refused (pyfixest refuses prediction errors
# with fixed effects too).
_NO_PREDICTION = (
    "A fixed-effects model has no predicted means with standard errors: a row's mean "
    "needs its level's effect, whose sampling variance the within estimator does not "
    "estimate. Use predict(X, entities=...) for point predictions, or t_test for a "
    "linear combination of the coefficients (e.g. the difference of two rows' x'b)."
)


class CumulativeFixedEffectsRegression(CumulativeMixin, RegressorMixin, BaseEstimator):
    """Least squares with one absorbed factor of fixed effects, from one pass.

    Minimises ``sum_i w_i (y_i - a_e(i) - x_i' b)^2`` over ``b`` and one
    effect ``a_e`` per level of ``entities`` (e.g. person, firm) by the
    within estimator: ``b = Cw_xx^-1 Cw_xy`` with the co-moments ``Cw`` of
    the level-demeaned rows, gathered in one pass with each level's weight
    and means (memory ``O(G (K + 1))``): each chunk's rows centred at its
    own level means, merged exactly per level, so a regressor with large
    offsets between levels keeps every digit of its spread within them.
    The effects are ``a_e = m_y,e - m_x,e' b``.

    A second, small factor (years, say) is absorbed exactly, still in one
    pass, by giving its indicator columns (all levels but one) as columns
    of ``X``: this is two-way fixed effects, with fixest's degrees of freedom.

    Two or more high-dimensional factors (worker and firm) are absorbed out
    of core when ``entities`` has one column per factor (a DataFrame or an
    ``(n, F)`` array, in :meth:`fit` or in the chunks of :meth:`fit_chunks`):
    the effects of every column of ``[X, y]`` solve their normal equations by
    conjugate gradient preconditioned by each level's weight (the
    accelerated form of alternating projections), one streamed pass of
    per-level sums per step, memory ``O(G (K + 1))`` for ``G`` levels in all.
    A last pass gathers the Gram of the demeaned rows; HC1 and CRV1 take one
    more pass of scores. See the user guide for when these passes are many.

    Parameters
    ----------
    cov_type : {"nonrobust", "HC1", "cluster", "driscoll-kraay"}, default="nonrobust"
        Default covariance of :meth:`results`, following fixest (as
        ``pyfixest.feols``). Nonrobust: ``s^2 = RSS / (n - K - G)``. HC1
        (fixest's "hetero"): ``n / (n - K - G)``. Cluster (CRV1, needs
        ``clusters=``): ``G_c/(G_c-1) (n-1)/(n-K-1)`` when every level lies in
        one cluster (fixest's ``k_fixef="nonnested"``; computed in the first
        pass), else ``G_c/(G_c-1) (n-1)/(n-K-G)``. HC1 and clusters that cut
        across levels need a second pass (:meth:`partial_fit_scores`; ``fit``
        and :meth:`fit_chunks` make it). Two or more cluster columns give
        Cameron-Gelbach-Miller multi-way CRV1 from second-pass score sums
        per cluster of every subset of the dimensions (pyfixest's ``CRV1:
        "a+b"`` with ``ssc(G_df="conventional")``; the effects count as one
        parameter when they nest in the clusters of some subset).
        Driscoll-Kraay (panel HAC, needs
        ``periods=``; second pass): the within scores summed per period,
        weighted across periods by a Bartlett kernel, times linearmodels'
        ``PanelOLS`` factor ``n / (n - K - G)`` (its ``debiased=True``
        default); t tests with ``n - K - G`` degrees of freedom, as it.
        With several factors, ``G`` is the rank of their level indicators
        (``df_absorbed_``, see the notes), and a factor whose every level
        lies in one cluster (of some dimension, with multi-way clusters)
        counts as one effect (fixest, pyfixest).
    maxlags : int, default=None
        Largest lag between periods that the Driscoll-Kraay kernel weights,
        counted in the sorted distinct periods (below their number ``T``);
        None is linearmodels' rule ``floor(4 (T / 100)^(2/9))``.
    tol : float, default=1e-8
        Several factors only: the passes stop when every effect's change in
        the last pass is at most ``tol``, or at most ``tol`` relative to
        ``0.1 + |effect|`` (fixest's criterion on the effects), effects of
        each column of ``[X, y]`` in units of its standard deviation.
    max_iter : int, default=1000
        Several factors only: the most conjugate-gradient passes; a
        ``ConvergenceWarning`` says when they did not converge.
    drop_singletons : bool, default=False
        Several factors only: drop the rows in singleton levels (a level of
        one row, of any factor), repeatedly until none is left, as fixest's
        ``fixef.rm = "singleton"`` (pyfixest's default ``fixef_rm``); the
        count is ``n_singletons_``. They fit perfectly and add nothing to
        ``b``, but each costs a degree of freedom if kept (R fixest's
        default keeps them, and so does this default). Takes label-only
        passes (``O(levels)`` memory) before the others.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        0 for columns that are constant within every level (absorbed, with a
        warning).
    intercept_ : float
        The weighted average effect ``mean_y - mean_x' b`` (fixest's
        reference), used by :meth:`predict` without ``entities``.
    stats_ : GramStats
        Statistics of all rows.
    level_stats_ : LevelMeans
        Weight and means of ``[X, y]`` per level of ``entities``.
    cluster_stats_ : GroupedGramStats or MultiwayGroupedStats
        Per-cluster statistics, when ``clusters`` were given.
    n_levels_ : int or tuple of int
        Levels of the absorbed factor, or of each factor.
    n_iter_ : int
        Passes of the effects' solve (1 for one factor, absorbed exactly).
    column_effects_ : tuple of ndarray of shape (n_levels_f, n_features + 1)
        Several factors: each factor's effects of every column of ``[X, y]``
        (what each pass subtracts); :meth:`effects` gives those of the model.
    entity_names_ : list of str
        Several factors: the names of the ``entities`` columns.
    df_absorbed_ : int
        Several factors: the effects counted in the degrees of freedom (the
        rank of the level indicators; see the notes).
    n_singletons_ : int
        Several factors: rows dropped in singleton levels (0 unless
        ``drop_singletons``).
    cluster_nesting_ : tuple of FactorMeans
        Several factors with multi-way clusters: per cluster dimension,
        whether each factor's levels lie in one cluster.
    target_name_ : str
        Name of ``y`` at the first fit (a Series name), or ``"y"``.
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    CumulativeLinearRegression : without absorbed effects.

    Notes
    -----
    Singleton levels (one row) are kept by default: they fit perfectly, add
    nothing to ``b`` and each costs one degree of freedom (pyfixest drops
    them unless ``fixef_rm="none"``; pass that to compare). With several
    factors, ``drop_singletons=True`` drops them as fixest's
    ``fixef.rm = "singleton"`` does.

    With two factors the degrees of freedom count their levels less one per
    connected component of the levels linked by the rows (workers and firms
    linked by movers), found from the distinct pairs of levels seen (memory
    ``O(distinct pairs)``): the exact rank of the effects, as R fixest
    counts them. pyfixest counts one reference only, which agrees when the
    levels are connected. With three or more factors the first two are
    counted so and every further factor loses one reference (fixest's
    rule; exact unless a further factor adds redundancy of its own).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeFixedEffectsRegression
    >>> rng = np.random.default_rng(0)
    >>> person = np.repeat(np.arange(200), 5)
    >>> effect = rng.normal(size=200)[person] * 5
    >>> X = rng.normal(size=(1000, 1)) + effect[:, None]   # correlated with the effects
    >>> y = 2.0 * X[:, 0] + effect + rng.normal(size=1000)
    >>> fe = CumulativeFixedEffectsRegression().fit(X, y, entities=person)
    >>> np.round(fe.coef_, 1)
    array([2.])
    >>> fe.n_levels_
    200

    Two high-dimensional factors, absorbed by passes over the rows:

    >>> import pandas as pd
    >>> firm = rng.integers(0, 30, 1000)
    >>> y2 = y + rng.normal(size=30)[firm]
    >>> two = CumulativeFixedEffectsRegression().fit(
    ...     X, y2, entities=pd.DataFrame({"person": person, "firm": firm}))
    >>> np.round(two.coef_, 1), two.n_levels_, sorted(two.effects())
    (array([2.]), (200, 30), ['firm', 'person'])
    """

    _parameter_constraints: dict = {
        "cov_type": [StrOptions({"nonrobust", "HC1", "cluster", "driscoll-kraay"})],
        "maxlags": [Interval(Integral, 0, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "drop_singletons": ["boolean"],
    }

    def __init__(self, *, cov_type="nonrobust", maxlags=None, tol=1e-8, max_iter=1000,
                 drop_singletons=False):
        self.cov_type = cov_type
        self.maxlags = maxlags
        self.tol = tol
        self.max_iter = max_iter
        self.drop_singletons = drop_singletons

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, entities=None, clusters=None, periods=None):
        """Fit on in-memory rows (reset, then one chunk).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        entities : array-like of shape (n_samples,) or (n_samples, n_factors), optional
            Level of the absorbed factor of each row; without it, one level
            (ordinary least squares with an intercept). A DataFrame or 2-D
            array of two or more columns absorbs each column as a factor, by
            passes over the rows (see the class notes).
        clusters : array-like of shape (n_samples,) or (n_samples, n_dims), optional
            Cluster labels for CRV1 errors (one pass when every level lies in
            one cluster, else a second pass, made here); two or more columns
            (a 2-D array or a DataFrame) give multi-way clustering (two passes).
        periods : array-like of shape (n_samples,), optional
            Time period of each row (numbers or datetimes), for
            Driscoll-Kraay errors (the second pass, made here, sums the
            scores by period).

        Returns
        -------
        self
        """
        if n_factors(entities) > 1:
            source = iter_chunks(X, y, sample_weight, entities=entities, clusters=clusters,
                                 periods=periods)
            return fit_source(self, source, self._fit_multiway)
        return self._fit(X, y, sample_weight, entities=one_factor(entities),
                         clusters=clusters, periods=periods)

    def partial_fit_scores(self, X, y, sample_weight=None, entities=None, clusters=None,
                           periods=None):
        """Second pass: the scores ``w_i e_i (x_i - m_level(i))`` at the current fit.

        Needed for HC1 errors, for clusters that cut across levels and for
        Driscoll-Kraay errors (the scores summed per period, with the same
        ``periods`` as the first pass); call it on every chunk again after
        the last :meth:`partial_fit`. The level
        means come from the first pass, so each row is demeaned on the fly;
        the pass also gathers its rows' statistics, which :meth:`results`
        checks against the fit's.

        Returns
        -------
        self
        """
        self._check_fitted()
        if self._is_multiway():
            raise ValueError("The score pass of a multi-way fit is made by fit and fit_chunks.")
        with rollback_on_error(self):
            labels = self._check_labels(
                {"entities": entities, "clusters": clusters, "periods": periods},
                _num_samples(X), first=False)
            X, y, sample_weight, _ = validate_chunk(
                self, X, column_or_1d(y, warn=True), sample_weight, reset=False
            )
            levels = labels.get("entities", np.zeros(X.shape[0], dtype=np.int64))
            scores = demeaned_scores(as_dense(X), y[:, 0], sample_weight, levels, self.level_stats_,
                                     self.coef_)
            sums = None
            if isinstance(labels.get("clusters"), tuple):  # multi-way
                sums = MultiwayGroupedStats.from_rows(scores, labels["clusters"], levels)
            elif "clusters" in labels:
                sums = ClusterSums.from_rows(scores, labels["clusters"])
            periods = labels.get("periods")
            chunk = ChunkStatistics(
                GramStats.from_arrays(X, y, sample_weight), sums,
                OuterProductStats.from_rows(scores),
                periods=None if periods is None else ClusterSums.from_rows(scores, periods))
            previous = getattr(self, "score_pass_", None)
            self.score_pass_ = chunk if previous is None else previous + chunk
        return self

    def _needs_second_pass(self, cov_type=None):
        cov_type = self.cov_type if cov_type is None else cov_type
        if cov_type in ("HC1", "driscoll-kraay"):
            return True
        return cov_type == "cluster" and (
            self._is_multiway() or not self.level_stats_.nested or self._multiway())

    def _multiway(self):
        """Whether the fit has multi-way clusters (two or more cluster columns)."""
        return hasattr(getattr(self, "cluster_stats_", None), "ways") \
            or "cluster_nesting_" in vars(self)

    def _is_multiway(self):
        return isinstance(getattr(self, "level_stats_", None), FactorMeans)

    def _check_labels(self, labels, n_rows, first):
        """One factor per row here; two or more need :meth:`fit` or :meth:`fit_chunks`."""
        count = n_factors(labels.get("entities")) if labels.get("entities") is not None else 1
        if count > 1:
            raise ValueError(_MULTI_PASS.format(count=count))
        refuse_one_factor_singletons(self)
        labels = {**labels, "entities": one_factor(labels.get("entities"))}
        return super()._check_labels(labels, n_rows, first)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, entities=None, clusters=None,
                    periods=None):
        """Merge one chunk's statistics (all or nothing); the fit is solved when next read.

        Returns
        -------
        self
        """
        return self._accumulate(X, y, sample_weight,
                                entities=entities, clusters=clusters, periods=periods)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a chunk source: a pass of statistics, a second of scores when needed.

        The chunks' ``entities`` labels are the levels of the absorbed factor
        (without them, one level) and their ``clusters`` labels the clusters:
        the result equals ``fit(X, y, sample_weight, entities=entities,
        clusters=clusters)`` on all rows. Chunk ``entities`` with two or more
        columns (a DataFrame or an ``(n, F)`` array) are several factors,
        absorbed by passes over the source (re-iterable then). Every chunk's statistics are merged
        and the model is solved once, at the end, so a level missing from the
        first chunks raises no warning. HC1, and clusters that cut across
        entities, take a second pass of :meth:`partial_fit_scores` at the
        final coefficients. A failed fit leaves the estimator as it was.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads -- a list of dicts
            ``{"X": X, "y": y, "sample_weight": w, "entities": levels,
            "clusters": labels}``, a callable returning a fresh iterator of
            them -- or a file source from :func:`skbigreg.io.read_files`.
            Chunks carrying other labels are refused. A second pass needs a
            re-iterable source; a one-shot generator is refused then. A
            :class:`~skbigreg.io.SqlPushdown` (``read_sql(..., entities=)
            .pushdown()``, one factor) has the database compute the totals,
            each level's weight and means, and the score pass (per cluster,
            of every dimension and intersection for multi-way clusters, and
            per period for Driscoll-Kraay errors): no row leaves it. With
            two or more factors (``entities=`` a list of columns) the
            database gives the cells of the factors (each distinct
            combination of levels: its rows' count, weight and means, and
            the co-moment of the rows about their cell's means, summed);
            the effects are solved on the cells in memory (``O(C (K + 1))``
            for ``C`` cells, at most the push-down's ``max_cells``), and
            the HC1 and CRV1 score pass runs in the database with each
            factor's effects uploaded as a small table. Multi-way clusters
            and Driscoll-Kraay errors with several factors need the pull.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import CumulativeFixedEffectsRegression
        >>> rng = np.random.default_rng(0)
        >>> person = np.repeat(np.arange(200), 5)
        >>> effect = rng.normal(size=200)[person] * 5
        >>> X = rng.normal(size=(1000, 1)) + effect[:, None]
        >>> y = 2.0 * X[:, 0] + effect + rng.normal(size=1000)
        >>> chunks = [{"X": X[i:i + 300], "y": y[i:i + 300], "entities": person[i:i + 300]}
        ...           for i in range(0, 1000, 300)]
        >>> fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(chunks)
        >>> np.round(fe.coef_, 1), fe.n_levels_
        (array([2.]), 200)
        >>> fe.results().bse.round(3)
        x0    0.037
        dtype: float64
        """
        return fit_source(self, chunks, self._chunk_passes)

    def _fit_pushdown(self, pushdown):
        """Totals and level means computed by the database (and the score pass)."""
        pushdown.require_labels(("entities", "clusters", "periods"),
                                "Fixed-effects push-down fits")
        if pushdown.entities is None:
            raise ValueError("A fixed-effects push-down needs entities=: the column of the "
                             "absorbed factor's levels.")
        if not isinstance(pushdown.entities, str):
            return self._fit_pushdown_multiway(pushdown)
        if self.cov_type == "driscoll-kraay" and pushdown.periods is None:
            raise ValueError(f"{type(self).__name__} with cov_type='driscoll-kraay' needs "
                             "periods labels: read_sql(..., periods=column).")
        self._set_statistics(pushdown_within_statistics(pushdown), True, pushdown.feature_names)
        self.target_name_ = pushdown.target
        if self._needs_second_pass():
            self.score_pass_ = self._pushdown_score_pass(pushdown)

    def _fit_pushdown_multiway(self, pushdown):
        """Two or more factors: the effects solved on the database's cells of
        the factors, then the score pass with their effects uploaded."""
        cells = fitted_from_cells(self, pushdown)
        check_weight_sum(self.stats_)
        self._solve_within(uncentred_within(cells.fit.within, self.stats_).comoment,
                           cells.absorbed)
        self.n_levels_ = self.level_stats_.sizes
        if self._needs_second_pass():
            k = self.n_features_in_
            self.score_pass_ = pushdown_scores(self, pushdown,
                                               [(np.append(-self.coef_, 1.0), np.eye(k + 1, k))])

    def _pushdown_score_pass(self, pushdown):
        """The score pass in the database: per cluster, and with ``periods`` per
        period (a second query; the only one when there are no clusters)."""
        if pushdown.periods is None:
            return self._pushdown_scores(pushdown, "clusters")
        by_period = self._pushdown_scores(pushdown, "periods")
        clusters = None
        if pushdown.clusters is not None:
            clusters = self._pushdown_scores(pushdown, "clusters").clusters
        return replace(by_period, clusters=clusters, periods=by_period.clusters)

    def _pushdown_scores(self, pushdown, group):
        return pushdown_within_score_pass(pushdown, coef=self.coef_, stats=self.stats_,
                                          group=group, levels=self.level_stats_)

    def _chunk_passes(self, source):
        """Multi-way passes when the first chunk's entities have several columns."""
        if source.reiterable:
            first = next((c for c in source if c.n_rows), None)
            entities = None if first is None else first.label("entities")
            if entities is not None and n_factors(entities) > 1:
                return self._fit_multiway(source)
        return self._fit_passes(source, None)

    def _fit_multiway(self, source):
        """Fit two or more absorbed factors from ``source`` (see ``_hdfe``)."""
        passes = MultiwayPasses(self, source)
        fit = passes.fit()
        fit.set_fitted(self)
        check_weight_sum(self.stats_)
        self._solve_within(uncentred_within(fit.within, self.stats_).comoment)
        self.n_levels_ = self.level_stats_.sizes
        if self._needs_second_pass():
            self.score_pass_ = passes.scores(fit.effects, self.coef_)

    _label_names = ("entities", "clusters", "periods")
    _multiway_clusters = True
    _single_target = True
    _score_label_names = ("entities", "clusters", "periods")
    _extra_attribute = "level_stats_"
    _extra_label = "entities"

    @classmethod
    def from_statistics(cls, stats, level_stats, cluster_stats=None, feature_names=None, **params):
        """A fitted estimator from statistics gathered elsewhere (e.g. summed over sites).

        Parameters
        ----------
        stats : GramStats
            Statistics of all rows.
        level_stats : LevelMeans
            Weight and means of ``[X, y]`` per level of the absorbed factor
            (``LevelMeans.from_arrays`` on each site, summed).
        cluster_stats : GroupedGramStats, optional
            Per-cluster statistics, for cluster-robust errors.
        feature_names : sequence of str, optional
        **params
            Estimator parameters.

        Returns
        -------
        CumulativeFixedEffectsRegression
            Equal to ``fit`` on the rows the statistics were gathered from;
            errors that need a second pass (HC) need those rows again.
        """
        return cls._from_statistics(stats, feature_names, params, clusters=cluster_stats, extra=level_stats)

    def _map_chunk(self, X, y, sample_weight, labels):
        """Total statistics and per-level means (entities; one level without them)."""
        if y.shape[1] != 1:
            raise ValueError("CumulativeFixedEffectsRegression supports a single target.")
        levels = labels.get("entities")
        if levels is None:
            levels = np.zeros(X.shape[0], dtype=np.int64)
        clusters = labels.get("clusters")
        if isinstance(clusters, tuple):  # multi-way: nesting is read in the second pass
            clusters = None
        return level_and_total_statistics(X, y, levels, sample_weight, clusters)

    def _solve(self):
        if self._is_multiway():
            raise ValueError(
                "A fit of two or more absorbed factors is solved by passes over its rows "
                "(fit or fit_chunks); its statistics cannot be merged or solved without them."
            )
        within = within_comoment(self.stats_, self.level_stats_, warn=True)
        self._solve_within(within, absorbed_mask(within, self.stats_, self.level_stats_))
        self.n_levels_ = len(self.level_stats_.labels)
        self.n_iter_ = 1  # one factor is absorbed exactly, in the one pass

    def _solve_within(self, within, absorbed=None):
        """Least squares on the co-moments ``within`` of the demeaned ``[X, y]``.

        ``absorbed`` marks the columns constant within every level; by
        default (rows demeaned by passes) those at the rounding floor of
        their values (:func:`absorbed_mask`).
        """
        k = self.n_features_in_
        if absorbed is None:
            absorbed = absorbed_mask(within, self.stats_)
        within[:k][absorbed] = 0.0
        within[:, :k][:, absorbed] = 0.0
        self._within = GramStats(k, 1, self.stats_.n_rows, self.stats_.weight_sum,
                                 np.zeros(k + 1), within)
        self._solution = solve_least_squares(self._within, fit_intercept=False)
        self.coef_ = self._solution.coef[:, 0]
        self.intercept_ = float(self.stats_.mean_y[0] - self.stats_.mean_x @ self.coef_)

    # -- results --------------------------------------------------------------
    def results(self, cov_type=None, maxlags=None):
        """Inference on ``b`` with fixest's small-sample conventions.

        Driscoll-Kraay errors follow linearmodels' ``PanelOLS`` instead
        (fixest has none); ``maxlags`` overrides the parameter of that name
        (no pass is needed to change it).

        ``rsquared``/``rsquared_adj`` are the overall R² and
        ``rsquared_within``/``rsquared_within_adj`` the within R², as
        pyfixest's ``_r2``, ``_adj_r2``, ``_r2_within`` and ``_adj_r2_within``.

        Returns
        -------
        RegressionResults
        """
        self._check_fitted()
        cov_type = self.cov_type if cov_type is None else cov_type
        cov, n_clusters, notes = None, None, ()
        if cov_type != "nonrobust":
            cov, n_clusters, notes = self._robust_cov(cov_type, maxlags)
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return absorbed_results(
            self._solution, self.stats_, self._within, n_levels=self._n_absorbed(),
            cov_type=cov_type, cov=cov, n_clusters=n_clusters, names=names,
            target=getattr(self, "target_name_", "y"), model="Within (absorbed effects)",
            notes=notes + singleton_notes(self), title="Cumulative Fixed-Effects Results",
            no_prediction=_NO_PREDICTION,
        )

    def _robust_cov(self, cov_type, maxlags):
        """The robust covariance of ``b``, the number of clusters (or None) and notes."""
        solution, n = self._solution, int(self.stats_.n_rows)
        rank = int(solution.rank)
        n_clusters, notes = None, ()
        with np.errstate(divide="ignore", invalid="ignore"):
            if cov_type == "HC1":
                meat = self._checked_score_pass().extra.matrix
                cov = solution.bread @ meat @ solution.bread \
                    * small_sample_factor("HC1", n, rank + self._n_absorbed())
            elif cov_type == "cluster" and self._multiway():
                sums, absorbed = self._multiway_sums()
                meats = [scores.T @ scores for scores in (g.sums for g in sums.grouped)]
                cov, n_clusters = multiway_sandwich(solution.bread, meats, sums, n,
                                                    rank + absorbed)
            elif cov_type == "cluster":
                scores, absorbed = self._cluster_scores()
                n_clusters = len(scores)
                factor = small_sample_factor("cluster", n, rank + absorbed, n_clusters)
                cov = solution.bread @ (scores.T @ scores) @ solution.bread * factor
            elif cov_type == "driscoll-kraay":
                meat, lags, n_periods = driscoll_kraay_meat(
                    self._period_sums(), self.maxlags if maxlags is None else maxlags)
                # PanelOLS(debiased=True): n / (n - K - G), the HC1 factor with the effects
                cov = solution.bread @ meat @ solution.bread \
                    * small_sample_factor("HC1", n, rank + self.n_levels_)
                notes = (driscoll_kraay_note(lags, n_periods),)
            else:
                raise ValueError(
                    "cov_type must be 'nonrobust', 'HC1', 'cluster' or 'driscoll-kraay', "
                    f"got {cov_type!r}.")
        return cov, n_clusters, notes

    def _n_absorbed(self):
        """Effects counted in the degrees of freedom, as fixest and pyfixest count them.

        One factor: its levels. Several: the rank of their indicators, found
        by the passes (``df_absorbed_``; see the class notes).
        """
        if not self._is_multiway():
            return self.n_levels_
        return self.df_absorbed_

    def _cluster_scores(self):
        """Per-cluster scores and the number of effects counted in the dof (fixest).

        fixest's ``k_fixef="nonnested"``: a factor whose every level lies in
        one cluster counts as one effect.
        """
        if self._is_multiway():
            return self._checked_score_pass().clusters.sums, absorbed_dof(self, "cluster")
        if not hasattr(self, "cluster_stats_"):
            raise MissingPassError("Cluster-robust errors need clusters= in fit/partial_fit.")
        if self.level_stats_.nested:  # one pass; nested effects count as one
            residual = np.append(-self.coef_, 1.0)
            return nested_cluster_scores(self.cluster_stats_, self.level_stats_, residual), 1
        sums = self._checked_score_pass().clusters
        if sums is None:
            raise MissingPassError("The second pass needs clusters= on every chunk.")
        return sums.sums, self.n_levels_

    def _multiway_sums(self):
        """Second-pass score sums per cluster of every subset of the dimensions, and
        the effects counted in the dof: one when the levels nest in the clusters
        of some subset, else all (pyfixest's ``k_fixef="nonnested"``)."""
        sums = self._checked_score_pass().clusters
        if not hasattr(sums, "ways"):
            raise MissingPassError("The second pass needs the multi-way clusters= on every chunk.")
        if self._is_multiway():
            return sums, absorbed_dof(self, "cluster")
        return sums, 1 if any(sums.nested) else self.n_levels_

    def _period_sums(self):
        """The second pass's within scores summed per period (a ClusterSums)."""
        sums = self._checked_score_pass().periods
        if sums is None:
            raise MissingPassError(
                "Driscoll-Kraay errors need the scores summed by period: give periods= "
                "to fit/fit_chunks (or to partial_fit and partial_fit_scores on every chunk)."
            )
        return sums

    def summary(self, cov_type=None, alpha=0.05, maxlags=None):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results(cov_type, maxlags).summary(alpha)

    def effects(self):
        """Estimated fixed effects ``a_e = m_y,e - m_x,e' b``, one per level.

        With two or more absorbed factors, a dict of such Series, one per
        factor (keyed by the ``entities`` column names, or ``"0"``, ``"1"``
        ... for an array): every factor but the first has weighted mean
        zero, since only each row's sum of effects is identified.

        Returns
        -------
        pandas.Series or dict of str to pandas.Series
        """
        self._check_fitted()
        k = self.n_features_in_
        if self._is_multiway():
            return factor_effects(self)
        levels = self.level_stats_
        values = levels.mean[:, k] - levels.mean[:, :k] @ self.coef_
        return pd.Series(values, index=pd.Index(levels.labels, name="entity"), name="effect")

    def score(self, X, y, sample_weight=None, entities=None):
        """R² of :meth:`predict` with each row's fixed effect.

        A model fitted with ``entities`` is scored with its rows' effects
        (route them with ``set_score_request(entities=True)`` in
        cross-validation); rows of levels not seen in fit get
        ``intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        entities : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return self._structured_score(X, y, sample_weight, "entities", entities)

    @partitionwise
    def predict(self, X, entities=None):
        """Predict ``x' b + a_e`` (``intercept_`` for rows without a known level).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        entities : array-like of shape (n_samples,) or (n_samples, n_factors), optional
            With several factors, a row with a level not seen in fit (in
            any factor) gets ``intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check_fitted()
        if entities is None:  # raw rows of a formula fit carry their levels
            entities = raw_labels(getattr(self, "design_spec_", None), X, "entities")
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=SPARSE_FORMATS)
        return X @ self.coef_ + prediction_offsets(self, entities)
