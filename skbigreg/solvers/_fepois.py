"""IRLS for Poisson regression with one absorbed factor, from merged passes (fixest's ``fepois``).

# b_{k+1} = (X~'W X~)^-1 X~'W r~,  W = w mu_k,  r = x'b_k + (y - mu_k) / mu_k
# a_{k+1,e} = a_{k,e} + m_r,e - m_x,e' b_{k+1}

``~`` is the within transformation with the IRLS weights: each row less its
level's ``W``-weighted mean. Its cross-products are the total centred
co-moments less the between-level part (:func:`within_stats`), so a merged
:class:`~skbigreg.stats.PoissonEffectsPass` gives the step and the effects
without rows. The working response is taken net of the current effects
(``r = z - a_e``): the effects are absorbed anyway, and the numbers stay
small. The start is pyfixest's (and ppmlhdfe's): ``mu_0 = (y + ybar) / 2``.

Convergence is fixest's: ``|dev_k - dev_{k-1}| / (0.1 + |dev_{k-1}|) < tol``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..exceptions import CollinearityWarning
from ._fixed_effects import within_stats
from ._irls_streamed import identified_columns, select_columns
from ._least_squares import LeastSquaresSolution, solve_least_squares


@dataclass(frozen=True)
class PoissonIterate:
    """Where a pass is made: coefficients and one effect per kept level.

    Attributes
    ----------
    coef : ndarray of shape (K,)
    effects : ndarray of shape (G,)
        Aligned with the sorted labels of the kept levels.
    start_mean : float or None
        Set on the starting iterate only, whose means are ``(y + start_mean) / 2``
        row by row (``coef`` and ``effects`` are then zeros).
    shifts : ndarray of shape (G, K + 1) or None
        Where the pass centres each level's rows of ``[X, r]`` before
        accumulating them: the level means the previous pass found. Any
        per-level shift leaves the within Gram unchanged in exact
        arithmetic (the effects absorb it); these make the between-level
        part that :func:`within_stats` subtracts small, so no digits are
        lost when the levels' means are far apart (large offsets).
    """

    coef: np.ndarray
    effects: np.ndarray
    start_mean: float | None = None
    shifts: np.ndarray | None = None

    @classmethod
    def start(cls, n_features, n_levels, mean, shifts=None):
        """The starting iterate of ``mu_0 = (y + mean) / 2``."""
        return cls(np.zeros(n_features), np.zeros(n_levels), float(mean), shifts)


@dataclass(frozen=True)
class PoissonStep:
    """The weighted least-squares step of one merged pass.

    Attributes
    ----------
    solution : LeastSquaresSolution
        Within least squares over the identified columns (``bread`` is the
        inverse Hessian of the coefficients).
    iterate : PoissonIterate
        The next iterate.
    x_means : ndarray of shape (G, K)
        The pass's ``W``-weighted level means of ``X`` (the inference pass
        demeans the rows by them).
    """

    solution: LeastSquaresSolution
    iterate: PoissonIterate
    x_means: np.ndarray


def poisson_effects_step(stats, iterate, columns=None):
    """The next iterate from the merged pass ``stats`` made at ``iterate``.

    Parameters
    ----------
    stats : PoissonEffectsPass
    iterate : PoissonIterate
    columns : ndarray of int, optional
        The identified columns (:func:`effects_columns`); the others keep
        coefficient 0.

    Returns
    -------
    PoissonStep

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats, LevelMeans, PoissonEffectsPass
    >>> X, r = np.array([[0.0], [1.0], [0.0], [2.0]]), np.array([1.0, 3.5, 0.0, 4.0])
    >>> levels, w = np.array([0, 0, 1, 1]), np.ones(4)
    >>> stats = PoissonEffectsPass(GramStats.from_arrays(X, r, w),
    ...                            LevelMeans.from_arrays(np.column_stack([X, r]), levels, w), 0.0, 0.0)
    >>> step = poisson_effects_step(stats, PoissonIterate(np.zeros(1), np.zeros(2)))
    >>> step.iterate.coef.round(6).tolist(), step.iterate.effects.round(6).tolist()
    ([2.1], [1.2, -0.1])
    """
    k = stats.gram.n_features
    within = within_stats(stats.gram, stats.levels)
    solution = solve_least_squares(within if columns is None else select_columns(within, columns),
                                   fit_intercept=False)
    coef = np.zeros(k)
    coef[slice(None) if columns is None else columns] = solution.coef[:, 0]
    means = level_means(stats, iterate)
    effects = iterate.effects + means[:, k] - means[:, :k] @ coef
    return PoissonStep(solution, PoissonIterate(coef, effects, shifts=means), means[:, :k])


def level_means(stats, iterate):
    """The pass's ``W``-weighted level means of ``[X, r]``, its centring undone."""
    shifts = 0.0 if iterate.shifts is None else iterate.shifts
    return stats.levels.mean + shifts


def deviance_change(deviance, last):
    """fixest's convergence criterion ``|dev - last| / (0.1 + |last|)``.

    Examples
    --------
    >>> round(deviance_change(100.0, 100.1), 6)
    0.000998
    """
    return abs(deviance - last) / (0.1 + abs(last))


# A column whose within-level variance is below this fraction of its raw
# second moment is constant within every level up to rounding (its within
# variance is then ~eps^2 of it; the pass centres rows by level, so a column
# varying in its 10th digit within levels keeps its digits and is kept).
_ABSORBED = 1e-20


def effects_columns(stats, names, iterate):
    """The columns the first pass identifies after absorbing the effects, or None for all.

    A column constant within every level (within variance at most
    ``_ABSORBED`` of its raw second moment ``sum W x^2``) is absorbed by the
    effects; of the others, those collinear with earlier ones are left out
    as R's ``glm`` does (:func:`identified_columns`). Both are named in a
    warning.

    Returns
    -------
    ndarray of int or None
    """
    k = stats.gram.n_features
    within = within_stats(stats.gram, stats.levels)
    means = level_means(stats, iterate)[:, :k]
    # sum W x^2 = sum W (x - m_e)^2 + sum_e W_e m_e^2
    raw = np.diag(within.comoment)[:k] + stats.levels.weight_sum @ means**2
    absorbed = np.flatnonzero(np.diag(within.comoment)[:k] <= _ABSORBED * raw)
    if len(absorbed):
        warnings.warn(
            f"Columns {[str(names[j]) for j in absorbed]} are constant within every level "
            "of entities (absorbed by the fixed effects): coefficient 0, standard error NaN.",
            CollinearityWarning,
            stacklevel=5,
        )
    candidates = np.setdiff1d(np.arange(k), absorbed)
    kept = identified_columns(select_columns(within, candidates), False,
                              [names[j] for j in candidates])
    columns = candidates if kept is None else candidates[kept]
    return None if len(columns) == k else columns
