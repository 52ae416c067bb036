"""Covariance of least-squares coefficients from statistics.

Everything is computed in the *centred parametrisation*: with an intercept the
design row is ``u = [1, x - mean_x]`` and the residual is
``e = (y - mean_y) - (x - mean_x)' beta``, so the bread ``(U'WU)^-1`` is
block diagonal, ``diag(1 / sum w, Cxx^-1)``, and large column offsets cost no
digits. The result is mapped to ``(intercept, beta)`` by
``J = [[1, -mean_x'], [0, I]]``.

# nonrobust: V = s^2 B,            s^2 = RSS / df_resid
# HC0:       V = B (sum_i w_i^2 e_i^2 u_i u_i') B ;  HC1 = HC0 * n / df_resid
# HC2, HC3:  HC0 with row i's term divided by (1 - h_i), (1 - h_i)^2,
#            h_i = w_i u_i' B u_i the leverage (MacKinnon & White 1985)
# CRV1:      V = G/(G-1) (n-1)/(n-p) B (sum_g s_g s_g') B,  s_g = sum_{i in g} w_i e_i u_i
# multi-way: V = V_a + V_b - V_ab (Cameron, Gelbach & Miller 2011; inclusion-exclusion
#            over the subsets of the dimensions for more), each a CRV1 with its own G
# Driscoll-Kraay (panel HAC): V = f B Omega B,  s_t = sum_{i in t} w_i e_i u_i per period,
#            Omega = sum_{l=-L..L} (1 - |l|/(L+1)) sum_t s_t s_{t-l}'  (Bartlett kernel;
#            Driscoll & Kraay 1998), t running over the sorted distinct periods

The small-sample factors of the sandwiches (HC1's and CRV1's) are written
once, in :func:`small_sample_factor`; every estimator passes the ``p`` its
convention counts (fixest's absorbed effects, the first stage's instruments).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..exceptions import DegreesOfFreedomWarning
from ..passes import residual_shift

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")
#: The panel types: their meat needs per-period score sums from the second
#: pass (``periods=`` labels), so only estimators that gather them offer them.
PANEL_COV_TYPES = ("driscoll-kraay",)
#: The HC types whose meat divides by the leverage (they need
#: :class:`~skbigreg.stats.LeverageOuterProducts` from the second pass).
LEVERAGE_COV_TYPES = ("HC2", "HC3")


def small_sample_factor(cov_type, nobs, n_params, n_clusters=None):
    """The factor a sandwich ``B M B`` is multiplied by for ``cov_type``.

    ``1`` (HC0, HC2, HC3: their leverage terms are the correction),
    ``n / (n - p)`` (HC1) or ``G/(G-1) (n-1)/(n-p)`` (CRV1,
    ``"cluster"``; and ``"driscoll-kraay"`` with ``G`` the number of
    periods, statsmodels' ``hac-groupsum`` default
    ``use_correction="cluster"``), with ``n = nobs`` and ``p = n_params``. The factor is NaN
    where it is undefined: no residual degrees of freedom (``n <= p``; the
    caller warns about that once for all its statistics), or a single
    cluster, for which this warns (statsmodels raises ZeroDivisionError
    there; the sandwich has no sampling variation to estimate).

    Examples
    --------
    >>> small_sample_factor("HC1", 100, 4)
    1.0416666666666667
    >>> round(small_sample_factor("cluster", 100, 4, n_clusters=10), 6)
    1.145833
    """
    if cov_type in ("HC0", "HC2", "HC3"):
        return 1.0
    if nobs <= n_params:
        return np.nan
    if cov_type == "HC1":
        return nobs / (nobs - n_params)
    if cov_type not in ("cluster", "driscoll-kraay"):
        raise ValueError(
            "cov_type must be 'HC0', 'HC1', 'HC2', 'HC3', 'cluster' or 'driscoll-kraay', "
            f"got {cov_type!r}."
        )
    if n_clusters < 2:
        warnings.warn(
            f"Cluster-robust errors need at least two clusters; the data hold {n_clusters}: "
            "standard errors, tests and intervals are NaN.",
            DegreesOfFreedomWarning,
            stacklevel=3,
        )
        return np.nan
    return n_clusters / (n_clusters - 1) * (nobs - 1) / (nobs - n_params)


def warn_if_no_residual_dof(nobs, n_params, stacklevel=3):
    """Warn when ``nobs <= n_params``: every error, test and interval is then NaN."""
    if nobs - n_params <= 0:
        warnings.warn(
            f"No residual degrees of freedom ({nobs:g} observations, {n_params} "
            "parameters): standard errors, tests and intervals are NaN.",
            DegreesOfFreedomWarning,
            stacklevel=stacklevel + 1,
        )


def residual_variance(ssr, df_resid):
    """``s^2 = RSS / df_resid``; NaN without residual degrees of freedom."""
    return ssr / df_resid if df_resid > 0 else np.nan


def design_bread(solution, stats):
    """``(U'WU)^-1`` in the centred parametrisation, intercept first when fitted."""
    if not solution.center:
        return solution.bread
    k = stats.n_features
    bread = np.zeros((k + 1, k + 1))
    bread[0, 0] = 1.0 / stats.weight_sum
    bread[1:, 1:] = solution.bread
    return bread


def to_reported(cov, solution, stats):
    """Map a covariance from the centred parametrisation to ``(intercept, beta)``."""
    if not solution.center:
        return cov
    k = stats.n_features
    J = np.eye(k + 1)
    J[0, 1:] = -stats.mean_x
    return J @ cov @ J.T


def cluster_meat(grouped, solution, stats, target):
    """``sum_g s_g s_g'`` from per-cluster centred statistics (no rows needed).

    With cluster ``g``'s weight ``W_g``, means and centred co-moments::

        sum_g w e       = W_g [(my_g - c_y) - (mx_g - c_x)' beta]
        sum_g w (x-c) e = (Cxy_g - Cxx_g beta) + (mx_g - c_x) sum_g w e
    """
    k = stats.n_features
    beta = solution.coef[:, target]
    c_x, c_y = residual_shift(solution, stats)
    mx = grouped.mean[:, :k] - c_x
    my = grouped.mean[:, k + target] - c_y[target]
    sum_e = grouped.weight_sum * (my - mx @ beta)
    cxx = grouped.comoment[:, :k, :k]
    cxy = grouped.comoment[:, :k, k + target]
    sum_ue = cxy - cxx @ beta + mx * sum_e[:, None]
    scores = np.hstack([sum_e[:, None], sum_ue]) if solution.center else sum_ue
    return scores.T @ scores


def residual_cluster_scores(grouped, coef, shift, center):
    """Per-cluster ``s_g = sum_{i in g} w_i e_i u_i`` for a residual linear in the columns.

    As :func:`residual_row_scores`, from per-cluster statistics of all ``D``
    columns (no rows needed)::

        sum_g w e       = W_g (m_g - shift)' coef
        sum_g w (z-c) e = C_g coef + (m_g - shift) sum_g w e

    Returns an array of shape (G, D + center).
    """
    offset = grouped.mean - shift
    sum_e = grouped.weight_sum * (offset @ coef)
    sum_ue = grouped.comoment @ coef + offset * sum_e[:, None]
    return np.hstack([sum_e[:, None], sum_ue]) if center else sum_ue


def multiway_cluster_cov(multiway, solution, stats, target, nobs, n_params, meats=None):
    """Multi-way CRV1 in the centred parametrisation, and the ``G`` of its t tests.

    ``V = sum_S (-1)^(|S|+1) G_S/(G_S-1) (n-1)/(n-p) B M_S B`` over the
    non-empty subsets ``S`` of the dimensions (``M_S`` the cluster meat of
    the clusters of ``S``'s intersection, ``G_S`` their number): statsmodels'
    ``cov_type="cluster"`` with 2-D groups and pyfixest's ``CRV1`` with
    ``ssc(G_df="conventional")`` (its ``feols`` default, ``G_df="min"``,
    scales every term by ``min G/(min G - 1)`` instead). As both, no eigenvalue fix-up: a
    variance that comes out negative gives a NaN standard error. Inference
    uses ``min_d G_d - 1`` degrees of freedom. Fewer than two clusters in a
    dimension: a warning and NaN. ``meats`` replaces the least-squares meat
    of each subset (in the order of ``multiway.ways``) when an estimator's
    scores differ from the design's (instrumental variables).
    """
    bread = design_bread(solution, stats)
    if meats is None:
        meats = [cluster_meat(grouped, solution, stats, target) for grouped in multiway.grouped]
    return multiway_sandwich(bread, meats, multiway, nobs, n_params)


def multiway_sandwich(bread, meats, multiway, nobs, n_params):
    """``sum_S (-1)^(|S|+1) G_S/(G_S-1) (n-1)/(n-p) B M_S B`` and ``min_d G_d``.

    ``meats`` holds one meat per subset ``S`` of ``multiway.ways``; fewer
    than two clusters in a dimension warn and give NaN.
    """
    n_clusters = min(multiway.n_groups)
    if n_clusters < 2:
        dimension = multiway.n_groups.index(n_clusters)
        warnings.warn(
            f"Cluster-robust errors need at least two clusters in every dimension; "
            f"clusters column {dimension} holds {n_clusters}: standard errors, tests and "
            "intervals are NaN.",
            DegreesOfFreedomWarning,
            stacklevel=4,
        )
        return np.full_like(bread, np.nan), n_clusters
    cov = np.zeros_like(bread)
    for way, n_groups, meat in zip(multiway.ways, multiway.groups_per_way, meats):
        sign = 1.0 if len(way) % 2 else -1.0
        factor = small_sample_factor("cluster", nobs, n_params, n_groups)
        cov += sign * factor * sandwich(bread, meat)
    return cov, n_clusters


def hc_meat_matrix(hc_meat, cov_type):
    """The meat of an HC ``cov_type`` from the second pass's statistics.

    HC2 and HC3 need the leverage-weighted sums of
    :class:`~skbigreg.stats.LeverageOuterProducts`; an estimator whose pass
    gathers only ``sum_i s_i s_i'`` gets a ``ValueError`` for them. A row of
    leverage one makes the HC2/HC3 meat undefined: NaN, with a warning.
    """
    if cov_type not in LEVERAGE_COV_TYPES:
        return hc_meat.matrix
    if not hasattr(hc_meat, "meat"):
        raise ValueError(
            f"cov_type={cov_type!r} needs the rows' leverages, which this estimator's "
            "second pass does not gather; use 'HC0' or 'HC1'."
        )
    if hc_meat.n_unit_leverage:
        warnings.warn(
            f"{hc_meat.n_unit_leverage} row(s) have leverage one (the fit passes through "
            f"them exactly): {cov_type} is undefined, its standard errors, tests and "
            "intervals are NaN.",
            DegreesOfFreedomWarning,
            stacklevel=4,
        )
    return hc_meat.meat(cov_type)


def default_maxlags(n_periods):
    """``floor(4 (T / 100)^(2/9))``: the Bartlett kernel's rule-of-thumb bandwidth.

    The default of linearmodels' Driscoll-Kraay covariance and of
    statsmodels' HAC errors (Newey & West 1994), ``T`` the number of periods.

    Examples
    --------
    >>> default_maxlags(8), default_maxlags(100), default_maxlags(1000)
    (2, 4, 6)
    """
    return int(np.floor(4 * (n_periods / 100.0) ** (2.0 / 9.0)))


def check_maxlags(maxlags, n_periods):
    """The kernel's maximum lag for ``n_periods`` periods (None: :func:`default_maxlags`).

    Raises ``ValueError`` for fewer than two periods, or a lag that is
    negative or not below the number of periods (the period sums have
    autocovariances up to lag ``T - 1`` only).
    """
    if n_periods < 2:
        raise ValueError(
            f"Driscoll-Kraay errors need at least two periods; the data hold {n_periods}: "
            "the scores of one period sum to a single vector, which has no variation "
            "to estimate."
        )
    if maxlags is None:
        return default_maxlags(n_periods)
    if isinstance(maxlags, bool) or not float(maxlags).is_integer():
        raise ValueError(f"maxlags must be a whole number of periods, got {maxlags!r}.")
    if not 0 <= maxlags < n_periods:
        raise ValueError(
            f"maxlags must be at least 0 and below the number of periods ({n_periods}), "
            f"got {maxlags}."
        )
    return int(maxlags)


def kernel_meat(period_sums, maxlags):
    """``Omega = sum_{|l|<=L} (1 - |l|/(L+1)) sum_t s_t s_{t-l}'`` from the period sums.

    ``period_sums`` is ``(T, p)``, one row per period in time order; the lag
    between two periods is their distance in that order (as linearmodels'
    Driscoll-Kraay covariance and statsmodels' ``hac-groupsum`` with periods
    coded ``0..T-1``), so a period with no rows is no gap.

    Examples
    --------
    >>> import numpy as np
    >>> sums = np.array([[1.0], [2.0], [-3.0]])
    >>> kernel_meat(sums, 1)   # 14 + 1/2 * 2 * (1*2 + 2*(-3))
    array([[10.]])
    """
    meat = period_sums.T @ period_sums
    for lag in range(1, maxlags + 1):
        cross = period_sums[lag:].T @ period_sums[:-lag]
        meat += (1.0 - lag / (maxlags + 1.0)) * (cross + cross.T)
    return meat


def driscoll_kraay_meat(period_sums, maxlags):
    """The panel HAC meat from per-period score sums, its lag and its number of periods.

    ``period_sums`` is a :class:`~skbigreg.stats.ClusterSums` keyed by
    period (sorted, as it merges). Returns ``(meat, maxlags, n_periods)``.
    """
    n_periods = len(period_sums.labels)
    maxlags = check_maxlags(maxlags, n_periods)
    return kernel_meat(period_sums.sums, maxlags), maxlags, n_periods


def driscoll_kraay_note(maxlags, n_periods):
    """The summary's note on what the panel HAC errors assumed."""
    return (f"Driscoll-Kraay errors: Bartlett kernel over {n_periods} periods, "
            f"maxlags={maxlags}.")


def sandwich(bread, meat):
    return bread @ meat @ bread
