"""What the estimators with absorbed fixed effects share: results, effects, offsets.

A model with ``G`` absorbed effects is solved from within co-moments; its
inference counts the effects in the degrees of freedom as fixest does, and
its predictions add each row's effect ``a_e = m_y,e - m_x,e' b``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import CollinearityWarning
from ..inference import RegressionResults, small_sample_factor
from ..inference._covariance import residual_variance, warn_if_no_residual_dof
from ._hdfe import one_factor, row_offsets


def absorbed_results(solution, stats, within, *, n_levels, cov_type, meat=None, n_clusters=None,
                     absorbed_dof=None, names, target="y", use_t=True, cov=None, **labels):
    """:class:`RegressionResults` of a within model in fixest's conventions.

    ``solution`` is the solve of the within co-moments (``bread``, ``rss``,
    ``rank``, ``coef``); ``stats`` and ``within`` the total and within
    statistics (for R²). Nonrobust ``s^2 = RSS / (n - K - G)``; robust
    sandwiches ``B meat B`` scaled by :func:`small_sample_factor` with
    ``K + absorbed_dof`` parameters (``absorbed_dof`` defaults to ``G``;
    fixest counts effects nested in the clusters as one). ``cov``, when
    given, is the covariance already computed by the caller (multi-way
    clusters; the fixed-effects estimator's robust errors).
    """
    n, rank = int(stats.n_rows), int(solution.rank)
    warn_if_no_residual_dof(n, rank + n_levels)
    df_resid = n - rank - n_levels
    ssr = float(solution.rss[0, 0])
    absorbed_dof = n_levels if absorbed_dof is None else absorbed_dof
    df_inference = n_clusters - 1 if n_clusters is not None else df_resid
    with np.errstate(divide="ignore", invalid="ignore"):
        if cov is not None:
            pass
        elif cov_type == "nonrobust":
            cov = solution.bread * residual_variance(ssr, df_resid)
        else:
            factor = small_sample_factor(cov_type, n, rank + absorbed_dof, n_clusters)
            cov = solution.bread @ meat @ solution.bread * factor
    return RegressionResults(
        params=solution.coef[:, 0].copy(),
        cov=cov,
        names=[str(name) for name in names],
        cov_type=cov_type,
        nobs=n,
        df_model=rank,
        df_resid=df_resid,
        ssr=ssr,
        tss=float(stats.comoment[-1, -1]),
        tss_within=float(within.comoment[-1, -1]),
        n_absorbed=int(n_levels),
        has_intercept=False,
        use_t=use_t,
        df_inference=float(df_inference),
        n_clusters=n_clusters,
        target=target,
        **labels,
    )


def level_effects(level_stats, coef):
    """``a_e = m_y,e - m_x,e' b`` per level, a Series indexed by the level labels."""
    k = len(coef)
    values = level_stats.mean[:, k] - level_stats.mean[:, :k] @ coef
    return pd.Series(values, index=pd.Index(level_stats.labels, name="entity"), name="effect")


def prediction_offsets(estimator, entities):
    """Each row's effect in a prediction: its level's (the sum over the factors
    with several), ``intercept_`` for a level not seen in fit or without ``entities``."""
    if entities is None:
        return estimator.intercept_
    if estimator._is_multiway():
        return row_offsets(estimator.effects(), entities, estimator.intercept_)
    return row_effects(estimator.effects(), one_factor(entities), estimator.intercept_)


def row_effects(effects, entities, default):
    """Each row's effect; ``default`` for rows without a level seen in fit."""
    known = effects.reindex(np.asarray(entities)).to_numpy()
    return np.where(np.isnan(known), default, known)


def warn_absorbed(names, columns):
    """Name the columns the effects absorb; say when no identification is left.

    ``columns`` are the :class:`~skbigreg.solvers._iv.IVColumns` left after
    dropping them.
    """
    if not len(names):
        return
    endogenous, excluded = len(columns.endogenous), len(columns.excluded)
    identified = "" if excluded >= endogenous else (
        f"; {excluded} excluded instruments are left for {endogenous} endogenous "
        "regressors, so the model is not identified")
    warnings.warn(
        f"Columns {[str(name) for name in names]} are constant within every level of "
        "entities (absorbed by the effects): regressors among them get coefficient 0, "
        f"instruments among them are dropped{identified}.",
        CollinearityWarning,
        stacklevel=6,
    )
