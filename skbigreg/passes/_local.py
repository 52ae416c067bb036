"""Per-partition local fits: the map of the one-shot debiased lasso.

One partition's rows become a :class:`~skbigreg.solvers.PartitionResult`
(its local penalized fit, gradient, nodewise rows and covariance; p- and
p x p-sized arrays, no rows); :func:`skbigreg.solvers.combine_partitions`
averages and debiases them. See :mod:`skbigreg.solvers._one_shot` for the
maths.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import scipy.linalg
from joblib import Parallel, delayed, effective_n_jobs
from threadpoolctl import threadpool_limits

from ..solvers._nodewise import NodewiseRows, nodewise_lasso
from ..solvers._one_shot import PartitionResult
from ._local_glm import FAMILIES, default_penalty, penalized_glm

__all__ = ["fit_partition", "map_partition_stream", "map_partitions", "nodewise_rows"]


def fit_partition(X, y, w, label, settings, columns=None):
    """Map one partition to its :class:`~skbigreg.solvers.PartitionResult` (a joblib task).

    ``columns`` are the nodewise rows to compute: all columns (``local``), a
    share (``split``) or none (naive methods). ``X``, ``y`` and ``w`` are
    validated float arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.passes import fit_partition
    >>> from skbigreg.solvers import OneShotSettings
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> y = X[:, 0] + rng.standard_normal(200)
    >>> settings = OneShotSettings("gaussian", "naive_unregularized", "local", True,
    ...                            None, None, 1e-10, 1000)
    >>> result = fit_partition(X, y, np.ones(200), "site-a", settings)
    >>> result.label, result.weight, result.coef.shape
    ('site-a', 200.0, (3,))
    """
    family = FAMILIES[settings.family]
    fit, alpha, sigma = _local_fit(X, y, w, settings)
    total = float(w.sum())
    mu = family.mean(X @ fit.coef + fit.intercept)
    h = w * family.variance(mu)
    center = np.average(X, axis=0, weights=h) if settings.fit_intercept else np.zeros(X.shape[1])
    result = PartitionResult(
        label=label, n_samples=X.shape[0], weight=total, n_iter=fit.n_iter, sigma=sigma,
        alpha=alpha, coef=fit.coef, intercept=fit.intercept, gradient=None,
        hessian_weight=float(h.sum()), center=center, nodewise=None, debiased_coef=None,
        coef_cov=None, score_outer=None,
    )
    if settings.method != "debiased":
        return result
    resid = mu - y  # d loss / d eta
    # weighted design with (1/(2W)) sum w v (.)^2 = (1/(2n)) ||Z .||^2
    Z = np.sqrt(h * X.shape[0] / total)[:, None] * (X - center)
    _check_variance(Z, label, settings.fit_intercept)
    rows = nodewise_rows(
        Z, columns, _nodewise_penalty(Z, total, settings), center, settings.tol, settings.max_iter
    )
    # degrees-of-freedom correction of the residual-based score variance
    dof = np.count_nonzero(fit.coef) + settings.fit_intercept
    inflate = total / max(total - dof, 1.0)
    gradient = X.T @ (w * resid) / total
    if settings.nodewise == "split":
        outer = _score_outer(X, w, resid, settings.fit_intercept) * inflate
        return replace(result, gradient=gradient, nodewise=rows, score_outer=outer)
    theta = rows.theta()
    # d_k - b* ~ -(1/W) sum_i w_i Theta (x_i - c) (mu_i - y_i)
    influence = (X - center) @ theta.T * resid[:, None]
    cov = influence.T @ (influence * w[:, None]) / total**2 * inflate
    return replace(
        result, gradient=gradient, nodewise=rows,
        debiased_coef=fit.coef - theta @ gradient, coef_cov=cov,
    )


def map_partitions(tasks, n_jobs=None):
    """``[fit_partition(**task) for task in tasks]``, in order, through joblib.

    Any joblib backend applies (loky, threading, dask); BLAS threads are
    limited so that ``n_jobs`` workers do not oversubscribe the cores.
    """
    n_workers = effective_n_jobs(n_jobs)
    if n_workers == 1:
        return [fit_partition(**task) for task in tasks]
    blas_threads = max(1, (os.cpu_count() or 1) // n_workers)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return Parallel(n_jobs=n_jobs)(delayed(fit_partition)(**task) for task in tasks)


def nodewise_rows(Z, columns, penalty, center, tol=1e-10, max_iter=10000):
    """Nodewise lasso regressions of ``columns`` of ``Z`` on the other columns.

    The lassos run on the Gram matrix (:func:`skbigreg.solvers.nodewise_lasso`);
    the rows give the residuals of ``tau_j^2`` and the unpenalized fits.

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
        Recorded in the result (see :class:`~skbigreg.solvers.NodewiseRows`).

    Returns
    -------
    NodewiseRows

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.passes import nodewise_rows
    >>> Z = np.random.default_rng(0).standard_normal((500, 3))
    >>> rows = nodewise_rows(Z, [0, 2], np.zeros((3, 3)), np.zeros(3))
    >>> rows.theta().shape                  # rows 0 and 2 of inv(Z'Z / n)
    (2, 3)
    >>> bool(np.allclose(rows.theta(), np.linalg.inv(Z.T @ Z / 500)[[0, 2]]))
    True
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


