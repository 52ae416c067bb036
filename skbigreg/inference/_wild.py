"""Wild cluster bootstrap (WCR/WCU) of one linear restriction, from per-cluster statistics.

The draws' t statistics are small matrix products of the per-cluster
cross-products the fit already holds (see
:mod:`skbigreg.solvers._wild_bootstrap`): ``B = 9,999`` draws cost
milliseconds after the one pass over the rows, and the p-value at any
tested value -- hence the confidence interval by test inversion -- costs
``O(B)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..solvers._wild_bootstrap import centred_cross_products, wild_draws, within_cross_products
from ._covariance import small_sample_factor
from ._restrictions import restriction_matrix
from ._tests import check_alpha

#: Webb's six-point weights: +-sqrt(1/2), +-1, +-sqrt(3/2), each with probability 1/6.
WEBB = np.concatenate([-np.sqrt(np.array([3, 2, 1]) / 2), np.sqrt(np.array([1, 2, 3]) / 2)])
_WEIGHTS = {"rademacher": np.array([-1, 1]), "webb": WEBB}
# A draw counts towards the p-value when |t*| exceeds |t| by more than rounding:
# with full enumeration the all-ones draw reproduces the sample's own |t| exactly.
_TIE = 1e-10
# Test inversion: widest search (in standard errors) and bisection steps.
_SEARCH_SE = 1e4
_BISECTIONS = 80


@dataclass(frozen=True, eq=False)
class WildBootstrapResults:
    """Outcome of a wild cluster bootstrap test of one linear restriction ``R b = q``.

    Attributes
    ----------
    statistic : float
        The sample's CRV1 t statistic ``(R b - q) / se`` (the estimator's
        ``results("cluster").t_test``).
    pvalue : float
        Two-sided bootstrap p-value: the share of draws with
        ``|t*| > |t|`` (as ``wildboottest`` computes it).
    t_boot : ndarray of shape (n_resamples,)
        The draws' t statistics.
    draws : ndarray of shape (n_resamples, n_clusters)
        The weight each cluster's residuals were multiplied by, per draw
        (clusters in the sorted order of ``cluster_labels``).
    n_resamples : int
        Number of draws (``2^G`` under full enumeration).
    full_enumeration : bool
        Whether every Rademacher sign pattern was used once.
    weights : str
    impose_null : bool
    R : ndarray of shape (p,)
    q : float
    names : list of str
        The parameter names ``R`` is written over.
    cluster_labels : ndarray of shape (n_clusters,)
    alpha : float
        Default level of :meth:`conf_int`.
    """

    statistic: float
    pvalue: float
    t_boot: np.ndarray
    draws: np.ndarray
    n_resamples: int
    full_enumeration: bool
    weights: str
    impose_null: bool
    R: np.ndarray
    q: float
    names: list
    cluster_labels: np.ndarray
    alpha: float
    _algebra: object = field(repr=False)
    _offset: float = field(repr=False)

    @property
    def n_clusters(self):
        return len(self.cluster_labels)

    def pvalue_at(self, value):
        """Bootstrap p-value of ``R b = value`` with the same draws (test inversion's map)."""
        q = value - self._offset
        return _pvalue(self._algebra.statistic(q), self._algebra.t_boot(q))

    def conf_int(self, alpha=None):
        """Confidence interval for ``R b`` by inverting the bootstrap test.

        The bounds are where :meth:`pvalue_at` (the draws held fixed, as
        boottest does) crosses ``alpha``, found by bisection outward from the
        estimate to ``1e-10`` standard errors. A side along which the p-value
        never falls below ``alpha`` within ``1e4`` standard errors is
        unbounded (``inf``), as happens with very few clusters.

        Returns
        -------
        ndarray of shape (2,)
        """
        alpha = self.alpha if alpha is None else alpha
        check_alpha(alpha)
        estimate, se = self._algebra.estimate, self._algebra.se
        bounds = [_crossing(self, estimate + self._offset, sign * se, alpha) for sign in (-1.0, 1.0)]
        return np.array(bounds)


def wild_cluster_bootstrap(estimator, r, n_resamples=9999, weights="rademacher",
                           random_state=None, impose_null=True, alpha=0.05, draws=None):
    """Wild cluster bootstrap test of one linear restriction, from per-cluster statistics.

    ``y*_i = x_i'b~ + v_bg(i) e~_i``, ``t*_b = r'(b*_b - b~) / se*_b``, ``p = mean(|t*_b| > |t|)``

    The restricted bootstrap (WCR, ``impose_null=True``; WCU otherwise) of
    Cameron, Gelbach & Miller (2008) with CRV1 t statistics, computed by the
    algebra of Roodman, MacKinnon, Nielsen & Webb (2019) from the per-cluster
    cross-products the fit keeps (``cluster_stats_``): no pass over rows.

    Parameters
    ----------
    estimator : CumulativeLinearRegression or CumulativeFixedEffectsRegression
        Fitted with one column of ``clusters=`` and a single target. For the
        fixed-effects estimator every entity must lie in one cluster (the
        within transformation then stays inside clusters and the per-cluster
        statistics of the demeaned rows are exact).
    r : str, array-like of shape (p,) or (R, q)
        One restriction in statsmodels' forms: a parameter name (``= 0``
        implied), ``"x1 = 0.5"``, ``"x1 - x2 = 0"``, a row ``R`` or a pair
        ``(R, q)``, over the estimator's parameter names (``const`` first
        when an intercept is fitted).
    n_resamples : int, default=9999
        Number of draws ``B``. With Rademacher weights and ``2^G <= B``
        every sign pattern is used once instead (full enumeration, ``2^G``
        draws), as wildboottest and boottest do; the result is then exact
        and needs no seed.
    weights : {"rademacher", "webb"}, default="rademacher"
        Distribution of the cluster weights: signs ``+-1``, or Webb's
        six-point distribution (better with few clusters).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        Seeds ``numpy.random.default_rng``; the draws are ``rng.choice`` of
        ``G * B`` weights laid out cluster by cluster, as wildboottest draws
        them, so the same integer seed gives wildboottest's draws. A
        ``RandomState`` (scikit-learn's kind) seeds the generator with one
        draw of its own.
    impose_null : bool, default=True
        Bootstrap from the restricted fit (WCR) or from the unrestricted
        one (WCU).
    alpha : float, default=0.05
        Default level of the results' :meth:`~WildBootstrapResults.conf_int`.
    draws : ndarray of shape (B, G), optional
        Cluster weights to use instead of drawing them (e.g. to reproduce
        another implementation's draws).

    Returns
    -------
    WildBootstrapResults

    Raises
    ------
    ValueError
        Unknown parameter, more than one restriction (joint tests are not
        supported), an estimator without one-way clusters or with several
        targets, fewer than two clusters, entities that cut across clusters,
        an unknown ``weights`` name, ``n_resamples < 1``, ``alpha`` outside
        ``(0, 1)``, or a rank-deficient design. The estimator is never
        changed.

    Notes
    -----
    Memory is ``O(B G)`` for the draws and time ``O(B G^2)``. The t statistic
    is the estimator's CRV1 one (statsmodels' small-sample factor for least
    squares, fixest's for fixed effects); the factor cancels in the p-value.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> from skbigreg.inference import wild_cluster_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(12), 50)
    >>> X = rng.normal(size=(600, 2)) + rng.normal(size=(12, 2))[g]
    >>> y = X[:, 0] + rng.normal(size=12)[g] + rng.normal(size=600)
    >>> est = CumulativeLinearRegression().fit(X, y, clusters=g)
    >>> boot = wild_cluster_bootstrap(est, "x1", random_state=0)
    >>> boot.n_resamples, boot.full_enumeration          # 2^12 <= 9999
    (4096, True)
    >>> bool(abs(boot.statistic - est.results("cluster").t_test("x1").tvalue[0]) < 1e-10)
    True
    >>> bool(0 < boot.pvalue < 1)
    True
    >>> lower, upper = wild_cluster_bootstrap(est, "x0 = 1", weights="webb", random_state=0).conf_int()
    >>> bool(lower < 1 < upper)
    True
    """
    check_alpha(alpha)
    _check_draw_settings(n_resamples, weights)
    cross, shift, n_params = _cluster_cross_products(estimator)
    results = estimator.results("cluster")
    R, q = _one_restriction(r, results.names)
    n_clusters = cross.n_clusters
    # The solve's parametrisation: b = J b_c + e_0 c_y (centred design, see _covariance).
    J = np.eye(len(R))
    offset = 0.0
    if len(shift):  # with an intercept
        J[0, 1:] = -shift[:-1]
        offset = R[0] * shift[-1]
    if draws is None:
        draws, full = _draw(n_clusters, n_resamples, weights, random_state)
    else:
        draws, full = _check_draws(draws, n_clusters), False
    factor = small_sample_factor("cluster", results.nobs, n_params, n_clusters)
    algebra = wild_draws(cross, R @ J, draws, factor, impose_null)
    statistic = algebra.statistic(q - offset)
    t_boot = algebra.t_boot(q - offset)
    return WildBootstrapResults(
        statistic=float(statistic), pvalue=_pvalue(statistic, t_boot), t_boot=t_boot,
        draws=draws, n_resamples=len(draws), full_enumeration=full, weights=weights,
        impose_null=bool(impose_null), R=R, q=q, names=list(results.names),
        cluster_labels=estimator.cluster_stats_.labels, alpha=alpha, _algebra=algebra,
        _offset=offset,
    )


def _pvalue(statistic, t_boot):
    return float(np.mean(np.abs(t_boot) > np.abs(statistic) * (1 + _TIE)))


def _check_draw_settings(n_resamples, weights):
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {sorted(_WEIGHTS)}; got {weights!r}.")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) \
            or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1; got {n_resamples!r}.")


