"""Cluster (pairs) bootstrap from per-cluster statistics, without touching rows.

# theta*_b = solve( sum_g c_bg S_g ),  c_b ~ Multinomial(G; 1/G, ..., 1/G)

A resample of ``G`` clusters drawn with replacement has the statistics of its
clusters merged with their multiplicities ``c_bg``; those are linear in
``c_b`` (see :mod:`skbigreg.solvers._grouped_least_squares`), so ``B``
replications are one ``(B, G) @ (G, D^2)`` product and ``B`` small solves.
The result equals refitting on the resampled rows, to rounding.

With absorbed fixed effects (``entities=``) a resample is solved from the
within statistics of its clusters. When every level lies in one cluster,
the within transformation of a union of clusters is the union of their
within transformations, so each cluster's within co-moments
(:func:`~skbigreg.solvers._fixed_effects.cluster_within_comoments`) add up
over a resample, a cluster drawn twice counting as two clusters with their
own levels -- what a row-level cluster bootstrap does when it relabels the
levels of each draw. Levels that cut across clusters are refused: their
resampled within transformation is not a sum of per-cluster statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..exceptions import MissingPassError
from ..solvers._fixed_effects import absorbed_columns, cluster_within_comoments, within_stats
from ..solvers._grouped_least_squares import StackedMoments, combine_groups, solve_stacked
from ..solvers._iv import solve_iv
from ..stats import GramStats


@dataclass(frozen=True)
class BootstrapResults:
    """Replicated estimates of a cluster bootstrap.

    The surface is :class:`~skbigreg.inference.RegressionResults`': pandas
    objects indexed by the parameter names.

    Attributes
    ----------
    params : pandas.Series of shape (p,)
        Full-sample estimates (intercept first when fitted).
    replicates : ndarray of shape (n_resamples, p)
        Estimates on each resample (NaN rows where a resample's design was
        rank deficient).
    indices : ndarray of shape (n_resamples, n_clusters)
        Positions (in ``cluster_labels``) of the clusters drawn per resample.
    cluster_labels : ndarray of shape (n_clusters,)
    names : list of str
    """

    params: pd.Series
    replicates: np.ndarray
    indices: np.ndarray
    cluster_labels: np.ndarray
    names: list

    @property
    def n_failed(self):
        """Resamples whose model was not identified (left out of the summaries)."""
        return int(np.isnan(self.replicates).any(axis=1).sum())

    @property
    def bse(self):
        """Bootstrap standard errors: the standard deviation of the replicates."""
        return pd.Series(np.nanstd(self.replicates, axis=0, ddof=1), index=self.names)

    def cov_params(self):
        """Covariance of the replicates, a DataFrame labelled by the parameter names."""
        kept = self.replicates[~np.isnan(self.replicates).any(axis=1)]
        cov = np.atleast_2d(np.cov(kept, rowvar=False))
        return pd.DataFrame(cov, index=self.names, columns=self.names)

    def conf_int(self, alpha=0.05):
        """Percentile intervals: a DataFrame with columns 0 (lower) and 1 (upper)."""
        bounds = np.nanquantile(self.replicates, [alpha / 2, 1 - alpha / 2], axis=0).T
        return pd.DataFrame(bounds, index=self.names, columns=[0, 1])


def resample_clusters(n_clusters, n_resamples=999, random_state=None):
    """Indices of the clusters drawn with replacement, shape (n_resamples, n_clusters)."""
    rng = check_random_state(random_state)
    return rng.randint(0, n_clusters, size=(n_resamples, n_clusters))


def cluster_bootstrap(estimator, n_resamples=999, random_state=None, indices=None):
    """Cluster bootstrap of a fitted estimator from its per-cluster statistics.

    Parameters
    ----------
    estimator : CumulativeLinearRegression, CumulativeIVRegression or CumulativeFixedEffectsRegression
        Fitted with ``clusters=`` (so it holds ``cluster_stats_``); a single
        target. With absorbed effects (``entities=``), every level must lie
        in one cluster (``level_stats_.nested``; cluster by the entities or
        by a factor containing them), else ``ValueError``; each draw of a
        cluster counts as new levels.
    n_resamples : int, default=999
    random_state : int, RandomState or None
        Seeds the resampling (same seed, same resamples).
    indices : ndarray of shape (n_resamples, n_clusters), optional
        Resampled cluster positions to use instead of drawing them (e.g. to
        reproduce a row-level bootstrap).

    Returns
    -------
    BootstrapResults

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> from skbigreg.inference import cluster_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(50), 20)
    >>> X = rng.normal(size=(1000, 1)) + rng.normal(size=(50, 1))[g]
    >>> y = X[:, 0] + rng.normal(size=50)[g] + rng.normal(size=1000)
    >>> est = CumulativeLinearRegression().fit(X, y, clusters=g)
    >>> boot = cluster_bootstrap(est, n_resamples=999, random_state=0)
    >>> boot.replicates.shape
    (999, 2)
    >>> bool(abs(boot.bse["x0"] / est.results("cluster").bse["x0"] - 1) < 0.2)
    True
    """
    grouped = getattr(estimator, "cluster_stats_", None)
    if grouped is None:
        raise MissingPassError("The cluster bootstrap needs clusters= in fit/partial_fit.")
    if hasattr(grouped, "ways"):
        raise ValueError(
            f"The cluster bootstrap resamples the clusters of one dimension; this fit has "
            f"{grouped.n_dimensions}-way clusters: fit with a single clusters column."
        )
    if grouped.n_targets != 1:
        raise ValueError("The cluster bootstrap supports a single target.")
    if indices is None:
        indices = resample_clusters(grouped.n_groups, n_resamples, random_state)
    indices = np.asarray(indices)
    counts = _multiplicities(indices, grouped.n_groups)
    if _absorbs(estimator):
        replicates = _within_replicates(estimator, grouped, counts)
        results = estimator.results("nonrobust")
        return BootstrapResults(results.params, replicates, indices, grouped.labels,
                                results.names)
    moments = combine_groups(grouped, counts)
    if hasattr(estimator, "level_stats_"):  # the within estimator without entities
        replicates = solve_stacked(moments, True).coef[:, :, 0]
    elif hasattr(estimator, "instruments"):  # CumulativeIVRegression
        replicates = _solve_each_iv(estimator, moments)
    else:
        replicates = _least_squares_params(solve_stacked(moments, estimator.fit_intercept),
                                           estimator.fit_intercept)
    results = estimator.results("nonrobust")
    return BootstrapResults(results.params, replicates, indices, grouped.labels, results.names)


def _multiplicities(indices, n_clusters):
    """How often each cluster is drawn in each resample, shape (B, G)."""
    counts = np.zeros((len(indices), n_clusters))
    rows = np.repeat(np.arange(len(indices)), indices.shape[1])
    np.add.at(counts, (rows, indices.ravel()), 1.0)
    return counts


def _least_squares_params(solution, fit_intercept):
    coef = solution.coef[:, :, 0]
    if fit_intercept:
        return np.column_stack([solution.intercept[:, 0], coef])
    return coef


def _solve_each_iv(estimator, moments):
    """2SLS on each resample's statistics (one small solve per resample)."""
    columns = estimator._columns()
    k = moments.n_features
    out = []
    for weight, mean, comoment in zip(moments.weight_sum, moments.mean, moments.comoment):
        stats = GramStats(k, 1, 0, weight, mean, comoment)
        solution = solve_iv(stats, columns, estimator.fit_intercept)
        params = solution.coef[:, 0]
        out.append(np.concatenate([solution.intercept, params]) if estimator.fit_intercept else params)
    return np.asarray(out)


