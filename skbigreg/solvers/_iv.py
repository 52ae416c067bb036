"""Two-stage least squares from the moments of ``[X, Z_excluded, y]``.

# Pi = (Z'Z)^-1 Z'X ;  beta = (X'Pz X)^-1 X'Pz y,  X'Pz X = (Z'X)' Pi

``Z`` is the instrument set: the exogenous regressors (their own instruments)
and the excluded instruments. With an intercept every moment is centred, which
is the same as partialling the constant out of every column, so the intercept
is ``mean_y - mean_x' beta`` as in least squares.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..exceptions import CollinearityWarning
from ..stats import GramStats
from ._least_squares import LeastSquaresSolution, cross_products


@dataclass(frozen=True)
class IVColumns:
    """Where the regressors and instruments sit among the accumulated columns.

    Attributes
    ----------
    regressors : ndarray of int
        Columns of the structural equation (exogenous and endogenous), in
        the order of the reported coefficients.
    instruments : ndarray of int
        Columns of the instrument set: exogenous regressors, then excluded
        instruments.
    endogenous : ndarray of int
        Endogenous columns (a subset of ``regressors``).
    excluded : ndarray of int
        Excluded instruments (a subset of ``instruments``).
    target : int
        Column of ``y``.
    """

    regressors: np.ndarray
    instruments: np.ndarray
    endogenous: np.ndarray
    excluded: np.ndarray
    target: int

    def without(self, dropped):
        """The same columns with ``dropped`` (e.g. absorbed by fixed effects) left out."""
        if not len(dropped):
            return self
        endogenous = np.setdiff1d(self.endogenous, dropped)
        excluded = np.setdiff1d(self.excluded, dropped)
        regressors = np.setdiff1d(self.regressors, dropped)
        exogenous = np.setdiff1d(regressors, endogenous)
        return IVColumns(regressors, np.concatenate([exogenous, excluded]), endogenous,
                         excluded, self.target)


@dataclass(frozen=True)
class IVSolution(LeastSquaresSolution):
    """2SLS coefficients and what inference needs, in least-squares layout.

    ``coef``, ``intercept``, ``rss``, ``bread``, ``rank``, ``condition`` and
    ``center`` mean what they mean in
    :class:`~skbigreg.solvers.LeastSquaresSolution` with the projected design
    ``X_hat = Pz X`` (``bread = (X'Pz X)^-1``) and the structural residuals
    ``y - X beta`` (``rss``), so the least-squares results builder applies.

    Attributes
    ----------
    first_stage : ndarray of shape (n_instruments, n_regressors)
        ``Pi``: first-stage coefficients of every regressor on the
        instruments (centred when ``center``).
    first_stage_rss : ndarray of shape (n_endogenous,)
        Residual sums of squares of the first stages of the endogenous regressors.
    instrument_bread : ndarray of shape (n_instruments, n_instruments)
        ``(Z'Z)^-1`` (centred when ``center``).
    """

    first_stage: np.ndarray
    first_stage_rss: np.ndarray
    instrument_bread: np.ndarray


def solve_iv(stats, columns, fit_intercept=True):
    """2SLS from statistics of all accumulated columns.

    Parameters
    ----------
    stats : GramStats or QRStats
        Statistics of ``[X, Z_excluded, y]``.
    columns : IVColumns
    fit_intercept : bool

    Returns
    -------
    IVSolution

    Warns
    -----
    CollinearityWarning
        When the instruments are collinear or do not identify the regressors
        (``Z'Z`` or ``X'Pz X`` singular): pseudo-inverses give the minimum-norm
        solution in column-scaled coordinates.
    """
    A, _ = cross_products(stats, fit_intercept)
    R, Z, y = columns.regressors, columns.instruments, columns.target
    Szz, Szx, Szy = A[np.ix_(Z, Z)], A[np.ix_(Z, R)], A[Z, y]
    zz_inverse, _ = _spd_inverse(Szz, "The instruments (exogenous regressors and excluded instruments)")
    Pi = zz_inverse @ Szx
    H = Szx.T @ Pi
    bread, rank = _spd_inverse(H, "The projected regressors X'Pz X")
    coef = bread @ (Pi.T @ Szy)
    Sxx, Sxy = A[np.ix_(R, R)], A[R, y]
    rss = max(A[y, y] - 2 * coef @ Sxy + coef @ Sxx @ coef, 0.0)
    endog = np.flatnonzero(np.isin(R, columns.endogenous))
    first_rss = np.diag(Sxx)[endog] - np.einsum("ij,ij->j", Szx[:, endog], Pi[:, endog])
    mean = stats.mean
    intercept = mean[y] - mean[R] @ coef if fit_intercept else 0.0
    return IVSolution(
        coef=coef[:, None],
        intercept=np.array([intercept]),
        rss=np.array([[rss]]),
        bread=bread,
        rank=rank,
        condition=_scaled_condition(H),
        center=fit_intercept,
        first_stage=Pi,
        first_stage_rss=np.clip(first_rss, 0.0, None),
        instrument_bread=zz_inverse,
    )


def regressor_stats(stats, columns):
    """:class:`GramStats` of ``[X_regressors, y]`` alone (for R², bread layout)."""
    keep = np.concatenate([columns.regressors, [columns.target]])
    return GramStats(
        len(columns.regressors),
        1,
        stats.n_rows,
        stats.weight_sum,
        stats.mean[keep],
        stats.comoment[np.ix_(keep, keep)],
    )


def _spd_inverse(matrix, what):
    """Inverse of a positive semi-definite matrix and its rank.

    Cholesky of the column-scaled matrix when it is safely positive definite;
    otherwise the pseudo-inverse in column-scaled coordinates, with a warning.
    """
    size = matrix.shape[0]
    d = np.sqrt(np.clip(np.diag(matrix), 0.0, None))
    scale = np.where(d > 0, d, 1.0)
    scaled = matrix / np.outer(scale, scale)
    if np.all(d > 0) and _scaled_condition(matrix) < 1e12:
        factor = linalg.cho_factor(scaled, check_finite=False)
        inverse = linalg.cho_solve(factor, np.eye(size), check_finite=False)
        return inverse / np.outer(scale, scale), size
    eigval, eigvec = np.linalg.eigh(scaled)
    keep = eigval > 100 * max(size, 1) * np.finfo(float).eps * max(eigval.max(initial=0.0), 1e-300)
    inverse = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
    warnings.warn(
        f"{what} are collinear or constant (numerical rank {int(keep.sum())} of "
        f"{size}): 2SLS is not identified; returning the minimum-norm solution.",
        CollinearityWarning,
        stacklevel=4,
    )
    return inverse / np.outer(scale, scale), int(keep.sum())


def _scaled_condition(matrix):
    """2-norm condition number of ``matrix`` scaled to unit diagonal (inf if singular)."""
    if matrix.shape[0] == 0:
        return 1.0
    d = np.sqrt(np.diag(matrix))
    if not np.all(d > 0):
        return np.inf
    return float(np.linalg.cond(matrix / np.outer(d, d)))
