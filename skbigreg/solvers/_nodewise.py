"""Nodewise lasso: rows of an approximate inverse of a (weighted) Gram matrix.

For a design ``Z`` (already weighted by the square roots of the Hessian
weights, and centred when the model has an intercept) and a column ``j``:

    gamma_j = argmin_g (1/(2n)) ||z_j - Z_{-j} g||^2 + sum_k lambda_jk |g_k|
    tau_j^2 = (1/n) ||z_j - Z_{-j} gamma_j||^2 + sum_k lambda_jk |gamma_jk|
    Theta_j = (e_j - gamma_j) / tau_j^2

(van de Geer, Buehlmann, Ritov & Dezeure, 2014), so that ``Theta`` is an
approximate inverse of ``Z'Z / n``: the Hessian of the mean loss. The
row pass that builds ``Z`` and the Gram matrix is
:func:`skbigreg.passes.nodewise_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compat import enet_coordinate_descent_gram

__all__ = ["NodewiseRows", "approx_inv_cov", "nodewise_lasso"]


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


def nodewise_lasso(gram, j, penalty, n_samples, tol=1e-10, max_iter=10000):
    """Coefficients of column ``j`` on the others, from the Gram matrix ``Z'Z``.

    ``gamma_j = argmin (1/(2n)) ||z_j - Z_{-j} g||^2 + sum_k penalty_k |g_k|``,
    by scikit-learn's coordinate descent on the Gram matrix (no pass over
    rows). ``penalty`` (shape (p,)) must be positive on the other columns.

    Returns
    -------
    gamma : ndarray of shape (p,)
        ``gamma[j] == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.solvers import nodewise_lasso
    >>> gram = np.array([[4.0, 2.0], [2.0, 4.0]])   # Z'Z of 4 rows
    >>> nodewise_lasso(gram, 0, np.full(2, 0.1), 4).round(6).tolist()
    [0.0, 0.4]
    """
    p = gram.shape[0]
    others = np.delete(np.arange(p), j)
    lam = penalty[others]
    gamma = np.zeros(p)
    sub, xy = gram[np.ix_(others, others)], gram[others, j]
    level = float(np.mean(lam))
    scale = level / lam  # a per-coefficient penalty = rescaled columns
    coef = enet_coordinate_descent_gram(
        np.zeros(others.size), level * n_samples, 0.0,
        np.ascontiguousarray(sub * np.outer(scale, scale)), xy * scale,
        np.sqrt(gram[j, j : j + 1]),  # only its squared norm z_j'z_j is used
        max_iter, tol, _RNG, False, False,
    )[0]
    gamma[others] = coef * scale
    return gamma


def approx_inv_cov(rows, n_features):
    """Assemble ``Theta`` (p x p) from :class:`NodewiseRows` covering every column once."""
    theta = np.full((n_features, n_features), np.nan)
    for part in rows:
        theta[part.columns] = part.theta()
    return theta
