"""Local penalized GLM fits on one partition's rows (gaussian, poisson, binomial).

Every loss is the weighted *mean* negative log-likelihood

    L(b0, b) = (1/W) sum_i w_i l(y_i, b0 + x_i'b),   W = sum_i w_i,

so that penalties keep the meaning they have in :class:`sklearn.linear_model.Lasso`
and in statsmodels' ``fit_regularized``. Weights are frequency weights: an
integer weight equals repeated rows. The lasso itself is scikit-learn's
coordinate descent; GLMs are fitted by proximal Newton steps (glmnet's
scheme), each step a weighted lasso on the working response.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LinearRegression

__all__ = [
    "FAMILIES",
    "LocalFit",
    "default_penalty",
    "penalized_glm",
    "weighted_column_scale",
]


class Gaussian:
    """Identity link: l = (y - eta)^2 / 2."""

    name = "gaussian"

    def mean(self, eta):
        return eta

    def variance(self, mu):
        return np.ones_like(mu)

    def loss(self, y, eta):
        return 0.5 * (y - eta) ** 2

    def link(self, mu):
        return mu

    def noise_scale(self, y, w):
        return float(np.sqrt(np.average((y - np.average(y, weights=w)) ** 2, weights=w)))


class Poisson:
    """Log link: l = exp(eta) - y eta."""

    name = "poisson"

    def mean(self, eta):
        return np.exp(np.minimum(eta, 700.0))

    def variance(self, mu):
        return mu

    def loss(self, y, eta):
        return np.exp(np.minimum(eta, 700.0)) - y * eta

    def link(self, mu):
        return np.log(np.maximum(mu, 1e-12))

    def noise_scale(self, y, w):
        # rms of sd(y | x) = sqrt(E mu) = sqrt(E y)
        return float(np.sqrt(np.average(y, weights=w)))


class Binomial:
    """Logit link: l = log(1 + exp(eta)) - y eta."""

    name = "binomial"

    def mean(self, eta):
        return expit(eta)

    def variance(self, mu):
        return mu * (1.0 - mu)

    def loss(self, y, eta):
        return np.logaddexp(0.0, eta) - y * eta

    def link(self, mu):
        return logit(np.clip(mu, 1e-12, 1 - 1e-12))

    def noise_scale(self, y, w):
        p = np.average(y, weights=w)
        return float(np.sqrt(p * (1.0 - p)))


FAMILIES = {f.name: f for f in (Gaussian(), Poisson(), Binomial())}


@dataclass(frozen=True)
class LocalFit:
    """A penalized fit on one partition."""

    coef: np.ndarray
    intercept: float
    n_iter: int


def weighted_column_scale(X, w, fit_intercept):
    """Weighted standard deviation of each column (root mean square without intercept)."""
    center = np.average(X, axis=0, weights=w) if fit_intercept else 0.0
    return np.sqrt(np.average((X - center) ** 2, axis=0, weights=w))


def _lasso(X, z, w, alpha, fit_intercept, tol, max_iter):
    # min (1/(2 sum w)) sum w (z - b0 - Xb)^2 + sum_j alpha_j |b_j|
    if not np.any(alpha > 0):
        reg = LinearRegression(fit_intercept=fit_intercept).fit(X, z, sample_weight=w)
        return reg.coef_, float(reg.intercept_), 1
    # a per-coefficient penalty is a common penalty on rescaled columns
    level = float(np.mean(alpha))
    scale = level / alpha
    reg = Lasso(alpha=level, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter)
    reg.fit(X * scale, z, sample_weight=w)
    return reg.coef_ * scale, float(reg.intercept_), max(int(reg.n_iter_), 1)


def _objective(family, X, y, w, alpha, coef, intercept):
    eta = X @ coef + intercept
    return np.average(family.loss(y, eta), weights=w) + np.sum(alpha * np.abs(coef))


def penalized_glm(X, y, w, alpha, family, fit_intercept, tol=1e-8, max_iter=1000):
    """Minimize ``L(b0, b) + sum_j alpha_j |b_j|`` (intercept unpenalized).

    ``alpha`` has one entry per column, all positive or all zero.
    """
    family = FAMILIES[family]
    if family.name == "gaussian":
        return LocalFit(*_lasso(X, y, w, alpha, fit_intercept, tol, max_iter))
    return _proximal_newton(X, y, w, alpha, family, fit_intercept, tol, max_iter)


def _proximal_newton(X, y, w, alpha, family, fit_intercept, tol, max_iter):
    # Newton step: weighted lasso on the working response z = eta - (mu - y) / v,
    # weights w v; then backtrack on the penalized objective.
    coef = np.zeros(X.shape[1])
    intercept = float(family.link(np.average(y, weights=w))) if fit_intercept else 0.0
    objective = _objective(family, X, y, w, alpha, coef, intercept)
    total = w.sum()
    for n_iter in range(1, 101):
        eta = X @ coef + intercept
        mu = family.mean(eta)
        v = np.maximum(family.variance(mu), 1e-12)
        h = w * v
        # sklearn normalizes weights to their sum; rescale alpha accordingly
        new_coef, new_intercept, _ = _lasso(
            X, eta - (mu - y) / v, h, alpha * total / h.sum(), fit_intercept,
            tol * 1e-2, max_iter,
        )
        step = 1.0
        while True:
            trial = coef + step * (new_coef - coef)
            trial_b0 = intercept + step * (new_intercept - intercept)
            new_objective = _objective(family, X, y, w, alpha, trial, trial_b0)
            if new_objective <= objective + 1e-13 * abs(objective) or step < 1e-10:
                break
            step /= 2
        change = max(np.max(np.abs(trial - coef), initial=0.0), abs(trial_b0 - intercept))
        coef, intercept, objective = trial, trial_b0, new_objective
        if change <= tol * (1.0 + np.max(np.abs(coef), initial=0.0)):
            return LocalFit(coef, intercept, n_iter)
    warnings.warn(
        f"The proximal Newton fit ({family.name}) did not converge in {n_iter} "
        "steps; the data may be separable or the penalty too small.",
        ConvergenceWarning,
        stacklevel=2,
    )
    return LocalFit(coef, intercept, n_iter)


def default_penalty(X, y, w, family, fit_intercept, tol=1e-8, max_iter=1000):
    """Default penalty ``alpha_j = sigma * s_j * sqrt(2 log p / W)`` and ``sigma``.

    ``s_j`` is the weighted standard deviation of column j, so the penalty is
    ``sigma * sqrt(2 log p / W)`` in the units of standardized columns (``p``
    is floored at 2). ``sigma`` is the noise level: for the gaussian family
    the scaled lasso (Sun & Zhang, 2012) -- iterate ``alpha <- sigma * ...``,
    ``sigma <- sqrt(RSS / (W - df))``; for poisson ``sqrt(mean y)`` and for
    binomial ``sqrt(p (1 - p))``, the root mean square of ``sd(y | x)``.
    """
    total = w.sum()
    scale = weighted_column_scale(X, w, fit_intercept)
    scale = np.where(scale > 0, scale, 1.0)  # constant columns: any penalty fits
    base = scale * np.sqrt(2.0 * np.log(max(X.shape[1], 2)) / total)
    fam = FAMILIES[family]
    sigma = fam.noise_scale(y, w)
    if family != "gaussian" or sigma == 0:
        return base * sigma, sigma
    for _ in range(30):
        fit = penalized_glm(X, y, w, base * sigma, family, fit_intercept, tol, max_iter)
        resid = y - X @ fit.coef - fit.intercept
        dof = np.count_nonzero(fit.coef) + fit_intercept
        new_sigma = float(np.sqrt(np.sum(w * resid**2) / max(total - dof, 1.0)))
        converged = abs(new_sigma - sigma) <= 1e-6 * sigma
        sigma = new_sigma
        if converged or sigma == 0:
            break
    return base * sigma, sigma
