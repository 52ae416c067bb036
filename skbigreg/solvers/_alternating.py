"""The effects of several absorbed factors by preconditioned conjugate gradient.

# (D'WD) a = D'Wz ;  z_within = z - D a ;  one CG step per pass over the rows

``D = [D_1, ..., D_F]`` stacks the level indicators of the F factors; ``a``
holds, for every level and every column of ``z = [X, y]``, the effects whose
sum ``D a`` is the projection of ``z`` on the effects (the demeaning of
alternating projections, reached at its fixed point). ``D'WD`` is never
formed: its product with a vector ``p`` is one streamed pass (each row adds
``w_i (sum_f p_f[level_f(i)])`` to its levels' sums), so the solver holds only
per-level arrays, ``O(G D)`` numbers. Preconditioning by the diagonal of
``D'WD`` (each level's weight) makes one step the Jacobi sweep of
alternating projections; conjugate gradient accelerates it, as Irons-Tuck
accelerates the sweeps in fixest, with convergence in about ``sqrt(kappa)``
rather than ``kappa`` passes. The D columns are solved at once, each with its
own step lengths.

Convergence follows fixest's criterion on the effects, in units of each
column's standard deviation (so rescaling a column changes nothing): stop
when every effect's change in the last step is at most ``tol`` in absolute
value or relative to ``0.1 + |effect|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EffectsProblem:
    """Solver inputs, fixed for the solve: each level's weight and ``D_f' W z``.

    Attributes
    ----------
    weights : tuple of ndarray (G_f,)
        The diagonal of ``D'WD``, factor by factor.
    rhs : tuple of ndarray (G_f, D)
        ``D_f' W z``: each level's weighted sums of ``z``.
    tol : float
    scale : ndarray (D,)
        The unit of each column's effects in the convergence criterion (its
        standard deviation; 1 for a constant column).
    """

    weights: tuple
    rhs: tuple
    tol: float
    scale: np.ndarray

    @classmethod
    def from_means(cls, factor_means, tol, scale=None):
        """The problem of a first pass's :class:`~skbigreg.stats.FactorMeans`."""
        weights = tuple(f.weight_sum for f in factor_means.factors)
        rhs = tuple(f.mean * f.weight_sum[:, None] for f in factor_means.factors)
        scale = np.ones(rhs[0].shape[1]) if scale is None else np.asarray(scale, dtype=float)
        return cls(weights, rhs, float(tol), np.where(scale > 0, scale, 1.0))


@dataclass(frozen=True)
class EffectsState:
    """Iteration state: effects, residual and direction of conjugate gradient.

    ``direction`` is what the next pass multiplies by ``D'WD``.
    """

    effects: tuple
    residual: tuple
    direction: tuple
    rz: np.ndarray
    n_iter: int = 0
    converged: bool = False


def start_effects(problem):
    """The state at ``a = 0`` (the residual is ``D'Wz``; no pass is needed)."""
    residual = problem.rhs
    scaled = _precondition(problem, residual)
    effects = tuple(np.zeros_like(r) for r in residual)
    rz = _dot(residual, scaled)
    return EffectsState(effects, residual, scaled, rz, 0, not np.any(rz > 0))


def conjugate_step(problem, state, product):
    """One conjugate-gradient step, given ``product = D'WD direction`` from a pass.

    Columns whose residual has vanished take no step (their effects are
    exact); the step of the others is ``r'z / p'Ap``. The level-sized
    temporaries are few and short-lived: with millions of levels each one
    is tens of megabytes, and the step, not the pass, sets the peak memory.
    """
    curvature = _dot(state.direction, product)
    step = np.divide(state.rz, curvature, out=np.zeros_like(state.rz), where=curvature > 0)
    effects, done = [], True
    for a, p in zip(state.effects, state.direction):
        change = p * step
        done = done and effects_converged([change], [a], problem.tol, problem.scale)
        change += a
        effects.append(change)
    residual = []
    for r, q in zip(state.residual, product):
        moved = q * step
        np.subtract(r, moved, out=moved)
        residual.append(moved)
    scaled = _precondition(problem, residual)
    rz = _dot(residual, scaled)
    beta = np.divide(rz, state.rz, out=np.zeros_like(rz), where=state.rz > 0)
    direction = []
    for z, p in zip(scaled, state.direction):
        z += p * beta  # z is this step's own array
        direction.append(z)
    done = done or not np.any(rz > 0)
    return EffectsState(tuple(effects), tuple(residual), tuple(direction), rz,
                        state.n_iter + 1, done)


def effects_converged(change, effects, tol, scale=1.0, block=65_536):
    """fixest's criterion: every ``|change| <= tol`` or ``|change| / (0.1 + |a|) <= tol``.

    ``change`` and ``effects`` are divided by ``scale`` (each column's unit)
    first. Checked ``block`` levels at a time, so the check adds no
    level-sized arrays.
    """
    for c, a in zip(change, effects):
        for start in range(0, len(c), block):
            part_c = np.abs(c[start:start + block] / scale)
            part_a = np.abs(a[start:start + block] / scale)
            if not np.all(part_c <= tol * np.maximum(1.0, 0.1 + part_a)):
                return False
    return True


def normalised_effects(effects, weights):
    """The effects with every factor but the first of weighted mean zero.

    Adding a constant to one factor's effects and subtracting it from
    another's leaves every row's sum of effects unchanged, so this picks one
    of the equivalent solutions, the same however the iterations ran.
    """
    first, others = effects[0].copy(), []
    for a, w in zip(effects[1:], weights[1:]):
        shift = (w @ a) / w.sum() if w.sum() > 0 else np.zeros(a.shape[1])
        others.append(a - shift)
        first += shift
    return (first, *others)


def _precondition(problem, residual):
    """``M^-1 r`` with ``M`` the levels' weights (zero for a level of weight zero)."""
    return tuple(np.divide(r, w[:, None], out=np.zeros_like(r), where=w[:, None] > 0)
                 for r, w in zip(residual, problem.weights))


def _dot(left, right):
    """Column-wise inner products summed over the factors, shape (D,)."""
    return sum(np.einsum("gd,gd->d", a, b) for a, b in zip(left, right))