def _cluster_cross_products(estimator):
    """Per-cluster cross-products, the centring shift and the ``p`` of the CRV1 factor."""
    grouped = getattr(estimator, "cluster_stats_", None)
    if grouped is None:
        raise ValueError("The wild cluster bootstrap needs clusters= in fit/partial_fit.")
    if hasattr(estimator, "instruments"):
        raise ValueError("The wild cluster bootstrap supports least squares and fixed "
                         "effects, not instrumental variables.")
    if hasattr(grouped, "ways"):
        raise ValueError("The wild cluster bootstrap supports one-way clusters only; "
                         "the estimator was fitted with multi-way clusters.")
    if grouped.n_targets != 1:
        raise ValueError("The wild cluster bootstrap supports a single target.")
    if grouped.n_groups < 2:
        raise ValueError(f"The wild cluster bootstrap needs at least two clusters; the data "
                         f"hold {grouped.n_groups}.")
    levels = getattr(estimator, "level_stats_", None)
    if levels is None:  # least squares: statsmodels' p counts the intercept
        cross, shift = centred_cross_products(grouped, estimator.fit_intercept)
        return cross, (shift if estimator.fit_intercept else np.empty(0)), cross.n_params
    if not levels.nested:
        raise ValueError(
            "The wild cluster bootstrap of a fixed-effects fit needs every entity to lie in "
            "one cluster (then the within transformation stays inside clusters and the "
            "per-cluster statistics are exact); here entities cut across clusters (or no "
            "entities were given)."
        )
    cross = within_cross_products(grouped, levels)
    return cross, np.empty(0), cross.n_params + 1  # fixest counts nested effects as one


