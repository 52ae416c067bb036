"""A small weighted GLM fit by Fisher scoring (IRLS) with step halving.

# beta <- beta + t I(beta)^-1 s(beta),  s = X' w (y - mu) nu,  I = X' diag(w nu h') X

Meant for the few rows a coordinator holds (representatives, block
summaries): the rows are in memory, the system is p x p.

Convergence: the iteration stops when the accepted step satisfies
``max|t delta| <= tol * (1 + max|beta|)``, ``t`` being the step length after
halving. A step is halved (at most 30 times) while the new linear predictor
leaves the link's domain or the deviance increases by more than a
rounding-level ``1e-12`` relative; when no halving helps, the fit stops and
reports ``converged=False`` unless the last step was already within
tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

MAX_HALVINGS = 30


@dataclass(frozen=True)
class IRLSResult:
    """A weighted GLM fit.

    Attributes
    ----------
    coef : ndarray of shape (p,)
    information : ndarray of shape (p, p)
        Expected information ``X' diag(w nu h') X`` at ``coef``, before any
        dispersion scaling (the covariance is ``dispersion * inv(information)``).
    deviance : float
    n_iter : int
    converged : bool
    """

    coef: np.ndarray
    information: np.ndarray
    deviance: float
    n_iter: int
    converged: bool


def fit_glm_irls(X, y, weight, family, link, coef_init=None, tol=1e-10, max_iter=100):
    """Weighted maximum likelihood of a GLM by Fisher scoring.

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Design (include a column of ones for an intercept).
    y : ndarray of shape (n,)
    weight : ndarray of shape (n,)
        Frequency weights (binomial: trial counts, ``y`` a proportion).
    family, link : :class:`skbigreg.glm.Family`, :class:`skbigreg.glm.Link`
    coef_init : ndarray of shape (p,), optional
        Warm start; by default the first step is the classical IRLS step
        from ``mu = family.start_mu(y)``.
    tol : float
    max_iter : int

    Returns
    -------
    IRLSResult

    Notes
    -----
    A singular information matrix (collinear columns, fewer rows than
    parameters) gives the minimum-norm step (``scipy.linalg.lstsq``).
    """
    coef = _start(X, y, weight, family, link) if coef_init is None else np.array(coef_init, float)
    if not link.valid_eta(X @ coef):
        coef = _start(X, y, weight, family, link)
    deviance = family.deviance(y, X @ coef, link, weight)
    converged, n_iter = False, 0
    for n_iter in range(1, max_iter + 1):
        delta = _scoring_direction(X, y, weight, family, link, coef)
        step, new_deviance = _halve(X, y, weight, family, link, coef, delta, deviance)
        if step is None:
            converged = bool(np.max(np.abs(delta), initial=0) <= tol * (1 + np.max(np.abs(coef))))
            break
        coef, deviance = coef + step, new_deviance
        if np.max(np.abs(step), initial=0) <= tol * (1 + np.max(np.abs(coef))):
            converged = True
            break
    information = _information(X, weight, family, link, X @ coef)
    return IRLSResult(coef, information, deviance, n_iter, converged)


def _start(X, y, weight, family, link):
    # one classical IRLS step from mu0: regress the working response z on X
    with np.errstate(all="ignore"):
        eta = link.link(family.start_mu(y))
    if not link.valid_eta(eta):  # e.g. a log link and some y <= 0: start flat
        eta = np.full_like(y, link.link(np.average(y, weights=weight)))
    deriv = link.inverse_deriv(eta)
    z = eta + (y - link.inverse(eta)) / deriv
    w = weight * family.fisher_weight(link, eta)
    root = np.sqrt(w)
    return linalg.lstsq(X * root[:, None], z * root)[0]


def _information(X, weight, family, link, eta):
    w = weight * family.fisher_weight(link, eta)
    return (X * w[:, None]).T @ X


def _scoring_direction(X, y, weight, family, link, coef):
    eta = X @ coef
    score = X.T @ (weight * (y - link.inverse(eta)) * family.nu(link, eta))
    return linalg.lstsq(_information(X, weight, family, link, eta), score)[0]


def _halve(X, y, weight, family, link, coef, delta, deviance):
    """Largest step ``delta / 2^j`` that keeps eta valid and the deviance down."""
    step = delta
    slack = 1e-12 * (abs(deviance) + 1.0)
    for _ in range(MAX_HALVINGS):
        eta = X @ (coef + step)
        if link.valid_eta(eta):
            new_deviance = family.deviance(y, eta, link, weight)
            if np.isfinite(new_deviance) and new_deviance <= deviance + slack:
                return step, new_deviance
        step = step / 2
    return None, deviance
