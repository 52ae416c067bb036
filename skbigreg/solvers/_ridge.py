"""Ridge regression for many penalties from one spectral decomposition.

# w(α) = (X'WX + αI)⁻¹ X'Wy = V diag(1 / (λ + α)) V'X'Wy,   X'WX = V diag(λ) V'

With an intercept ``X'WX`` and ``X'Wy`` are the centred co-moments and the
(unpenalised) intercept is ``mean_y - mean_x' w``; without, the raw
cross-products. The decomposition costs ``O(K^3)`` once; each extra penalty
costs ``O(K^2 T)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg


@dataclass(frozen=True)
class RidgeSystem:
    """Spectral form of the ridge normal equations.

    Attributes
    ----------
    eigval : ndarray of shape (K,)
        Eigenvalues ``λ`` of ``X'WX`` (clipped at zero).
    eigvec : ndarray of shape (K, K)
        Eigenvectors ``V``.
    projected : ndarray of shape (K, T)
        ``V'X'Wy``.
    mean_x : ndarray of shape (K,)
        Means subtracted (zeros without an intercept).
    mean_y : ndarray of shape (T,)
    """

    eigval: np.ndarray
    eigvec: np.ndarray
    projected: np.ndarray
    mean_x: np.ndarray
    mean_y: np.ndarray


@dataclass(frozen=True)
class RidgePath:
    """Ridge solutions along a grid of penalties.

    Attributes
    ----------
    alphas : ndarray of shape (A,)
    coef : ndarray of shape (A, K, T)
    intercept : ndarray of shape (A, T)
    """

    alphas: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray


def ridge_system(stats, fit_intercept=True):
    """Decompose the statistics once for any number of ridge penalties.

    With TSQR statistics the decomposition is the SVD of the triangular
    factor (``λ = s²``), never forming the squared matrix.

    Parameters
    ----------
    stats : GramStats or QRStats
    fit_intercept : bool

    Returns
    -------
    RidgeSystem
    """
    k = stats.n_features
    if hasattr(stats, "r"):
        system = stats.triangular(center=fit_intercept)
        # R = U S V'  =>  X'WX = V S² V'  and  V'X'Wy = V'R'r_xy = S U'r_xy
        u, s, vt = linalg.svd(system.r_xx, check_finite=False)
        eigval, eigvec = s**2, vt.T
        projected = s[:, None] * (u.T @ system.r_xy)
    else:
        A = stats.moments(center=fit_intercept)
        eigval, eigvec = linalg.eigh(A[:k, :k], check_finite=False)
        projected = eigvec.T @ A[:k, k:]
    if fit_intercept:
        mean_x, mean_y = stats.mean_x, stats.mean_y
    else:
        mean_x, mean_y = np.zeros(k), np.zeros(stats.n_targets)
    return RidgeSystem(np.clip(eigval, 0.0, None), eigvec, projected, mean_x, mean_y)


def ridge_path(system, alphas):
    """Ridge coefficients and intercepts for every penalty in ``alphas``.

    Directions with ``λ + α = 0`` (a null direction and no penalty) get a
    zero coefficient: the minimum-norm solution.

    Parameters
    ----------
    system : RidgeSystem
    alphas : array-like of shape (A,)

    Returns
    -------
    RidgePath
    """
    alphas = np.asarray(alphas, dtype=np.float64).reshape(-1)
    denom = system.eigval[None, :] + alphas[:, None]
    tiny = np.finfo(float).eps * max(system.eigval.max(initial=0.0), 1e-300) * 100
    shrink = np.divide(1.0, denom, out=np.zeros_like(denom), where=denom > tiny)
    # coef[a] = V diag(shrink[a]) V'X'Wy
    coef = np.einsum("kj,aj,jt->akt", system.eigvec, shrink, system.projected)
    intercept = system.mean_y[None, :] - np.einsum("k,akt->at", system.mean_x, coef)
    return RidgePath(alphas, coef, intercept)


def solve_ridge(stats, alpha, fit_intercept=True):
    """Ridge coefficients ``(K, T)`` and intercepts ``(T,)`` for one penalty."""
    path = ridge_path(ridge_system(stats, fit_intercept), [alpha])
    return path.coef[0], path.intercept[0]