def _one_restriction(r, names):
    R, q = restriction_matrix(r, names)
    if len(R) != 1:
        raise ValueError(f"The wild cluster bootstrap tests one restriction; got {len(R)} "
                         "(joint tests are not supported: test them one at a time).")
    if not R.any():
        raise ValueError("The restriction names no parameter (R is zero).")
    return R[0], float(q[0])


def _draw(n_clusters, n_resamples, weights, random_state):
    """Draws ``(B, G)``: every sign pattern when ``2^G <= B`` (Rademacher), else random."""
    if weights == "rademacher" and n_clusters < 63 and 2**n_clusters <= n_resamples:
        patterns = np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters - 1, -1, -1)
        return np.where(patterns & 1, 1.0, -1.0), True  # itertools.product's order
    if isinstance(random_state, np.random.RandomState):  # scikit-learn's kind: draw a seed
        random_state = random_state.randint(2**32, dtype=np.uint64)
    rng = np.random.default_rng(random_state)
    values = rng.choice(_WEIGHTS[weights], size=n_clusters * n_resamples, replace=True)
    return np.asarray(values, dtype=np.float64).reshape(n_clusters, n_resamples).T.copy(), False


def _check_draws(draws, n_clusters):
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[1] != n_clusters or len(draws) == 0:
        raise ValueError(f"draws must have shape (n_resamples, {n_clusters}) (one column per "
                         f"cluster); got shape {draws.shape}.")
    if not np.isfinite(draws).all():
        raise ValueError("draws must be finite.")
    return draws


def _crossing(boot, start, step, alpha):
    """Where the p-value falls below ``alpha`` going from ``start`` by ``step``s (bisection)."""
    inside, outside = start, None
    distance = step
    while abs(distance) <= _SEARCH_SE * abs(step):
        if boot.pvalue_at(start + distance) < alpha:
            outside = start + distance
            break
        inside = start + distance
        distance *= 2.0
    if outside is None:
        return np.sign(step) * np.inf
    for _ in range(_BISECTIONS):
        middle = 0.5 * (inside + outside)
        if abs(outside - inside) <= 1e-10 * abs(step):
            break
        if boot.pvalue_at(middle) < alpha:
            outside = middle
        else:
            inside = middle
    return 0.5 * (inside + outside)
