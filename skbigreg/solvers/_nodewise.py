"""Nodewise lasso: rows of an approximate inverse of a (weighted) Gram matrix.

For a design ``Z`` (already weighted by the square roots of the Hessian
weights, and centred when the model has an intercept) and a column ``j``:

    gamma_j = argmin_g (1/(2n)) ||z_j - Z_{-j} g||^2 + sum_k lambda_jk |g_k|
    tau_j^2 = (1/n) ||z_j - Z_{-j} gamma_j||^2 + sum_k lambda_jk |gamma_jk|
    Theta_j = (e_j - gamma_j) / tau_j^2

(van de Geer, Buehlmann, Ritov & Dezeure, 2014), so that ``Theta`` is an
approximate inverse of ``Z'Z / n``: the Hessian of the mean loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .._compat import enet_coordinate_descent_gram

__all__ = ["NodewiseRows", "approx_inv_cov", "nodewise_rows"]


@dataclass(frozen=True)
class NodewiseRows:
    """Nodewise regressions of some columns on all the others.

    Attributes
    ----------
    columns : ndarray of shape (q,)
        The regressed columns ``j``.
    gamma : ndarray of shape (q, p)
        Coefficients on the other columns; ``gamma[i, columns[i]] == 0``.
    tau2 : ndarray of shape (q,)
        The nodewise weights ``tau_j^2``.
    center : ndarray of shape (p,)
        The column means the design was centred at (zeros without an
        intercept): ``Theta_j (x - center)`` is the intercept-adjusted row.
    """

    columns: np.ndarray
    gamma: np.ndarray
    tau2: np.ndarray
    center: np.ndarray

    def theta(self):
        """Rows ``Theta_j = (e_j - gamma_j) / tau_j^2`` of shape (q, p)."""
        rows = -self.gamma.copy()
        rows[np.arange(len(self.columns)), self.columns] = 1.0
        return rows / self.tau2[:, None]


_RNG = np.random.RandomState(0)  # unused: cyclic coordinate descent


def _one_row(Z, gram, j, penalty, tol, max_iter):
    # gamma_j = argmin (1/(2n)) ||z_j - Z_{-j} g||^2 + sum_k penalty_k |g_k|,
    # by scikit-learn's coordinate descent on the Gram matrix (no pass over rows)
    n, p = Z.shape
    others = np.delete(np.arange(p), j)
    gamma = np.zeros(p)
    lam = penalty[others]
    sub, xy = gram[np.ix_(others, others)], gram[others, j]
    if others.size and np.any(lam > 0):
        level = float(np.mean(lam))
        scale = level / lam  # a per-coefficient penalty = rescaled columns
        coef = enet_coordinate_descent_gram(
            np.zeros(others.size), level * n, 0.0,
            np.ascontiguousarray(sub * np.outer(scale, scale)), xy * scale,
            np.sqrt(gram[j, j : j + 1]),  # only its squared norm z_j'z_j is used
            max_iter, tol, _RNG, False, False,
        )[0]
        gamma[others] = coef * scale
    elif others.size:
        gamma[others] = scipy.linalg.lstsq(Z[:, others], Z[:, j])[0]
    resid = Z[:, j] - Z @ gamma
    tau2 = float(resid @ resid) / n + float(np.sum(lam * np.abs(gamma[others])))
    return gamma, tau2


def nodewise_rows(Z, columns, penalty, center, tol=1e-10, max_iter=10000):
    """Nodewise lasso regressions of ``columns`` of ``Z`` on the other columns.

    Parameters
    ----------
    Z : ndarray of shape (n, p)
        Weighted (and centred, with an intercept) design.
    columns : array-like of int
        Columns to regress.
    penalty : ndarray of shape (p, p)
        ``penalty[j, k]`` is the penalty on column ``k`` in the regression of
        column ``j``; all positive or all zero in each row.
    center : ndarray of shape (p,)
        Recorded in the result (see :class:`NodewiseRows`).
    """
    Z = np.asfortranarray(Z, dtype=np.float64)
    columns = np.asarray(columns, dtype=int)
    gram = Z.T @ Z
    gammas, tau2 = [], []
    for j in columns:
        gamma, t2 = _one_row(Z, gram, j, penalty[j], tol, max_iter)
        gammas.append(gamma)
        tau2.append(t2)
    p = Z.shape[1]
    return NodewiseRows(
        columns=columns,
        gamma=np.array(gammas).reshape(len(columns), p),
        tau2=np.array(tau2),
        center=np.asarray(center, dtype=np.float64),
    )


def approx_inv_cov(rows, n_features):
    """Assemble ``Theta`` (p x p) from :class:`NodewiseRows` covering every column once."""
    theta = np.full((n_features, n_features), np.nan)
    for part in rows:
        theta[part.columns] = part.theta()
    return theta