def _one_row(Z, gram, j, penalty, tol, max_iter):
    # gamma_j and tau_j^2 = (1/n) ||z_j - Z gamma_j||^2 + sum_k penalty_k |gamma_jk|
    n, p = Z.shape
    others = np.delete(np.arange(p), j)
    lam = penalty[others]
    gamma = np.zeros(p)
    if others.size and np.any(lam > 0):
        gamma = nodewise_lasso(gram, j, penalty, n, tol, max_iter)
    elif others.size:
        gamma[others] = scipy.linalg.lstsq(Z[:, others], Z[:, j])[0]
    resid = Z[:, j] - Z @ gamma
    tau2 = float(resid @ resid) / n + float(np.sum(lam * np.abs(gamma[others])))
    return gamma, tau2


def _local_fit(X, y, w, settings):
    if settings.method == "naive_unregularized":
        alpha, sigma = np.zeros(X.shape[1]), np.nan
    elif settings.alpha is None:
        alpha, sigma = default_penalty(
            X, y, w, settings.family, settings.fit_intercept, settings.tol, settings.max_iter
        )
    else:
        alpha, sigma = settings.alpha, np.nan
    fit = penalized_glm(
        X, y, w, alpha, settings.family, settings.fit_intercept, settings.tol, settings.max_iter
    )
    return fit, alpha, sigma


def _nodewise_penalty(Z, total, settings):
    # penalty[j, k] on column k in the regression of column j
    p = Z.shape[1]
    if settings.nodewise_alpha is not None:
        return np.broadcast_to(settings.nodewise_alpha, (p, p))
    scale = np.sqrt(np.mean(Z**2, axis=0))
    level = np.sqrt(2.0 * np.log(max(p, 2)) / total)
    return level * np.outer(scale, scale)


def _check_variance(Z, label, fit_intercept):
    flat = np.flatnonzero(np.sqrt(np.mean(Z**2, axis=0)) <= 1e-12 * (1 + np.abs(Z).max()))
    if flat.size:
        what = "constant" if fit_intercept else "zero"
        raise ValueError(
            f"Column(s) {flat.tolist()} are {what} in partition {label!r}: the "
            "debiased lasso needs every column to vary within every partition "
            "(drop the column, or merge the partition with another)."
        )


def _score_outer(X, w, resid, fit_intercept):
    # (1/W) sum_i w_i (mu_i - y_i)^2 [1, x_i] [1, x_i]'
    scores = np.column_stack([np.full(X.shape[0], float(fit_intercept)), X])
    return scores.T @ (scores * (w * resid**2)[:, None]) / w.sum()


def map_partition_stream(tasks, n_jobs=None):
    """:func:`map_partitions` over a stream of tasks, ``effective_n_jobs`` at a time.

    At most that many partitions' rows are held at once.
    """
    size, batch, results = effective_n_jobs(n_jobs), [], []
    for task in tasks:
        batch.append(task)
        if len(batch) == size:
            results += map_partitions(batch, n_jobs)
            batch = []
    return results + map_partitions(batch, n_jobs)