def _absorbs(estimator):
    """Whether the fit absorbed fixed effects (was given ``entities``)."""
    return getattr(estimator, "_label_kinds", {}).get("entities") is not None


def _within_replicates(estimator, grouped, counts):
    """Estimates from each resample's within co-moments ``sum_g c_bg Cw_g``."""
    levels = estimator.level_stats_
    within = cluster_within_comoments(grouped, levels)
    size = within.shape[1]
    comoment = (counts @ within.reshape(len(within), -1)).reshape(-1, size, size)
    weight = counts @ grouped.weight_sum
    if hasattr(estimator, "instruments"):  # CumulativeIVRegression: 2SLS on each resample
        columns = estimator._active_columns()
        out = []
        for weight_b, comoment_b in zip(weight, comoment):
            stats = GramStats(size - 1, 1, 0, weight_b, np.zeros(size), comoment_b)
            out.append(solve_iv(stats, columns, fit_intercept=False).coef[:, 0])
        return np.asarray(out)
    k = size - 1
    absorbed = absorbed_columns(within_stats(estimator.stats_, levels), estimator.stats_, levels)
    keep = np.append(np.setdiff1d(np.arange(k), absorbed), k)
    moments = StackedMoments(weight, np.zeros((len(weight), len(keep))),
                             comoment[:, keep[:, None], keep], len(keep) - 1)
    replicates = np.zeros((len(weight), k))
    replicates[:, keep[:-1]] = solve_stacked(moments, fit_intercept=False).coef[:, :, 0]
    return replicates
