"""Least squares from statistics alone.

# beta = (X'WX)^-1 X'Wy, solved as r_xx beta = r_xy with r_xx'r_xx = X'WX

With an intercept the system is the centred one (``Cxx beta = Cxy``) and the
intercept is ``mean_y - mean_x' beta``; without, the raw cross-products.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..exceptions import CollinearityWarning, IllConditionedWarning
from ..stats._inplace import inverse_from_cholesky, triangular_condition

# Condition number (of the column-scaled cross-product matrix) above which a
# solve keeps fewer than ~6 of float64's 16 digits: warn and name the QR solver.
ILL_CONDITIONED = 1e10


@dataclass(frozen=True)
class LeastSquaresSolution:
    """Coefficients and the pieces inference needs.

    Attributes
    ----------
    coef : ndarray of shape (K, T)
    intercept : ndarray of shape (T,)
        Zeros when fitted without an intercept.
    rss : ndarray of shape (T, T)
        Residual (weighted) cross-products.
    bread : ndarray of shape (K, K)
        ``(X'WX)^-1`` of the (centred, with intercept) system, or its
        pseudo-inverse when rank deficient.
    rank : int
        Rank of the slope block (the intercept adds one).
    condition : float
        Estimated (1-norm) condition number of the column-scaled ``X'WX``,
        whichever accumulator produced the statistics (the square of the
        scaled design's).
    center : bool
        Whether the system was centred (``fit_intercept``).
    """

    coef: np.ndarray
    intercept: np.ndarray
    rss: np.ndarray
    bread: np.ndarray
    rank: int
    condition: float
    center: bool


def solve_least_squares(stats, fit_intercept=True):
    """Solve the weighted least-squares problem described by ``stats``.

    Parameters
    ----------
    stats : GramStats or QRStats
    fit_intercept : bool

    Returns
    -------
    LeastSquaresSolution

    Warns
    -----
    CollinearityWarning
        Rank-deficient (or numerically so) design: the minimum-norm solution
        in column-scaled coordinates is returned.
    IllConditionedWarning
        Full rank but ill-conditioned: few digits are reliable; the message
        says how many and names ``solver="qr"``.
    """
    k = stats.n_features
    squared = not hasattr(stats, "r")  # the Gram squares the condition number
    try:
        system = stats.triangular(center=fit_intercept)
        condition = _condition(system) ** (2 if squared else 1)
    except np.linalg.LinAlgError:
        system, condition = None, np.inf
    if k == 0:
        system = _empty_system(stats, fit_intercept)
        condition = 1.0
    constant = _rounding_constant(stats, fit_intercept)
    if system is None or constant.any() or condition * np.finfo(float).eps * max(k, 1) > 1:
        return _minimum_norm(stats, fit_intercept, condition, squared)
    if condition > ILL_CONDITIONED:
        digits = max(0.0, -np.log10(np.finfo(float).eps * condition))
        advice = (
            " Use solver='qr', which works on the R factor and keeps about "
            "twice as many digits." if squared else " Rescale or orthogonalise the columns."
        )
        warnings.warn(
            f"The design is ill-conditioned (condition number {condition:.1e} of "
            f"the scaled cross-product matrix): expect only about {digits:.0f} "
            f"correct digits in the coefficients.{advice}",
            IllConditionedWarning,
            stacklevel=3,
        )
    if squared:
        _warn_unresolved_rss(system.rss, _target_moments(stats, fit_intercept), k)
    coef = linalg.solve_triangular(system.r_xx, system.r_xy, check_finite=False)
    return LeastSquaresSolution(
        coef=coef,
        intercept=_intercept(stats, coef, fit_intercept),
        rss=_clip_rss(system.rss),
        bread=_bread(system),
        rank=k,
        condition=float(condition if squared else condition**2),
        center=fit_intercept,
    )


def _warn_unresolved_rss(rss, tss, k):
    """Warn when the Gram's RSS = y'y - r'r sits at the rounding level of y'y.

    The Gram knows RSS only to about ``k * eps * y'y``: an (almost) exact fit
    leaves standard errors with few or no correct digits; the QR factor does
    not have this limit.
    """
    rss, tss = np.diag(rss), np.diag(tss)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = 10 * max(k, 1) * np.finfo(float).eps * tss / np.abs(rss)
    if np.any(error > 1e-4):
        warnings.warn(
            "The residual sum of squares is within the rounding error of the "
            "Gram statistics (an almost exact fit): standard errors and R² keep "
            "fewer than 4 correct digits. Use solver='qr', whose R factor holds "
            "the residuals without cancellation.",
            IllConditionedWarning,
            stacklevel=4,
        )


def _target_moments(stats, fit_intercept):
    """The targets' block of the Gram's ``moments(center=fit_intercept)``, without the K x K rest."""
    k = stats.n_features
    C = stats.comoment[k:, k:]
    if fit_intercept:
        return C
    return C + stats.weight_sum * np.outer(stats.mean_y, stats.mean_y)


# B = r^-1 r^-T by LAPACK potri: the Gram's factor (32 MiB for a 2,000-column
# one-hot design) is inverted where it lies, with no identity, r^-1 or product
# beside it; a factor that may be the statistics' own is copied first.
def _bread(system):
    """``(r_xx'r_xx)^-1`` of the :class:`~skbigreg.stats.TriangularSystem`."""
    r_xx = system.r_xx if system.own_factor else np.array(system.r_xx, order="F")
    if r_xx.size == 0:
        return r_xx
    return inverse_from_cholesky(r_xx)


def _condition(system):
    """Scaled condition of ``system.r_xx``: the accumulator's own estimate, else computed."""
    if system.scaled_condition is not None:
        return system.scaled_condition
    return _scaled_condition(system.r_xx)


def _scaled_condition(r_xx):
    """1-norm condition estimate of ``r_xx`` with unit-norm columns (LAPACK trcon)."""
    norms = np.linalg.norm(r_xx, axis=0)
    if not np.all(norms > 0):
        raise np.linalg.LinAlgError("zero column")
    return triangular_condition(np.divide(r_xx, norms, order="F"))


def _intercept(stats, coef, fit_intercept):
    if not fit_intercept:
        return np.zeros(stats.n_targets)
    return stats.mean_y - stats.mean_x @ coef


def _clip_rss(rss):
    # An exact fit can leave rounding-level negative RSS on the diagonal.
    rss = 0.5 * (rss + rss.T)
    diag = np.clip(np.diag(rss), 0.0, None)
    np.fill_diagonal(rss, diag)
    return rss


def _empty_system(stats, fit_intercept):
    from ..stats import TriangularSystem

    A = stats.moments(center=fit_intercept)
    return TriangularSystem(np.zeros((0, 0)), np.zeros((0, stats.n_targets)), A)


# A centred column whose spread is below this fraction of its mean is rounding
# of a constant (a weighted constant leaves ~eps^2 * mean^2 per row, which
# column scaling would otherwise blow up into a spurious regressor).
_CONSTANT_SPREAD = 1e3 * np.finfo(float).eps


def _rounding_constant(stats, fit_intercept):
    """Feature columns that are constant up to rounding (only meaningful when centred)."""
    if not fit_intercept:
        return np.zeros(stats.n_features, dtype=bool)
    spread = np.diag(stats.comoment)[: stats.n_features]
    return spread <= stats.weight_sum * (_CONSTANT_SPREAD * stats.mean_x) ** 2


def cross_products(stats, fit_intercept):
    """``stats.moments(center=fit_intercept)`` with rounding-constant columns exactly constant.

    Returns the moment matrix of ``[X, y]`` and the mask of the feature
    columns that were constant up to rounding (their rows and columns are
    zero, so every solver sees them as constant and says so).
    """
    k = stats.n_features
    constant = _rounding_constant(stats, fit_intercept)
    A = stats.moments(center=fit_intercept)
    if constant.any():
        A = A.copy()
        A[:k][constant] = 0.0
        A[:, :k][:, constant] = 0.0
    return A, constant


def _minimum_norm(stats, fit_intercept, condition, squared):
    """Minimum-norm solution in column-scaled coordinates, with a warning."""
    k = stats.n_features
    A, _ = cross_products(stats, fit_intercept)
    Axx, Axy, Ayy = A[:k, :k], A[:k, k:], A[k:, k:]
    d = np.sqrt(np.diag(Axx))
    scale = np.where(d > 0, d, 1.0)
    scaled = Axx / np.outer(scale, scale)
    eigval, eigvec = np.linalg.eigh(scaled)
    # Rounding leaves null eigenvalues of a unit-diagonal matrix near k * eps.
    tol = 100 * max(k, 1) * np.finfo(float).eps * max(eigval.max(initial=0.0), 1e-300)
    keep = eigval > tol
    inv_scaled = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
    bread = inv_scaled / np.outer(scale, scale)
    coef = bread @ Axy
    rank = int(keep.sum())
    constant = np.flatnonzero(d == 0)
    detail = f" Constant columns: {constant.tolist()}." if len(constant) else ""
    hint = (
        " If the columns are not exactly collinear, the Gram has lost the digits "
        "that separate them: use solver='qr'." if squared else ""
    )
    warnings.warn(
        f"The design matrix is rank deficient (numerical rank {rank} of {k} "
        f"columns{', after centring' if fit_intercept else ''}).{detail} "
        f"Returning the minimum-norm solution in column-scaled coordinates.{hint}",
        CollinearityWarning,
        stacklevel=3,
    )
    return LeastSquaresSolution(
        coef=coef,
        intercept=_intercept(stats, coef, fit_intercept),
        rss=_clip_rss(Ayy - Axy.T @ coef),
        bread=bread,
        rank=rank,
        condition=float(condition if squared else condition**2),
        center=fit_intercept,
    )
