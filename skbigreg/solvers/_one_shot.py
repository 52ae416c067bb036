"""One-shot distributed sparse regression: average the partitions, debias.

Lee, Liu, Sun & Taylor (2017), "Communication-efficient sparse regression".
Per partition k (weight W_k = sum of its sample weights):

    b_k    = argmin L_k(b) + sum_j alpha_j |b_j|                 (local fit)
    g_k    = grad L_k(b_k)                                       (local gradient)
    Theta  ~ (hessian of L)^-1                                   (nodewise lasso)

``nodewise="local"``: every partition debiases itself,
``d_k = b_k - Theta_k g_k``, and the coordinator averages ``d = sum W_k d_k / W``.
``nodewise="split"``: partition k computes the nodewise rows of its share of
the columns; the coordinator averages ``b`` and ``g`` and returns
``d = b_bar - Theta g_bar``.

Standard errors: ``d - b* ~ -Theta grad L(b*)``, so
``Var(d) = Theta S Theta' / W`` with ``S`` the mean outer product of the scores
(the sandwich of the debiased-lasso literature).

The map -- a partition's rows to its :class:`PartitionResult` -- is the row
pass :func:`skbigreg.passes.fit_partition`; this module combines the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._nodewise import NodewiseRows, approx_inv_cov

__all__ = [
    "OneShotFit",
    "OneShotSettings",
    "PartitionResult",
    "check_partition_results",
    "combine_partitions",
    "split_columns",
]


@dataclass(frozen=True)
class OneShotSettings:
    """Everything a partition needs besides its rows (validated upstream)."""

    family: str
    method: str  # "debiased", "naive", "naive_unregularized"
    nodewise: str  # "local", "split"
    fit_intercept: bool
    alpha: object  # None (default penalty), or ndarray of shape (p,)
    nodewise_alpha: object  # None, or ndarray of shape (p,)
    tol: float
    max_iter: int


@dataclass(frozen=True)
class PartitionResult:
    """What leaves one partition (one machine).

    Attributes
    ----------
    label : object
        The partition's label.
    n_samples : int
        Rows in the partition.
    weight : float
        ``W_k``, the sum of the sample weights (rows when unweighted).
    n_iter : int
        Iterations of the local fit.
    sigma : float
        Noise level used by the default penalty (nan when ``alpha`` was given).
    alpha : ndarray of shape (p,)
        Penalty of the local fit.
    coef, intercept : ndarray of shape (p,), float
        The local fit ``b_k``.
    gradient : ndarray of shape (p,) or None
        ``g_k``, the gradient of the mean loss at ``b_k`` (debiased only).
    hessian_weight : float
        ``sum_i w_i v_i``: total Hessian weight (``v`` the variance function).
    center : ndarray of shape (p,)
        Hessian-weighted mean of X (zeros without an intercept).
    nodewise : NodewiseRows or None
        This partition's nodewise rows (all columns in ``local`` mode, its
        share in ``split`` mode).
    debiased_coef : ndarray of shape (p,) or None
        ``d_k`` (``local`` mode).
    coef_cov : ndarray of shape (p, p) or None
        Covariance of ``d_k`` (``local`` mode).
    score_outer : ndarray of shape (p + 1, p + 1) or None
        Mean outer product of the scores ``(mu - y) [1, x]`` (``split`` mode;
        without an intercept the first row and column are zero).
    """

    label: object
    n_samples: int
    weight: float
    n_iter: int
    sigma: float
    alpha: np.ndarray
    coef: np.ndarray
    intercept: float
    gradient: np.ndarray | None
    hessian_weight: float
    center: np.ndarray
    nodewise: NodewiseRows | None
    debiased_coef: np.ndarray | None
    coef_cov: np.ndarray | None
    score_outer: np.ndarray | None


@dataclass(frozen=True)
class OneShotFit:
    """The combined estimate (before thresholding)."""

    coef: np.ndarray
    intercept: float
    center: np.ndarray
    approx_inv_cov: np.ndarray | None
    coef_cov: np.ndarray | None
    sigma: float


def split_columns(n_features, n_partitions, index):
    """Columns whose nodewise rows partition ``index`` computes (statsmodels' blocks)."""
    size = int(np.ceil(n_features / n_partitions))
    return np.arange(index * size, min((index + 1) * size, n_features))


def _mean(values, weights):
    return np.tensordot(weights, np.asarray(values), axes=1)


def _pooled_center(results):
    hw = np.array([r.hessian_weight for r in results])
    return _mean([r.center for r in results], hw / hw.sum())


def _pooled_sigma(results):
    weights = np.array([r.weight for r in results])
    sig = np.array([r.sigma for r in results])
    return float(np.sqrt(_mean(sig**2, weights / weights.sum())))


def combine_partitions(results, settings):
    """Average the partitions (weighted by ``W_k``) and debias.

    The intercept follows the coefficients by one Newton step at fixed slopes:
    ``b0 = b0_bar - center' (d - b_bar)`` (exact for the gaussian family).
    """
    weights = np.array([r.weight for r in results])
    total = weights.sum()
    share = weights / total
    coef_bar = _mean([r.coef for r in results], share)
    b0_bar = float(_mean([r.intercept for r in results], share))
    center = _pooled_center(results)
    sigma = _pooled_sigma(results)
    if settings.method != "debiased":
        return OneShotFit(coef_bar, b0_bar, center, None, None, sigma)
    p = coef_bar.shape[0]
    if settings.nodewise == "local":
        coef = _mean([r.debiased_coef for r in results], share)
        theta = _mean([r.nodewise.theta() for r in results], share)
        cov = _mean([r.coef_cov for r in results], share**2)
    else:
        theta = approx_inv_cov([r.nodewise for r in results], p)
        grad = _mean([r.gradient for r in results], share)
        coef = coef_bar - theta @ grad
        cov = _split_covariance(results, theta, share, total)
    intercept = b0_bar - float(center @ (coef - coef_bar))
    return OneShotFit(coef, intercept, center, theta, cov, sigma)


def _split_covariance(results, theta, share, total):
    # Theta~ = [-Theta_j . c_j, Theta_j]: the intercept column of the augmented
    # inverse, c_j the centre of the partition that computed row j
    first = np.empty(theta.shape[0])
    for r in results:
        first[r.nodewise.columns] = -theta[r.nodewise.columns] @ r.nodewise.center
    augmented = np.column_stack([first, theta])
    outer = _mean([r.score_outer for r in results], share)
    return augmented @ outer @ augmented.T / total


def check_partition_results(results, method, nodewise):
    """Raise ``ValueError`` unless ``results`` can be combined by ``method``/``nodewise``.

    The results come from sites (:class:`PartitionResult` objects shipped to a
    coordinator): same feature count; the debiased method needs each site's
    debiased estimate (``local``) or its share of the nodewise rows
    (``split``), the shares covering every column exactly once.
    """
    if not results:
        raise ValueError("fit_results needs at least one PartitionResult.")
    sizes = sorted({len(r.coef) for r in results})
    if len(sizes) > 1:
        raise ValueError(f"PartitionResults have different feature counts: {sizes}.")
    if method != "debiased":
        return
    if nodewise == "local":
        missing = [r.label for r in results if r.debiased_coef is None]
        what = 'nodewise="local" debiased estimates'
    else:
        missing = [r.label for r in results if r.score_outer is None]
        what = 'nodewise="split" shares'
    if missing:
        raise ValueError(
            f"PartitionResults {missing} are not {what}: compute them with an "
            "estimator of the same method and nodewise."
        )
    if nodewise == "split":
        covered = np.sort(np.concatenate([r.nodewise.columns for r in results]))
        if not np.array_equal(covered, np.arange(sizes[0])):
            raise ValueError(
                "The sites' nodewise columns do not cover every column exactly "
                "once: give each site its own index= out of the same n_partitions=."
            )
