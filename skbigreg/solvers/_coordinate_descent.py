"""Elastic net (and lasso) paths by coordinate descent on the Gram matrix.

# min_w 1/(2W) Σ w_i (y_i - b - x_i'w)² + α ρ ‖w‖₁ + α (1 - ρ)/2 ‖w‖²

scikit-learn's objective, with ``W`` the weight sum (sklearn rescales the
weights to sum to ``n``, which is the same problem). Divided by ``W`` the
problem needs only ``G = X'WX / W``, ``c = X'Wy / W`` and ``y'Wy / W``
(centred with an intercept). Coordinate descent runs in scikit-learn's
compiled Gram kernel, stopped by the same duality-gap test
(``gap <= tol * y'Wy / W``), with warm starts along the path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compat import enet_coordinate_descent_gram


@dataclass(frozen=True)
class GramProblem:
    """The elastic-net data term reduced to weighted-mean moments, one target.

    Attributes
    ----------
    gram : ndarray of shape (K, K)
        ``X'WX / W`` (C-contiguous).
    xy : ndarray of shape (K,)
        ``X'Wy / W``.
    yy : float
        ``y'Wy / W``.
    mean_x : ndarray of shape (K,)
        Means subtracted (zeros without an intercept).
    mean_y : float
    """

    gram: np.ndarray
    xy: np.ndarray
    yy: float
    mean_x: np.ndarray
    mean_y: float


@dataclass(frozen=True)
class ElasticNetPath:
    """Solutions along a grid of penalties, one target.

    Attributes
    ----------
    alphas : ndarray of shape (A,)
    coef : ndarray of shape (A, K)
    intercept : ndarray of shape (A,)
    dual_gap : ndarray of shape (A,)
        Achieved duality gaps (in units of the ``1/W`` objective).
    n_iter : ndarray of shape (A,)
    """

    alphas: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    dual_gap: np.ndarray
    n_iter: np.ndarray


def gram_problems(stats, fit_intercept=True):
    """One :class:`GramProblem` per target of ``stats`` (GramStats or QRStats)."""
    k = stats.n_features
    scale = stats.weight_sum if stats.weight_sum > 0 else 1.0
    A = stats.moments(center=fit_intercept) / scale
    gram = np.ascontiguousarray(A[:k, :k])
    if fit_intercept:
        mean_x, mean_y = stats.mean_x, stats.mean_y
    else:
        mean_x, mean_y = np.zeros(k), np.zeros(stats.n_targets)
    return [
        GramProblem(gram, np.ascontiguousarray(A[:k, k + t]), float(A[k + t, k + t]),
                    mean_x, float(mean_y[t]))
        for t in range(stats.n_targets)
    ]


def alpha_grid(xy, l1_ratio=1.0, eps=1e-3, n_alphas=100, positive=False):
    """scikit-learn's default grid: ``n_alphas`` log-spaced from ``alpha_max`` down.

    # alpha_max = max_j ‖(X'Wy / W)_j‖₂ / ρ   (the smallest α with w = 0)

    Parameters
    ----------
    xy : ndarray of shape (K,) or (K, T)
        ``X'Wy / W`` (centred with an intercept), as in :class:`GramProblem`.
    l1_ratio, eps, n_alphas, positive
        As scikit-learn's ``ElasticNetCV``.

    Raises
    ------
    ValueError
        For ``l1_ratio=0``: without an L1 penalty no finite ``α`` gives ``w = 0``.
    """
    if l1_ratio <= 0:
        raise ValueError(f"alpha_grid needs l1_ratio > 0, got {l1_ratio!r}.")
    xy = np.asarray(xy).reshape(len(xy), -1)
    if positive:
        top = max(0.0, xy.max(initial=0.0))
    else:
        top = np.sqrt((xy**2).sum(axis=1).max(initial=0.0))
    alpha_max = top / l1_ratio
    resolution = np.finfo(np.float64).resolution
    if alpha_max <= resolution:
        return np.full(n_alphas, resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def enet_path_gram(problem, alphas, l1_ratio=1.0, *, max_iter=1000, tol=1e-4,
                   positive=False, coef_init=None):
    """Elastic-net solutions for each penalty in ``alphas``, warm-started in order.

    Parameters
    ----------
    problem : GramProblem
    alphas : array-like of shape (A,)
        Solved in the given order (decreasing is fastest).
    l1_ratio : float
    max_iter : int
        Maximum coordinate-descent sweeps per penalty.
    tol : float
        Stop when the duality gap is below ``tol * y'Wy / W``.
    positive : bool
    coef_init : ndarray of shape (K,), optional

    Returns
    -------
    ElasticNetPath
    """
    alphas = np.asarray(alphas, dtype=np.float64).reshape(-1)
    k = problem.gram.shape[0]
    if problem.yy <= 0:
        return _constant_target_path(problem, alphas)
    w = np.zeros(k) if coef_init is None else np.array(coef_init, dtype=np.float64)
    # The kernel reads y only through y'y: a one-element vector of that norm will do.
    y_norm = np.array([np.sqrt(max(problem.yy, 0.0))])
    rng = np.random.RandomState(0)  # only used by random selection, which we do not use
    coefs = np.empty((len(alphas), k))
    gaps = np.empty(len(alphas))
    iters = np.empty(len(alphas), dtype=np.int64)
    for i, alpha in enumerate(alphas):
        if k:
            w, gaps[i], _, iters[i] = enet_coordinate_descent_gram(
                w, alpha * l1_ratio, alpha * (1.0 - l1_ratio), problem.gram,
                problem.xy, y_norm, max_iter, tol, rng, False, positive,
            )
        else:
            gaps[i], iters[i] = 0.0, 0
        coefs[i] = w
    intercept = problem.mean_y - coefs @ problem.mean_x
    return ElasticNetPath(alphas, coefs, intercept, gaps, iters)


def _constant_target_path(problem, alphas):
    """The path when ``y'Wy / W = 0``: ``w = 0`` for every penalty, gap 0.

    # y = 0 (centred)  =>  X'y = 0  =>  ½w'X'Xw + penalty(w) >= 0 = value at w = 0

    With ``y'y = 0`` the kernel's tolerance ``tol * y'y`` is 0, which only an
    exactly zero gap meets; statistics gathered by subtraction (a one-row
    training fold = all rows minus the rest) leave rounding-level ``X'X`` and
    ``X'y`` whose gap never is, hence a spurious ConvergenceWarning. The
    minimiser is known exactly, so it is returned without iterating.
    """
    n, k = len(alphas), problem.gram.shape[0]
    coefs = np.zeros((n, k))
    intercept = np.full(n, problem.mean_y)
    return ElasticNetPath(alphas, coefs, intercept, np.zeros(n), np.zeros(n, dtype=np.int64))
