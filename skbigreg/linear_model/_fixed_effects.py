"""Linear regression with absorbed fixed effects (the within estimator), in one pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import column_or_1d

from .._compat import (
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _num_samples,
    validate_data,
)
from ..exceptions import MissingPassError
from ..inference import RegressionResults
from ..io import iter_chunks
from ..solvers import solve_least_squares
from ..solvers._fixed_effects import (
    LevelMeans,
    demeaned_scores,
    nested_cluster_scores,
    within_comoment,
)
from ..stats import ClusterSums, GramStats, OuterProductStats
from ._base import CumulativeMixin, rollback_on_error
from ._chunked import ChunkLabels, fit_merged_chunks

# Within-level variance below this fraction of the total marks a column as
# constant within every level (collinear with the absorbed effects).
_ABSORBED = 1e-10


class CumulativeFixedEffectsRegression(CumulativeMixin, RegressorMixin, BaseEstimator):
    """Least squares with one absorbed factor of fixed effects, from one pass.

    Minimises ``sum_i w_i (y_i - a_e(i) - x_i' b)^2`` over ``b`` and one
    effect ``a_e`` per level of ``entities`` (e.g. person, firm) by the
    within estimator: ``b = Cw_xx^-1 Cw_xy`` with the co-moments of the
    level-demeaned rows ``Cw = C - sum_e W_e (m_e - m)(m_e - m)'``, gathered
    in one pass from the total co-moments and each level's weight and means
    (memory ``O(G (K + 1))``). The effects are ``a_e = m_y,e - m_x,e' b``.

    A second, small factor (years, say) is absorbed exactly, still in one
    pass, by giving its indicator columns (all levels but one) as columns
    of ``X``: this is two-way fixed effects, with fixest's degrees of freedom.

    Parameters
    ----------
    cov_type : {"nonrobust", "HC1", "cluster"}, default="nonrobust"
        Default covariance of :meth:`results`, following fixest (as
        ``pyfixest.feols``). Nonrobust: ``s^2 = RSS / (n - K - G)``. HC1
        (fixest's "hetero"): ``n / (n - K - G)``. Cluster (CRV1, needs
        ``clusters=``): ``G_c/(G_c-1) (n-1)/(n-K-1)`` when every level lies in
        one cluster (fixest's ``k_fixef="nonnested"``; computed in the first
        pass), else ``G_c/(G_c-1) (n-1)/(n-K-G)``. HC1 and clusters that cut
        across levels need a second pass (:meth:`partial_fit_scores`; ``fit``
        and :meth:`fit_chunks` make it).

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
    cluster_stats_ : GroupedGramStats
        Per-cluster statistics, when ``clusters`` were given.
    n_levels_ : int
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    CumulativeLinearRegression : without absorbed effects.

    Notes
    -----
    Singleton levels (one row) are kept: they fit perfectly, add nothing to
    ``b`` and each costs one degree of freedom (fixest drops them unless
    ``fixef_rm="none"``; pass that to compare).

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
    """

    _parameter_constraints: dict = {"cov_type": [StrOptions({"nonrobust", "HC1", "cluster"})]}

    def __init__(self, *, cov_type="nonrobust"):
        self.cov_type = cov_type

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, entities=None, clusters=None):
        """Fit on in-memory rows (reset, then one chunk).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        entities : array-like of shape (n_samples,), optional
            Level of the absorbed factor of each row; without it, one level
            (ordinary least squares with an intercept).
        clusters : array-like of shape (n_samples,), optional
            Cluster labels for CRV1 errors (one pass when every level lies in
            one cluster, else a second pass, made here).

        Returns
        -------
        self
        """
        if self.cov_type == "cluster" and clusters is None:
            raise ValueError("cov_type='cluster' needs cluster labels: fit(..., clusters=labels).")
        self._reset()
        self.partial_fit(X, y, sample_weight, entities, clusters)
        if self._needs_second_pass(self.cov_type):
            self.partial_fit_scores(X, y, sample_weight, entities, clusters)
        return self

    def partial_fit_scores(self, X, y, sample_weight=None, entities=None, clusters=None):
        """Second pass: the scores ``w_i e_i (x_i - m_level(i))`` at the current fit.

        Needed for HC1 errors and for clusters that cut across levels; call
        it on every chunk again after the last :meth:`partial_fit`. The level
        means come from the first pass, so each row is demeaned on the fly.

        Returns
        -------
        self
        """
        self._check_fitted()
        with rollback_on_error(self):
            X, y = validate_data(self, X, column_or_1d(y), reset=False, dtype=np.float64,
                                 y_numeric=True)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            levels, _ = self._groups(len(X), entities, None)
            scores = demeaned_scores(X, y, sample_weight, levels, self.level_stats_, self.coef_)
            self.hc_stats_ = getattr(self, "hc_stats_", OuterProductStats.empty(len(self.coef_))) \
                + OuterProductStats.from_rows(scores)
            if clusters is not None:
                sums = ClusterSums.from_rows(scores, np.asarray(clusters))
                previous = getattr(self, "cluster_score_sums_", None)
                self.cluster_score_sums_ = sums if previous is None else previous + sums
        return self

    def _needs_second_pass(self, cov_type):
        if cov_type == "HC1":
            return True
        return cov_type == "cluster" and not self.level_stats_.nested

    def _after_update(self):
        vars(self).pop("hc_stats_", None)
        vars(self).pop("cluster_score_sums_", None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, entities=None, clusters=None):
        """Merge one chunk's statistics and re-solve (all or nothing).

        Returns
        -------
        self
        """
        labels = self._groups(_num_samples(X), entities, clusters)
        return self._accumulate(X, column_or_1d(y, warn=True), sample_weight, clusters, labels)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a chunk source: a pass of statistics, a second of scores when needed.

        The chunks' ``partitions`` labels are the entities (the levels of the
        absorbed factor; without them, one level) and their ``clusters``
        labels the clusters: the result equals ``fit(X, y, sample_weight,
        entities=partitions, clusters=clusters)`` on all rows. Every chunk's
        statistics are merged and the model is solved once, at the end, so a
        level missing from the first chunks raises no warning. HC1, and
        clusters that cut across entities, take a second pass of
        :meth:`partial_fit_scores` at the final coefficients. A failed fit
        leaves the estimator as it was.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads -- a list of
            ``(X, y, sample_weight, {"partitions": entities, "clusters":
            labels})`` tuples, a callable returning a fresh iterator of them
            -- or a file source from :func:`skbigreg.io.read_files` (its
            ``partitions=`` column then holds the entities). Chunks carrying
            ``groups`` labels are refused. A second pass needs a re-iterable
            source; a one-shot generator is refused then.

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
        >>> chunks = [(X[i:i + 300], y[i:i + 300], None, {"partitions": person[i:i + 300]})
        ...           for i in range(0, 1000, 300)]
        >>> fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(chunks)
        >>> np.round(fe.coef_, 1), fe.n_levels_
        (array([2.]), 200)
        >>> fe.results().bse.round(3)
        array([0.037])
        """
        source = iter_chunks(chunks)
        required = ("clusters",) if self.cov_type == "cluster" else ()
        labels = ChunkLabels(self, ("partitions", "clusters"), required)
        with rollback_on_error(self):
            fit_merged_chunks(self, source, labels, lambda chunk: self._groups(
                chunk.n_rows, chunk.label("partitions"), chunk.label("clusters")),
                "level_stats_")
            if self._needs_second_pass(self.cov_type):
                for chunk in source:
                    if chunk.n_rows:
                        self.partial_fit_scores(chunk.X, chunk.y, chunk.sample_weight,
                                                chunk.label("partitions"), chunk.label("clusters"))
        return self

    @staticmethod
    def _groups(n_rows, entities, clusters):
        """``_map_chunk``'s ``groups``: the entities (one level without them) and clusters."""
        levels = np.zeros(n_rows, dtype=np.int64) if entities is None else np.asarray(entities)
        return levels, None if clusters is None else np.asarray(clusters)

    def _map_chunk(self, X, y, sample_weight, groups):
        """Total statistics and per-level means; ``groups`` is ``(entities, clusters)``."""
        if y.shape[1] != 1:
            raise ValueError("CumulativeFixedEffectsRegression supports a single target.")
        levels, clusters = groups
        if levels.shape != (X.shape[0],):
            raise ValueError(f"entities has shape {levels.shape}; expected ({X.shape[0]},).")
        stats = GramStats.from_arrays(X, y, sample_weight)
        level_stats = LevelMeans.from_arrays(np.hstack([X, y]), levels, sample_weight, clusters)
        return stats, level_stats

    def _merge_extra(self, extra, first):
        self.level_stats_ = extra if first else self.level_stats_ + extra

    def _solve(self):
        within = within_comoment(self.stats_, self.level_stats_)
        k = self.n_features_in_
        absorbed = np.diag(within)[:k] <= _ABSORBED * np.maximum(np.diag(self.stats_.comoment)[:k], 1e-300)
        within[:k][absorbed] = 0.0
        within[:, :k][:, absorbed] = 0.0
        self._within = GramStats(k, 1, self.stats_.n_rows, self.stats_.weight_sum,
                                 np.zeros(k + 1), within)
        self._solution = solve_least_squares(self._within, fit_intercept=False)
        self.coef_ = self._solution.coef[:, 0]
        self.intercept_ = float(self.stats_.mean_y[0] - self.stats_.mean_x @ self.coef_)
        self.n_levels_ = len(self.level_stats_.labels)

    # -- results --------------------------------------------------------------
    def results(self, cov_type=None):
        """Inference on ``b`` with fixest's small-sample conventions.

        Returns
        -------
        RegressionResults
        """
        self._check_fitted()
        cov_type = self.cov_type if cov_type is None else cov_type
        solution, n = self._solution, self.stats_.n_rows
        rank = solution.rank
        ssr = float(solution.rss[0, 0])
        df_resid = n - rank - self.n_levels_
        n_clusters = None
        if cov_type == "nonrobust":
            cov = solution.bread * ssr / df_resid
            df_inference = df_resid
        elif cov_type == "HC1":
            meat = self._second_pass("hc_stats_").matrix
            cov = solution.bread @ meat @ solution.bread * n / df_resid
            df_inference = df_resid
        elif cov_type == "cluster":
            scores, absorbed = self._cluster_scores()
            n_clusters = len(scores)
            factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - rank - absorbed)
            cov = solution.bread @ (scores.T @ scores) @ solution.bread * factor
            df_inference = n_clusters - 1
        else:
            raise ValueError(f"cov_type must be 'nonrobust', 'HC1' or 'cluster', got {cov_type!r}.")
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return RegressionResults(
            params=self.coef_.copy(),
            cov_params=cov,
            names=[str(name) for name in names],
            cov_type=cov_type,
            nobs=float(n),
            df_model=float(rank),
            df_resid=float(df_resid),
            ssr=ssr,
            tss=float(self._within.comoment[-1, -1]),
            has_intercept=False,
            use_t=True,
            df_inference=float(df_inference),
            n_clusters=n_clusters,
            model="Within (absorbed effects)",
        )

    def _cluster_scores(self):
        """Per-cluster scores and the number of effects counted in the dof (fixest)."""
        if not hasattr(self, "cluster_stats_"):
            raise MissingPassError("Cluster-robust errors need clusters= in fit/partial_fit.")
        if self.level_stats_.nested:  # one pass; nested effects count as one
            residual = np.append(-self.coef_, 1.0)
            return nested_cluster_scores(self.cluster_stats_, self.level_stats_, residual), 1
        self._second_pass("hc_stats_")
        if not hasattr(self, "cluster_score_sums_"):
            raise MissingPassError("The second pass needs clusters= on every chunk.")
        return self.cluster_score_sums_.sums, self.n_levels_

    def _second_pass(self, name):
        seen = getattr(self, name, None)
        rows = 0 if seen is None else seen.n_rows
        if rows != self.n_samples_seen_:
            raise MissingPassError(
                f"These errors need a second pass at the final coefficients: it has seen "
                f"{rows} of {self.n_samples_seen_} rows. Call partial_fit_scores on every "
                "chunk again (fit makes it for cov_type='HC1' or non-nested clusters)."
            )
        return seen

    def summary(self, cov_type=None, alpha=0.05):
        """Text summary of :meth:`results`."""
        return self.results(cov_type).summary(alpha, title="Cumulative Fixed-Effects Results")

    def effects(self):
        """Estimated fixed effects ``a_e = m_y,e - m_x,e' b``, one per level.

        Returns
        -------
        pandas.Series
        """
        self._check_fitted()
        levels = self.level_stats_
        k = self.n_features_in_
        values = levels.mean[:, k] - levels.mean[:, :k] @ self.coef_
        return pd.Series(values, index=pd.Index(levels.labels, name="entity"), name="effect")

    def predict(self, X, entities=None):
        """Predict ``x' b + a_e`` (``intercept_`` for rows without a known level).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        entities : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check_fitted()
        X = validate_data(self, X, reset=False, dtype=np.float64)
        offset = np.full(len(X), self.intercept_)
        if entities is not None:
            effects = self.effects()
            known = effects.reindex(np.asarray(entities)).to_numpy()
            offset = np.where(np.isnan(known), offset, known)
        return X @ self.coef_ + offset
