"""The SMR iteration on representatives (Li & Yang), apart from the rows.

# beta^(t+1) = argmax_beta sum_k n_k loglik(ybar_k; h(x*_k' beta)),  x*_k built at beta^(t)

Solver inputs that stay fixed for a fit (:class:`SMRSettings`) are kept
apart from the iteration state (the current coefficients and the
representatives built there). Each iteration needs one pass over the rows;
the pass is the caller's (a function from ``beta`` to representatives, see
:func:`skbigreg.passes.representative_pass`), so nothing here sees a row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..exceptions import CollinearityWarning
from ..stats._representatives import RepresentativeSets
from ._irls import fit_glm_irls
from ._representatives import chunk_representatives

__all__ = [
    "RepresentativeFit",
    "SMRInference",
    "SMRSettings",
    "choose_sign_split",
    "contraction",
    "linearised_root",
    "rebuilt_representatives",
    "smr_inference",
    "smr_iterations",
    "solve_on_representatives",
]

# Under sign_split="auto", the bounding-box split is used when the fit on its
# representatives is predicted to shrink the distance to the full-data MLE at
# least this much per iteration (spectral radius of I - I_R^-1 I).
_CONTRACTION = 0.5


@dataclass(frozen=True)
class SMRSettings:
    """What the iteration needs besides the representatives (fixed for a fit)."""

    family: object
    link: object
    sign_split: str
    tol: float
    max_iter: int


@dataclass(frozen=True)
class RepresentativeFit:
    """A weighted GLM fit on representatives, with its information."""

    coef: np.ndarray
    representatives: object
    information: np.ndarray
    converged: bool


@dataclass(frozen=True)
class SMRInference:
    """Dispersion, covariance and numerical rank of an SMR fit."""

    dispersion: float
    cov_params: np.ndarray
    rank: int


def solve_on_representatives(reps, settings, coef_init=None):
    """Weighted maximum likelihood on the representatives (IRLS)."""
    fit = fit_glm_irls(
        reps.X, reps.y, reps.weight, settings.family, settings.link,
        coef_init=coef_init, tol=settings.tol, max_iter=settings.max_iter,
    )
    if not np.all(np.isfinite(fit.coef)):
        raise ValueError(
            "The fit on the representatives diverged (non-finite coefficients); "
            "try a finer partition or more rows per block."
        )
    return RepresentativeFit(fit.coef, reps, fit.information, fit.converged)


def contraction(reps, beta, settings):
    """Spectral radius of ``I - I_R^-1 I`` at ``beta``: the factor by which one
    SMR step shrinks the distance to the full-data MLE, to first order.

    Near the MLE the fit on the representatives moves ``beta`` by
    ``I_R^-1 s(beta)`` (``I_R`` the representatives' information, ``s`` the
    rows' score, which they carry), where Fisher scoring on the rows would
    move it by ``I^-1 s(beta)`` (``I`` the rows' information).
    """
    eta = reps.X @ beta
    fisher = reps.weight * settings.family.fisher_weight(settings.link, eta)
    rep_information = (reps.X * fisher[:, None]).T @ reps.X
    try:  # the eigenvalues of I_R^-1 I; I_R must be positive definite
        ratios = linalg.eigh(reps.information, rep_information, eigvals_only=True)
    except (linalg.LinAlgError, ValueError):
        return np.inf
    return float(np.max(np.abs(1.0 - ratios))) if np.all(np.isfinite(ratios)) else np.inf


def choose_sign_split(sets, beta, settings):
    """The sign-split rule for this iteration, and its representatives.

    The bounding-box split when it contracts by ``_CONTRACTION`` or better;
    otherwise the split of rootless blocks only. Splitting removes the
    representatives that leave their blocks, which near the MLE inflate
    ``I_R`` and stall the iteration (factor ~1), but its pieces sit near the
    blocks' means and miss the rows' spread inside the blocks: on coarse
    blocks ``I_R`` is then too small and the step overshoots (factor ~1 or
    more). The rows' information the nodes send decides which holds.
    """
    if contraction(sets.hull, beta, settings) < _CONTRACTION:
        return "hull", sets.hull
    return "no_root", sets.no_root


def smr_iterations(represent, first, start, n_iter, settings):
    """``n_iter`` SMR steps from ``start``; ``first`` is returned when there are none.

    ``represent(beta, last)`` makes one pass over the rows at ``beta`` and
    returns their merged representatives (:class:`RepresentativeSets` under
    ``sign_split="auto"``); ``last`` says whether it is the final pass (whose
    rows' information gives the standard errors). Returns the final fit and
    the sign-split rule of each step.
    """
    fit, rules, coef = first, [], start
    for step in range(1, n_iter + 1):
        reps = represent(coef, step == n_iter)
        rule = settings.sign_split
        if isinstance(reps, RepresentativeSets):
            rule, reps = choose_sign_split(reps, coef, settings)
        rules.append(rule)
        fit = solve_on_representatives(reps, settings, coef)
        coef = fit.coef
    return fit, rules


def linearised_root(chunks):
    """Root of sum_c [S_c - I_c (beta - beta_c)] = 0 over the chunks' stored sums."""
    # beta = (sum_c I_c)^-1 sum_c (S_c + I_c beta_c)
    information = sum(chunk.information.sum(axis=0) for chunk in chunks)
    rhs = sum(chunk.sums.score.sum(axis=0) + chunk.information.sum(axis=0) @ chunk.beta
              for chunk in chunks)
    return linalg.lstsq(information, rhs)[0]


def rebuilt_representatives(chunks, beta, settings):
    """All chunks' representatives at ``beta``, from their stored piece sums."""
    # the linearised root already moves like Fisher scoring on the rows: the
    # rule hardly matters there, and "auto" keeps the paper's
    rule = "no_root" if settings.sign_split == "auto" else settings.sign_split
    reps = [chunk_representatives(chunk, beta, settings.family, settings.link, rule)
            for chunk in chunks]
    total = reps[0]
    for more in reps[1:]:
        total = total + more
    return total.sorted()


def smr_inference(fit, has_dispersion, names):
    """Dispersion and ``cov = dispersion * I^-1`` of a fit on representatives.

    The dispersion is 1 for binomial and Poisson, else the rows' Pearson sum
    over the weight sum minus the rank (NaN without residual degrees of
    freedom, so are then the standard errors).

    ``I`` is the rows' information from the last pass when there was one
    (SMR), else the representatives' own (MR). When the representatives'
    design is rank deficient in column-scaled coordinates (constant,
    duplicated or collinear columns, fewer rows or blocks than parameters) a
    :class:`~skbigreg.exceptions.CollinearityWarning` names the rank, and the
    covariance is the pseudo-inverse of ``I`` in those coordinates, as
    statsmodels' and the least-squares estimators': only estimable
    combinations of the parameters have meaningful standard errors.
    """
    reps = fit.representatives
    n_params = fit.coef.size
    information = fit.information if reps.information is None else reps.information
    # the rank of the representatives' design, not of the information: under
    # separation the Fisher weights vanish and the information is singular
    # without any collinearity
    rank = _scaled_pseudo_inverse((reps.X * reps.weight[:, None]).T @ reps.X)[0]
    if has_dispersion:
        # residual degrees of freedom as statsmodels: weight sum minus rank
        df = reps.weight.sum() - rank
        dispersion = reps.pearson / df if df > 0 else np.nan
    else:
        dispersion = 1.0
    if rank == n_params:
        cov = dispersion * np.linalg.pinv(information, hermitian=True)
    else:
        _warn_rank(rank, n_params, reps, names)
        cov = dispersion * _scaled_pseudo_inverse(information)[1]
    return SMRInference(float(dispersion), cov, rank)


def _scaled_pseudo_inverse(information):
    """Numerical rank and pseudo-inverse of ``information`` with unit diagonal."""
    d = np.sqrt(np.clip(np.diag(information), 0.0, None))
    scale = np.where(d > 0, d, 1.0)
    eigval, eigvec = np.linalg.eigh(information / np.outer(scale, scale))
    # rounding leaves null eigenvalues of a unit-diagonal matrix near p * eps
    k = information.shape[0]
    tol = 100 * max(k, 1) * np.finfo(float).eps * max(eigval.max(initial=0.0), 1e-300)
    keep = eigval > tol
    inverse = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
    return int(keep.sum()), inverse / np.outer(scale, scale)


def _warn_rank(rank, n_params, reps, names):
    zero = [name for name, column in zip(names, reps.X.T) if not np.any(column)]
    detail = f" Columns that are all zero: {zero}." if zero else ""
    warnings.warn(
        f"The design is rank deficient (numerical rank {rank} of {n_params} "
        f"parameters): constant, duplicated or collinear columns, or fewer rows "
        f"than parameters.{detail} The coefficients are a minimum-norm solution and "
        "the covariance is a pseudo-inverse: only estimable combinations of the "
        "parameters are meaningful.",
        CollinearityWarning,
        stacklevel=4,
    )
