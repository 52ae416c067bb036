"""Results of a least-squares (or 2SLS) fit, from its statistics alone."""

from __future__ import annotations

import numpy as np

from ._covariance import (
    COV_TYPES,
    PANEL_COV_TYPES,
    cluster_meat,
    design_bread,
    driscoll_kraay_meat,
    driscoll_kraay_note,
    hc_meat_matrix,
    multiway_cluster_cov,
    residual_variance,
    sandwich,
    small_sample_factor,
    to_reported,
    warn_if_no_residual_dof,
)
from ._results import RegressionResults, pick_target_name


def regression_results(
    solution,
    stats,
    *,
    target=0,
    cov_type="nonrobust",
    names=None,
    target_name="y",
    hc_meat=None,
    clusters=None,
    weight_type="analytic",
    use_t=None,
    cluster_meat_matrix=None,
    period_sums=None,
    maxlags=None,
    **labels,
):
    """Build :class:`RegressionResults` for one target from statistics.

    ``hc_meat`` is the second pass's
    :class:`~skbigreg.stats.LeverageOuterProducts` (HC types; an
    :class:`~skbigreg.stats.OuterProductStats` serves HC0 and HC1); ``clusters`` the :class:`~skbigreg.stats.GroupedGramStats`
    (cluster type), or a :class:`~skbigreg.stats.MultiwayGroupedStats` for
    multi-way CRV1 (:func:`multiway_cluster_cov`). ``use_t=None`` follows statsmodels: t for nonrobust,
    normal for robust covariances. ``cluster_meat_matrix`` replaces the
    least-squares cluster meat ``sum_g s_g s_g'`` (in the centred
    parametrisation) when an estimator's scores differ from those of the
    design, e.g. instrumental variables; ``clusters`` then only gives ``G``
    (multi-way: a list of meats, one per subset of ``clusters.ways``).
    ``period_sums`` are the second pass's per-period score sums of this
    target (a :class:`~skbigreg.stats.ClusterSums` keyed by period; the
    ``"driscoll-kraay"`` type), weighted across periods by a Bartlett
    kernel up to ``maxlags`` (None: ``floor(4 (T/100)^(2/9))``); t tests then
    use ``T - 1`` degrees of freedom (Hoechle's ``xtscc``).
    ``target_name`` is what :func:`target_name` recorded (a name, or one per
    target); ``labels`` are further :class:`RegressionResults` fields
    (``model``, ``method``, ``title``, ``wald_f``, ...).
    """
    if cov_type not in COV_TYPES + PANEL_COV_TYPES:
        raise ValueError(
            f"cov_type must be one of {COV_TYPES + PANEL_COV_TYPES}, got {cov_type!r}."
        )
    if cov_type in PANEL_COV_TYPES and period_sums is None:
        raise ValueError(f"cov_type={cov_type!r} needs the per-period score sums (periods=).")
    center = solution.center
    nobs = int(stats.n_rows) if weight_type == "analytic" else float(stats.weight_sum)
    n_params = int(solution.rank + center)
    df_resid = nobs - n_params
    warn_if_no_residual_dof(nobs, n_params)
    ssr = float(solution.rss[target, target])
    k = stats.n_features
    tss = float(stats.moments(center=center)[k + target, k + target])
    bread = design_bread(solution, stats)
    n_clusters = None
    df_inference = df_resid
    with np.errstate(divide="ignore", invalid="ignore"):
        if cov_type == "nonrobust":
            cov = bread * residual_variance(ssr, df_resid)
        elif cov_type.startswith("HC"):
            meat = hc_meat_matrix(hc_meat, cov_type)
            cov = sandwich(bread, meat) * small_sample_factor(cov_type, nobs, n_params)
        elif cov_type == "driscoll-kraay":
            meat, maxlags, n_periods = driscoll_kraay_meat(period_sums, maxlags)
            factor = small_sample_factor(cov_type, nobs, n_params, n_periods)
            cov = sandwich(bread, meat) * factor
            df_inference = n_periods - 1
            labels["notes"] = (driscoll_kraay_note(maxlags, n_periods),
                               *labels.get("notes", ()))
        elif hasattr(clusters, "ways"):
            cov, n_clusters = multiway_cluster_cov(clusters, solution, stats, target,
                                                   nobs, n_params, cluster_meat_matrix)
            df_inference = n_clusters - 1
        else:
            n_clusters = int(clusters.n_groups)
            meat = cluster_meat_matrix
            if meat is None:
                meat = cluster_meat(clusters, solution, stats, target)
            factor = small_sample_factor("cluster", nobs, n_params, n_clusters)
            cov = sandwich(bread, meat) * factor
            df_inference = n_clusters - 1
    cov = to_reported(cov, solution, stats)
    params = solution.coef[:, target]
    if center:
        params = np.concatenate([[solution.intercept[target]], params])
    if names is None:
        names = [f"x{i}" for i in range(k)]
    return RegressionResults(
        params=params,
        cov=cov,
        names=(["const"] if center else []) + [str(n) for n in names],
        cov_type=cov_type,
        nobs=nobs,
        df_model=int(solution.rank),
        df_resid=df_resid,
        ssr=ssr,
        tss=tss,
        has_intercept=center,
        use_t=(cov_type == "nonrobust") if use_t is None else bool(use_t),
        df_inference=float(df_inference),
        n_clusters=n_clusters,
        target=pick_target_name(target_name, target),
        **labels,
    )
