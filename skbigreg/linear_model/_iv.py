"""Cumulative instrumental-variables (2SLS) regression."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as distributions
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import column_or_1d

from numbers import Integral, Real

from .._compat import Interval, StrOptions, _fit_context, _num_samples, validate_data
from ..base import (
    partitionwise,
    SPARSE_FORMATS,
    CumulativeMixin,
    design_rows,
    fit_source,
    raw_labels,
    rollback_on_error,
    validate_chunk,
    with_design_spec,
)
from ..exceptions import MissingPassError
from ..inference import COV_TYPES, LEVERAGE_COV_TYPES, regression_results, small_sample_factor
from ..inference._covariance import multiway_sandwich, residual_cluster_scores
from ..io import iter_chunks
from ..passes import (
    pushdown_level_nesting,
    pushdown_linear_score_pass,
    pushdown_statistics,
    pushdown_within_statistics,
    residual_row_scores,
    row_level_means,
)
from ..solvers import solve_least_squares
from ..solvers._fixed_effects import absorbed_columns, within_cluster_scores, within_stats
from ..solvers._iv import IVColumns, regressor_stats, solve_iv
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
from ._absorbed import absorbed_results, level_effects, prediction_offsets, warn_absorbed
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


class CumulativeIVRegression(CumulativeMixin, RegressorMixin, BaseEstimator):
    """Exact two-stage least squares (2SLS) from one pass over chunks of rows.

    Estimates ``y = b0 + x'b + e`` with ``E[z e] = 0`` for the instruments
    ``z`` (exogenous regressors and excluded instruments):
    ``b = (X'Pz X)^-1 X'Pz y`` with ``Pz = Z (Z'Z)^-1 Z'``. One pass gathers the
    centred moments of ``[X, y]`` (``X`` holding regressors *and* excluded
    instruments), which contain ``Z'Z``, ``Z'X``, ``Z'y``, ``X'X`` and ``y'y``.

    Instruments are columns of ``X``: ``endogenous`` names the endogenous
    regressors and ``instruments`` the excluded instruments, so every chunk
    source, pipeline and cross-validation splitter works unchanged. Columns
    that are neither are exogenous regressors (their own instruments). With
    no endogenous columns the model is least squares.

    With ``entities=`` (one absorbed factor of fixed effects, e.g. person or
    firm) the model is ``y = a_e + x'b + e`` and 2SLS reads the co-moments of
    the rows demeaned by level -- of ``y``, the exogenous and endogenous
    regressors and the excluded instruments alike -- which the same pass
    gives from the per-level weights and means (as
    :class:`CumulativeFixedEffectsRegression`): this is fixest's
    ``feols("y ~ x | fe | endog ~ instr")``, with its degrees of freedom.

    With ``entities`` of two or more columns (worker and firm, say; in
    :meth:`fit` or the chunks of :meth:`fit_chunks`) every column of ``[X,
    y]`` is demeaned by the passes of
    :class:`CumulativeFixedEffectsRegression` with several factors -- all
    columns at once in each pass, memory ``O(G (K + 1))`` -- and 2SLS reads
    the Gram of the demeaned rows: fixest's ``feols("y ~ x | f1 + f2 | endog
    ~ instr")``. HC and CRV1 errors take one more pass of the structural and
    first-stage scores of the demeaned rows.

    Parameters
    ----------
    endogenous : list of int or str, default=None
        Columns of ``X`` (positions, or names when ``X`` is a DataFrame) that
        are endogenous regressors.
    instruments : list of int or str, default=None
        Columns of ``X`` that are excluded instruments: they enter the first
        stage only (their entries of ``coef_`` are 0). At least as many as
        ``endogenous``.
    fit_intercept : bool, default=True
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
        Default covariance of :meth:`results`. ``"nonrobust"`` uses
        ``s^2 = RSS / (n - k)``; ``"HC1"`` scales HC0 by ``n / (n - k)``;
        ``"cluster"`` is CRV1 (``G/(G-1) (n-1)/(n-k)``, needs ``clusters=``;
        two or more cluster columns give Cameron-Gelbach-Miller multi-way
        CRV1, as pyfixest's ``CRV1: "a+b"`` with ``ssc(G_df="conventional")``).
        These are ``linearmodels.IV2SLS`` with ``debiased=True`` (HC0: with
        ``debiased=False``). HC types need a second pass (:meth:`partial_fit_scores`;
        ``fit`` and :meth:`fit_chunks` make it). With ``entities`` the
        conventions are fixest's (as ``pyfixest.feols``): the ``G`` absorbed
        effects count in ``k`` (``s^2 = RSS / (n - k - G)``, HC1
        ``n / (n - k - G)``, fixest's "hetero"), and for CRV1 as one
        parameter when every level lies in one cluster (computed in the first
        pass; clusters that cut across levels take a second pass). With
        one absorbed factor, two or more cluster columns give the
        Cameron-Gelbach-Miller CRV1 from second-pass score sums (the effects
        count as one when they nest in the clusters of some subset); with
        several factors, a factor whose every level lies in one cluster (of
        some dimension) counts as one effect.
    tol : float, default=1e-8
        Several absorbed factors only: the convergence tolerance of their
        effects (see :class:`CumulativeFixedEffectsRegression`).
    max_iter : int, default=1000
        Several absorbed factors only: the most passes of their effects'
        solve; a ``ConvergenceWarning`` says when they did not converge.
    drop_singletons : bool, default=False
        Several absorbed factors only: drop the rows in singleton levels,
        repeatedly until none is left (fixest's ``fixef.rm =
        "singleton"``); their count is ``n_singletons_``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Structural coefficients; 0 at the excluded instruments.
    intercept_ : float
        With ``entities``: the weighted average effect ``mean_y - mean_x' b``
        (fixest's reference), used by :meth:`predict` without ``entities``.
    stats_ : GramStats
        Statistics of ``[X, y]`` over every row seen.
    level_stats_ : LevelMeans
        Weight and means of ``[X, y]`` per level of ``entities`` (only when
        fitted with them).
    absorbed_ : ndarray of int
        With ``entities``: columns of ``X`` constant within every level
        (absorbed by the effects, with a :class:`CollinearityWarning`):
        regressors among them get coefficient 0 and are left out of
        :meth:`results` (as fixest drops them), instruments among them are
        dropped from the first stage.
    n_levels_ : int or tuple of int
        Number of absorbed effects (with ``entities``), per factor with several.
    n_iter_ : int
        Passes of the effects' solve (1 without ``entities`` or with one factor).
    column_effects_ : tuple of ndarray of shape (n_levels_f, n_features + 1)
        Several factors: each factor's effects of every column of ``[X, y]``.
    entity_names_ : list of str
        Several factors: the names of the ``entities`` columns.
    df_absorbed_ : int
        Several factors: the effects counted in the degrees of freedom (the
        rank of the level indicators, see :class:`CumulativeFixedEffectsRegression`).
    n_singletons_ : int
        Several factors: rows dropped in singleton levels.
    within_stats_ : GramStats
        Several factors: the second moments of the demeaned ``[X, y]``.
    cluster_nesting_ : tuple of FactorMeans
        Several factors with multi-way clusters: per cluster dimension,
        whether each factor's levels lie in one cluster.
    cluster_stats_ : GroupedGramStats or MultiwayGroupedStats
        Per-cluster statistics, when ``clusters`` were given (for every
        dimension and intersection with multi-way clusters).
    score_pass_ : ChunkStatistics
        The second pass: outer products of the scores (structural, then each
        first stage) in ``extra``, the statistics of its rows in ``stats``.
    n_samples_seen_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    target_name_ : str
        Name of ``y`` at the first fit (a Series name), or ``"y"``.

    See Also
    --------
    CumulativeLinearRegression : the least-squares special case.

    Notes
    -----
    The instruments identify the model only if ``Z'Z`` is positive definite
    and ``X'Pz X`` is too; otherwise :class:`numpy.linalg.LinAlgError` is
    raised naming the culprit. Weights are analytic (as ``IV2SLS(weights=)``).
    The first-stage strength is reported by :meth:`first_stage`.

    With ``entities``, singleton levels (one row) are kept by default: they
    fit perfectly, add nothing to ``b`` and each costs one degree of freedom
    (pyfixest drops them unless ``fixef_rm="none"``; pass that to compare,
    or ``drop_singletons=True`` with several factors).
    ``fit_intercept=False`` cannot be combined with ``entities`` (the
    effects hold the constant).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeIVRegression
    >>> rng = np.random.default_rng(0)
    >>> z, u = rng.normal(size=(2, 5000))
    >>> x = z + u                      # endogenous: correlated with the error u
    >>> y = 1.0 + 2.0 * x + u + rng.normal(size=5000)
    >>> X = np.column_stack([x, z])    # column 1 instruments column 0
    >>> iv = CumulativeIVRegression(endogenous=[0], instruments=[1]).fit(X, y)
    >>> np.round(iv.coef_, 1)
    array([2., 0.])
    >>> round(float(iv.first_stage()["f.stat"].iloc[0]))
    5088

    With a fixed effect per person that the instrument is uncorrelated with
    but the regressor is not:

    >>> person = np.repeat(np.arange(500), 10)
    >>> effect = rng.normal(size=500)[person] * 3
    >>> x = z + u + effect
    >>> y = 2.0 * x + effect + u + rng.normal(size=5000)
    >>> iv = CumulativeIVRegression(endogenous=[0], instruments=[1]).fit(
    ...     np.column_stack([x, z]), y, entities=person)
    >>> np.round(iv.coef_, 1), iv.n_levels_
    (array([2., 0.]), 500)

    Two absorbed factors (person and firm), by passes over the rows:

    >>> import pandas as pd
    >>> firm = rng.integers(0, 40, 5000)
    >>> y2 = y + rng.normal(size=40)[firm]
    >>> two = CumulativeIVRegression(endogenous=[0], instruments=[1]).fit(
    ...     np.column_stack([x, z]), y2, entities=pd.DataFrame({"person": person, "firm": firm}))
    >>> np.round(two.coef_, 1), two.n_levels_, sorted(two.effects())
    (array([2., 0.]), (500, 40), ['firm', 'person'])
    """

    _parameter_constraints: dict = {
        "endogenous": [list, tuple, None],
        "instruments": [list, tuple, None],
        "fit_intercept": ["boolean"],
        "cov_type": [StrOptions(set(COV_TYPES) - set(LEVERAGE_COV_TYPES))],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "drop_singletons": ["boolean"],
    }

    def __init__(self, *, endogenous=None, instruments=None, fit_intercept=True,
                 cov_type="nonrobust", tol=1e-8, max_iter=1000, drop_singletons=False):
        self.endogenous = endogenous
        self.instruments = instruments
        self.fit_intercept = fit_intercept
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter
        self.drop_singletons = drop_singletons

    # -- passes ------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, clusters=None, entities=None):
        """Fit on in-memory rows; makes the HC pass when ``cov_type`` needs it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Regressors and excluded instruments.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        clusters : array-like of shape (n_samples,) or (n_samples, n_dims), optional
            Cluster labels for cluster-robust inference; two or more columns
            (a 2-D array or a DataFrame) give multi-way clustering.
        entities : array-like of shape (n_samples,) or (n_samples, n_factors), optional
            Level of the absorbed factor of each row (fixed effects). A
            DataFrame or 2-D array of two or more columns absorbs each column
            as a factor, by passes over the rows (see the class notes).

        Returns
        -------
        self
        """
        if n_factors(entities) > 1:
            source = iter_chunks(X, y, sample_weight, entities=entities, clusters=clusters)
            return fit_source(self, source, self._fit_multiway)
        return self._fit(X, y, sample_weight, clusters=clusters, entities=one_factor(entities))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, clusters=None, entities=None):
        """Merge one chunk into the moments (all or nothing); the fit is solved when next read.

        Returns
        -------
        self
        """
        return self._accumulate(X, y, sample_weight, clusters=clusters, entities=entities)

    def fit_chunks(self, chunks, n_jobs=None):
        """Fit from a chunk source, making the score pass too when ``cov_type`` needs it.

        As :meth:`CumulativeLinearRegression.fit_chunks
        <skbigreg.linear_model.CumulativeLinearRegression.fit_chunks>`; a
        :class:`~skbigreg.io.SqlPushdown` (``read_sql(...).pushdown()``, with
        ``entities=`` to absorb one factor) has the database compute the
        moments of ``[X, y]`` (per cluster, per level) and the score pass of
        the structural and first-stage residuals: no row leaves it.

        Returns
        -------
        self
        """
        return super().fit_chunks(chunks, n_jobs)

    def _fit_pushdown(self, pushdown):
        """Moments computed by the database (and the score pass at the fit)."""
        pushdown.require_labels(("clusters", "entities"), "IV push-down fits")
        absorbs = pushdown.entities is not None
        if absorbs and not self.fit_intercept:
            raise ValueError("fit_intercept=False cannot be combined with entities: the "
                             "absorbed effects hold the constant.")
        if absorbs and not isinstance(pushdown.entities, str):
            return self._fit_pushdown_multiway(pushdown)
        first = pushdown_within_statistics(pushdown) if absorbs else pushdown_statistics(pushdown)
        self._set_statistics(first, True, pushdown.feature_names)
        self.target_name_ = pushdown.target
        if self._needs_second_pass():
            shift = ("levels", self.stats_.mean, self.level_stats_) if absorbs else self._shift()
            # multi-way clusters with absorbed levels: the scores summed per cluster of
            # every subset, and whether the levels nest in each (as the pulled pass has it)
            nesting = pushdown_level_nesting(pushdown, self.level_stats_) \
                if absorbs and pushdown.multiway else None
            self.score_pass_ = pushdown_linear_score_pass(
                pushdown, self._residual_forms(), stats=self.stats_, shift=shift,
                center=self._center(), nesting=nesting)

    def _fit_pushdown_multiway(self, pushdown):
        """Two or more factors: the within 2SLS from the database's cells of the
        factors, then the structural and first-stage score pass with their
        effects uploaded (see :class:`CumulativeFixedEffectsRegression`)."""
        cells = fitted_from_cells(self, pushdown)
        self.within_stats_ = uncentred_within(cells.fit.within, self.stats_)
        self._solve_merged()
        if self._needs_second_pass():
            self.score_pass_ = pushdown_scores(self, pushdown, self._residual_forms())

    _label_names = ("clusters", "entities")
    _score_label_names = ("entities", "clusters")
    _multiway_clusters = True
    _single_target = True
    _extra_attribute = "level_stats_"
    _extra_label = "entities"
    _extra_required = False

    @classmethod
    def from_statistics(cls, stats, cluster_stats=None, feature_names=None, level_stats=None,
                        **params):
        """A fitted estimator from statistics gathered elsewhere (e.g. summed over sites).

        Parameters
        ----------
        stats : GramStats
            Statistics of ``[X, y]`` (regressors and excluded instruments, then
            the target).
        cluster_stats : GroupedGramStats, optional
            The same per cluster, for cluster-robust errors.
        feature_names : sequence of str, optional
        level_stats : LevelMeans, optional
            Weight and means of ``[X, y]`` per level of the absorbed factor
            (``LevelMeans.from_arrays`` on each site, summed), for a model
            with absorbed effects.
        **params
            Estimator parameters.

        Returns
        -------
        CumulativeIVRegression
            Equal to ``fit`` on the rows the statistics were gathered from;
            errors that need a second pass (HC) need those rows again.
        """
        return cls._from_statistics(stats, feature_names, params, clusters=cluster_stats,
                                    extra=level_stats)

    def _absorbs(self):
        """Whether the model absorbs fixed effects (fitted with ``entities``)."""
        return hasattr(self, "level_stats_")

    def _is_multiway(self):
        """Whether the model absorbs two or more factors (by passes, see ``_hdfe``)."""
        return isinstance(vars(self).get("level_stats_"), FactorMeans)

    def _needs_second_pass(self, cov_type=None):
        cov_type = self.cov_type if cov_type is None else cov_type
        if cov_type in ("HC0", "HC1"):
            return True
        return cov_type == "cluster" and self._absorbs() and (
            self._is_multiway() or self._multiway_clusters_fit() or not self.level_stats_.nested)

    def _multiway_clusters_fit(self):
        """Whether the fit has two or more cluster columns (multi-way clustering)."""
        return hasattr(vars(self).get("cluster_stats_"), "ways") \
            or "cluster_nesting_" in vars(self)

    def _cluster_ways(self):
        """The multi-way cluster sums whose subsets and counts the sandwich reads."""
        clusters = vars(self).get("cluster_stats_")
        return clusters if hasattr(clusters, "ways") else self._checked_score_pass().clusters

    def _check_labels(self, labels, n_rows, first):
        """One factor per chunk here; two or more need :meth:`fit` or :meth:`fit_chunks`."""
        entities = labels.get("entities")
        if entities is not None:
            if n_factors(entities) > 1:
                raise ValueError(_MULTI_PASS.format(count=n_factors(entities)))
            refuse_one_factor_singletons(self)
            labels = {**labels, "entities": one_factor(entities)}
        return super()._check_labels(labels, n_rows, first)

    def _fit_passes(self, source, n_jobs):
        """Multi-way passes when the first chunk's entities have several columns."""
        if source.reiterable:
            first = next((c for c in source if c.n_rows), None)
            entities = None if first is None else first.label("entities")
            if entities is not None and n_factors(entities) > 1:
                return self._fit_multiway(source)
        return super()._fit_passes(source, n_jobs)

    def _fit_multiway(self, source):
        """Fit with two or more absorbed factors from ``source``.

        The passes of :class:`CumulativeFixedEffectsRegression` demean every
        column of ``[X, y]`` -- exogenous and endogenous regressors and
        excluded instruments at once -- and gather their Gram; the within
        2SLS reads it, and HC or CRV1 errors take one more pass of the
        structural and first-stage scores of the demeaned rows.
        """
        passes = MultiwayPasses(self, source)
        fit = passes.fit()
        fit.set_fitted(self)
        self.within_stats_ = uncentred_within(fit.within, self.stats_)
        self._solve_merged()
        if self._needs_second_pass():
            self.score_pass_ = passes.form_scores(fit.effects, self._residual_forms())

    def partial_fit_scores(self, X, y, sample_weight=None, entities=None, clusters=None):
        """Second pass: one chunk's scores at the current coefficients.

        Needed for HC errors and, with ``entities``, for clusters that cut
        across levels. Call it on every chunk again after the last
        :meth:`partial_fit`, with the chunk's ``entities`` and ``clusters``
        when the fit had them; the pass also gathers its rows' statistics,
        which :meth:`results` checks against the fit's.

        Returns
        -------
        self
        """
        self._check_fitted()
        if self._is_multiway():
            raise ValueError("The score pass of a multi-way fit is made by fit and fit_chunks.")
        with rollback_on_error(self):
            labels = {}
            if self._absorbs():
                labels = self._check_labels({"entities": entities, "clusters": clusters},
                                            _num_samples(X), first=False)
            X, y, sample_weight, _ = validate_chunk(
                self, X, column_or_1d(y, warn=True), sample_weight, reset=False
            )
            Z = np.column_stack([as_dense(X), y])  # scores of centred rows are dense
            shift = self._shift()
            if self._absorbs():  # each row is demeaned by its level's first-pass means
                shift = row_level_means(labels["entities"], self.level_stats_)
            scores = np.hstack([
                residual_row_scores(Z, sample_weight, coef, shift, self._center()) @ projection
                for coef, projection in self._residual_forms()
            ])
            sums = None
            if isinstance(labels.get("clusters"), tuple):  # multi-way, with absorbed levels
                sums = MultiwayGroupedStats.from_rows(scores, labels["clusters"],
                                                      labels["entities"])
            elif "clusters" in labels:
                sums = ClusterSums.from_rows(scores, labels["clusters"])
            chunk = ChunkStatistics(GramStats.from_arrays(X, y, sample_weight), sums,
                                    OuterProductStats.from_rows(scores))
            previous = getattr(self, "score_pass_", None)
            self.score_pass_ = chunk if previous is None else previous + chunk
        return self

    # -- accumulation hooks ---------------------------------------------------
    def _map_chunk(self, X, y, sample_weight, labels):
        self._columns()  # refuse an impossible specification before storing anything
        levels = labels.get("entities")
        if levels is None:
            return GramStats.from_arrays(X, y, sample_weight), None
        if not self.fit_intercept:
            raise ValueError(
                "fit_intercept=False cannot be combined with entities: the absorbed "
                "effects hold the constant."
            )
        clusters = labels.get("clusters")
        if isinstance(clusters, tuple):  # multi-way: nesting is read in the second pass
            clusters = None
        return level_and_total_statistics(X, y, levels, sample_weight, clusters)

    def _solve(self):
        stats, columns = self.stats_, self._columns()
        if self._is_multiway():
            if "within_stats_" not in vars(self):
                raise ValueError(
                    "A fit of two or more absorbed factors is solved by passes over its "
                    "rows (fit or fit_chunks); its statistics cannot be merged or solved "
                    "without them.")
            stats = self._within = self.within_stats_
            self.absorbed_ = absorbed_columns(stats, self.stats_)
            self.n_levels_ = self.level_stats_.sizes
            columns = self._active_columns()
            warn_absorbed(self._names()[self.absorbed_], columns)
        else:
            self.n_iter_ = 1  # one pass: no effects, or one factor absorbed exactly
        if self._absorbs() and not self._is_multiway():
            stats = self._within = within_stats(self.stats_, self.level_stats_, warn=True)
            self.absorbed_ = absorbed_columns(stats, self.stats_, self.level_stats_)
            self.n_levels_ = len(self.level_stats_.labels)
            columns = self._active_columns()
            warn_absorbed(self._names()[self.absorbed_], columns)
        if len(columns.endogenous):
            solution = solve_iv(stats, columns, self._center())
            first_stage = solution.first_stage
        else:
            solution = solve_least_squares(regressor_stats(stats, columns), self._center())
            # Exogenous regressors instrument themselves: Pi selects them.
            first_stage = np.eye(len(columns.instruments), len(columns.regressors))
        self._solution, self._first_stage = solution, first_stage
        coef = np.zeros(self.n_features_in_)
        coef[columns.regressors] = solution.coef[:, 0]
        self.coef_ = coef
        if self._absorbs():
            self.intercept_ = float(self.stats_.mean_y[0] - self.stats_.mean_x @ coef)
        else:
            self.intercept_ = float(solution.intercept[0])

    def _center(self):
        """Whether the solve centres the columns (an intercept, no absorbed effects)."""
        return self.fit_intercept and not self._absorbs()

    def _active_columns(self):
        """:meth:`_columns` without the columns the effects absorb (``absorbed_``)."""
        return self._columns().without(getattr(self, "absorbed_", ()))

    def _columns(self):
        """Resolve ``endogenous``/``instruments`` to column positions, checking them."""
        k = self.n_features_in_
        endog = self._positions(self.endogenous, "endogenous")
        excluded = self._positions(self.instruments, "instruments")
        if np.intersect1d(endog, excluded).size:
            raise ValueError("A column cannot be both endogenous and an excluded instrument.")
        if len(excluded) < len(endog):
            raise ValueError(
                f"The model is under-identified: {len(endog)} endogenous regressors "
                f"but only {len(excluded)} excluded instruments."
            )
        regressors = np.setdiff1d(np.arange(k), excluded)
        exogenous = np.setdiff1d(regressors, endog)
        return IVColumns(regressors, np.concatenate([exogenous, excluded]), endog, excluded, k)

    def _positions(self, spec, name):
        if not spec:
            return np.empty(0, dtype=int)
        names = list(getattr(self, "feature_names_in_", []))
        out = []
        for item in spec:
            if isinstance(item, str):
                if item not in names:
                    raise ValueError(f"{name}: {item!r} is not a column name of X.")
                item = names.index(item)
            if not 0 <= int(item) < self.n_features_in_:
                raise ValueError(
                    f"{name}: column {item} is out of range for n_features={self.n_features_in_}."
                )
            out.append(int(item))
        if len(set(out)) != len(out):
            raise ValueError(f"{name} lists a column twice.")
        return np.sort(np.asarray(out, dtype=int))

    # -- scores ---------------------------------------------------------------
    def _shift(self):
        size = self.n_features_in_ + 1
        return self.stats_.mean if self.fit_intercept else np.zeros(size)

    def _residual_forms(self):
        """``(coef, projection)`` of the structural residual, then each first stage.

        A residual is ``e = (z - shift)' coef`` over all accumulated columns;
        ``projection`` maps its scores ``e [1, z - shift]`` onto the scores of
        its own design: ``x_hat = Pi'(z - shift_z)`` for the structural
        equation, the instruments for a first stage.
        """
        columns, center = self._active_columns(), int(self._center())
        size = self.n_features_in_ + 1
        R, Z = columns.regressors, columns.instruments
        coef = np.zeros(size)
        coef[columns.target] = 1.0
        coef[R] = -self._solution.coef[:, 0]
        projection = np.zeros((size + center, len(R) + center))
        projection[:center, :center] = 1.0
        projection[center + Z, center:] = self._first_stage
        forms = [(coef, projection)]
        pick = np.zeros((size + center, len(Z)))
        pick[center + Z, np.arange(len(Z))] = 1.0
        for column in columns.endogenous:
            first = np.zeros(size)
            first[column] = 1.0
            first[Z] = -self._first_stage[:, np.searchsorted(R, column)]
            forms.append((first, pick))
        return forms

    def _meats(self, cov_type):
        """Meat matrices of the structural equation and of each first stage."""
        if cov_type in ("HC0", "HC1"):
            seen = self._checked_score_pass().extra
            return [seen.matrix[a:b, a:b] for a, b in itertools.pairwise(self._score_edges())]
        if self._multiway_clusters_fit() and self._absorbs():  # multi-way, from the second pass
            sums = self._checked_score_pass().clusters
            if not hasattr(sums, "ways"):
                raise MissingPassError(
                    "The second pass needs the multi-way clusters= on every chunk.")
            return [[g.sums[:, a:b].T @ g.sums[:, a:b] for g in sums.grouped]
                    for a, b in itertools.pairwise(self._score_edges())]
        if self._is_multiway():
            return self._score_pass_meats()
        if not hasattr(self, "cluster_stats_"):
            raise MissingPassError("Cluster-robust errors need clusters= in fit/partial_fit.")
        clusters = self.cluster_stats_
        if hasattr(clusters, "ways"):  # multi-way: per equation, one meat per subset
            return [list(way_meats) for way_meats in
                    zip(*(self._cluster_meats(grouped) for grouped in clusters.grouped))]
        if self._needs_second_pass("cluster"):  # clusters cut across the absorbed levels
            return self._score_pass_meats()
        return self._cluster_meats(clusters)

    def _score_pass_meats(self):
        """``sum_g s_g s_g'`` of every equation from the second pass's cluster sums."""
        sums = self._checked_score_pass().clusters
        if sums is None:
            raise MissingPassError("The second pass needs clusters= on every chunk.")
        return [sums.sums[:, a:b].T @ sums.sums[:, a:b]
                for a, b in itertools.pairwise(self._score_edges())]

    def _score_edges(self):
        """Where each equation's scores start and end in the second pass's columns."""
        sizes = [projection.shape[1] for _, projection in self._residual_forms()]
        return np.cumsum([0] + sizes)

    def _n_clusters(self):
        """Clusters of a one-way CRV1 (from the first pass, or the second's sums)."""
        if self._is_multiway():
            return len(self._checked_score_pass().clusters.sums)
        return int(self.cluster_stats_.n_groups)

    def _cluster_meats(self, grouped):
        """``sum_g s_g s_g'`` of every equation from per-cluster statistics."""
        meats = []
        for coef, projection in self._residual_forms():
            if self._absorbs():  # levels nest in clusters: one pass
                scores = within_cluster_scores(grouped, self.level_stats_, coef)
            else:
                scores = residual_cluster_scores(grouped, coef, self._shift(), self.fit_intercept)
            scores = scores @ projection
            meats.append(scores.T @ scores)
        return meats

    # -- results --------------------------------------------------------------
    def results(self, cov_type=None, use_t=None):
        """Inference on the structural coefficients (intercept first).

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, optional
            Defaults to the ``cov_type`` parameter.
        use_t : bool, optional
            Student t (default for nonrobust) or normal reference distribution.

        Returns
        -------
        RegressionResults
        """
        self._check_fitted()
        cov_type = self.cov_type if cov_type is None else cov_type
        if self._absorbs():
            return self._within_results(cov_type, use_t)
        columns = self._columns()
        stats = regressor_stats(self.stats_, columns)
        meat = None if cov_type == "nonrobust" else self._meats(cov_type)[0]
        names = self._names()[columns.regressors]
        return with_design_spec(self, regression_results(
            self._solution,
            stats,
            cov_type=cov_type,
            names=list(names),
            hc_meat=(OuterProductStats(self.n_samples_seen_, meat)
                     if cov_type.startswith("HC") else None),
            clusters=getattr(self, "cluster_stats_", None),
            use_t=use_t,
            cluster_meat_matrix=meat,
            target_name=getattr(self, "target_name_", "y"),
            model="IV-2SLS",
            method="2SLS",
            title="Cumulative IV-2SLS Results",
            wald_f=True,
        ))

    def _absorbed_dof(self, cov_type):
        """Parameters the absorbed effects count for in ``cov_type``'s factor (fixest)."""
        if not self._absorbs():
            return 0
        if self._is_multiway():
            return absorbed_dof(self, cov_type)
        if cov_type == "cluster" and self._multiway_clusters_fit():
            # one when the levels nest in the clusters of some subset (pyfixest)
            return 1 if any(self._checked_score_pass().clusters.nested) else self.n_levels_
        if cov_type == "cluster" and self.level_stats_.nested:
            return 1  # effects nested in the clusters count as one
        return self.n_levels_

    def _within_results(self, cov_type, use_t):
        """:meth:`results` with absorbed effects, in fixest's conventions."""
        if cov_type not in ("nonrobust", "HC0", "HC1", "cluster"):
            raise ValueError(
                f"cov_type must be 'nonrobust', 'HC0', 'HC1' or 'cluster', got {cov_type!r}.")
        meat = None if cov_type == "nonrobust" else self._meats(cov_type)[0]
        n_clusters = cov = None
        if cov_type == "cluster" and self._multiway_clusters_fit():
            n_params = int(self._solution.rank) + self._absorbed_dof(cov_type)
            cov, n_clusters = multiway_sandwich(self._solution.bread, meat, self._cluster_ways(),
                                                int(self.stats_.n_rows), n_params)
        elif cov_type == "cluster":
            n_clusters = self._n_clusters()
        return absorbed_results(
            self._solution, self.stats_, self._within,
            n_levels=self._absorbed_dof("nonrobust"), cov=cov,
            cov_type=cov_type, meat=meat, n_clusters=n_clusters,
            absorbed_dof=self._absorbed_dof(cov_type),
            names=self._names()[self._active_columns().regressors],
            target=getattr(self, "target_name_", "y"), use_t=True if use_t is None else use_t,
            model="IV-2SLS (absorbed effects)", method="2SLS",
            title="Cumulative IV-2SLS Results", wald_f=True, notes=singleton_notes(self),
        )

    def summary(self, cov_type=None, use_t=None, alpha=0.05):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results(cov_type, use_t).summary(alpha)

    def first_stage(self, cov_type=None):
        """Strength of the excluded instruments, per endogenous regressor.

        For each endogenous regressor ``x_j``, the first stage regresses it on
        all instruments; ``f.stat`` is the Wald statistic of the excluded
        instruments' coefficients being zero divided by their number ``q``,
        with the covariance type of the model. Nonrobust, it is the partial F
        of ``F(q, n - k_z)`` (``linearmodels``' ``f.stat``); robust, ``q`` times
        it is ``linearmodels``' chi-square ``f.stat`` and the p-value is
        that of ``chi2(q)``. With ``entities`` the first stages are those
        of the demeaned rows (fixest's first stage with the same effects):
        ``rsquared`` is their within R², and the absorbed effects count in
        the degrees of freedom as in :meth:`results`.

        Returns
        -------
        pandas.DataFrame
            Indexed by endogenous regressor: ``rsquared``, ``partial.rsquared``,
            ``f.stat``, ``f.pval``.
        """
        self._check_fitted()
        cov_type = self.cov_type if cov_type is None else cov_type
        columns, center = self._active_columns(), int(self._center())
        if self._absorbs():
            A = self._within.comoment
        else:
            A = self.stats_.moments(center=self.fit_intercept)
        Z, E = columns.instruments, columns.endogenous
        n_z = len(Z) + center + self._absorbed_dof(cov_type)
        q = len(columns.excluded)
        excluded = np.flatnonzero(np.isin(Z, columns.excluded))
        bread = self._solution.instrument_bread if len(E) else np.zeros((0, 0))
        n, meats = self.n_samples_seen_, []
        if cov_type != "nonrobust" and len(E):
            meats = self._meats(cov_type)[1:]
        rows = []
        for j, column in enumerate(E):
            pi = self._first_stage[:, np.searchsorted(columns.regressors, column)]
            rss = self._solution.first_stage_rss[j]
            if cov_type == "nonrobust":
                cov = rss / (n - n_z) * bread
            else:
                cov = self._robust_cov(bread, meats[j], cov_type, n, n_z)
            block = pi[excluded]
            wald = float(block @ np.linalg.solve(cov[np.ix_(excluded, excluded)], block))
            if cov_type == "nonrobust":
                pval = distributions.f.sf(wald / q, q, n - n_z)
            else:
                pval = distributions.chi2.sf(wald, q)
            restricted = _partial_out(A, np.setdiff1d(Z, columns.excluded), column)
            rows.append({
                "rsquared": 1.0 - rss / A[column, column],
                "partial.rsquared": 1.0 - rss / restricted,
                "f.stat": wald / q,
                "f.pval": pval,
            })
        index = pd.Index(self._names()[E], name="endogenous")
        return pd.DataFrame(rows, index=index, columns=["rsquared", "partial.rsquared",
                                                        "f.stat", "f.pval"])

    def _robust_cov(self, bread, meat, cov_type, n, n_params):
        """The sandwich of ``meat`` (one per subset of multi-way clusters) with its factor."""
        if cov_type != "cluster":
            return bread @ meat @ bread * small_sample_factor(cov_type, n, n_params)
        if self._multiway_clusters_fit():
            return multiway_sandwich(bread, meat, self._cluster_ways(), n, n_params)[0]
        factor = small_sample_factor(cov_type, n, n_params, self._n_clusters())
        return bread @ meat @ bread * factor

    def _names(self):
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray([str(name) for name in names], dtype=object)

    def effects(self):
        """Estimated fixed effects ``a_e = m_y,e - m_x,e' b``, one per level of ``entities``.

        Returns
        -------
        pandas.Series
        """
        self._check_fitted()
        if not self._absorbs():
            raise ValueError("This model was fitted without entities: it has no effects.")
        if self._is_multiway():
            return factor_effects(self)
        return level_effects(self.level_stats_, self.coef_)

    @partitionwise
    def predict(self, X, entities=None):
        """Predict ``X @ coef_ + intercept_`` (the instruments' coefficients are 0).

        With ``entities`` (a model fitted with them), each row gets its
        level's effect instead of ``intercept_`` (kept for levels not seen
        in fit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        entities : array-like of shape (n_samples,), optional

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

    def score(self, X, y, sample_weight=None, entities=None):
        """R² of :meth:`predict`; a model fitted with ``entities`` is scored with them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        entities : array-like of shape (n_samples,), optional
            Each row's level (route it with ``set_score_request(entities=True)``
            in cross-validation).

        Returns
        -------
        float
        """
        return self._structured_score(X, y, sample_weight, "entities", entities)


def _partial_out(A, exogenous, column):
    """RSS of ``column`` on the ``exogenous`` columns, from the moment matrix ``A``."""
    if not len(exogenous):
        return A[column, column]
    fitted = np.linalg.lstsq(A[np.ix_(exogenous, exogenous)], A[exogenous, column], rcond=None)[0]
    return A[column, column] - A[exogenous, column] @ fitted
