"""Fisher scoring from streamed passes: the next coefficients from a merged pass.

# beta_{k+1} = (X'W_k X)^-1 X'W_k z_k,  W_k = w h'(eta)^2 / V(mu),  z_k = eta + (y - mu) / h'(eta)

A pass over the rows at the current coefficients (:mod:`skbigreg.passes`)
gathers an :class:`~skbigreg.stats.IRLSPass`; the functions here turn the
merged pass and the iteration state into the next state, never seeing rows.
As in glum, what is fixed for the fit (:class:`ScoringSettings`) is kept
apart from what changes every step (:class:`ScoringState`).

Convergence: stop when a pass's step satisfies
``max |b_new - b| <= tol * max(1, max |b|)`` (intercept included). When rows
sit at the boundary of the support (separation) and the steps stop
shrinking (``|step| > |previous step| / 2``), the MLE is at infinity: stop.

Identification: the first pass's weighted Gram decides which columns the
data identify (:func:`identified_columns`); the others are left out of the
iteration (coefficient 0, standard error NaN), as R's ``glm.fit`` does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..exceptions import CollinearityWarning
from ..stats import GramStats
from ._least_squares import LeastSquaresSolution, solve_least_squares

CONTINUE, CONVERGED, SEPARATED = "continue", "converged", "separated"

# A column whose centred weighted variance is below this fraction of its raw
# second moment is constant up to rounding (a constant column's centred
# variance is ~eps^2 of it; a column varying in its 10th digit is kept).
_CONSTANT = 1e-20
# A column whose residual norm, after projection on the columns kept before
# it, is below 1e-7 of its norm is aliased (R's qr tolerance in glm.fit);
# squared, on the Gram's scale, with a floor for the Gram's own rounding.
_ALIASED = 1e-14


@dataclass(frozen=True)
class ScoringSettings:
    """Solver inputs fixed for the whole fit.

    Attributes
    ----------
    fit_intercept : bool
    tol : float
        Convergence tolerance of the step (see the module notes).
    """

    fit_intercept: bool
    tol: float


@dataclass(frozen=True)
class ScoringState:
    """Iteration state: where the next pass is made.

    Attributes
    ----------
    params : ndarray of shape (1 + k,) or None
        Intercept (0 without one), then coefficients; None starts the first
        pass from the family's starting means.
    n_pass : int
        Passes made so far.
    last_step : float
        Size ``max |b_new - b|`` of the previous step.
    """

    params: np.ndarray | None = None
    n_pass: int = 0
    last_step: float = np.inf

    @property
    def intercept(self):
        return None if self.params is None else float(self.params[0])

    @property
    def coef(self):
        return None if self.params is None else self.params[1:]


@dataclass(frozen=True)
class ScoringStep:
    """A Fisher-scoring step from one merged pass.

    Attributes
    ----------
    solution : LeastSquaresSolution
        Weighted least squares of the pass's working response.
    state : ScoringState
        Where the next pass is made.
    status : {"continue", "converged", "separated"}
    """

    solution: LeastSquaresSolution
    state: ScoringState
    status: str


def scoring_step(stats, state, settings):
    """The next iterate from the merged pass ``stats`` made at ``state.params``.

    Parameters
    ----------
    stats : IRLSPass
        With a positive weight sum.
    state : ScoringState
    settings : ScoringSettings

    Returns
    -------
    ScoringStep

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.glm import get_family_link
    >>> from skbigreg.passes import irls_pass
    >>> from skbigreg.solvers import ScoringSettings, ScoringState, scoring_step
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([1.0, 2.0, 2.0, 5.0])
    >>> family, link = get_family_link("poisson", None)
    >>> settings, state = ScoringSettings(fit_intercept=True, tol=1e-10), ScoringState()
    >>> while True:
    ...     stats = irls_pass(X, y, None, state.coef, state.intercept, family, link, True)
    ...     step = scoring_step(stats, state, settings)
    ...     if step.status != "continue":
    ...         break
    ...     state = step.state
    >>> step.status
    'converged'
    >>> mu = np.exp(state.params[0] + X[:, 0] * state.params[1])  # the score equations hold
    >>> bool(np.allclose([np.sum(y - mu), X[:, 0] @ (y - mu)], 0.0, atol=1e-8))
    True
    """
    solution = solve_least_squares(stats.gram, settings.fit_intercept)
    proposal = np.append(solution.intercept[0], solution.coef[:, 0])
    n_pass = state.n_pass + 1
    if state.params is None:
        return ScoringStep(solution, ScoringState(proposal, n_pass), CONTINUE)
    size = float(np.max(np.abs(proposal - state.params)))
    scale = max(1.0, float(np.max(np.abs(state.params))))
    if size <= settings.tol * scale:
        status = CONVERGED
    elif stats.n_saturated and size > 0.5 * state.last_step:
        status = SEPARATED  # steps no longer shrink: the MLE is at infinity
    else:
        status = CONTINUE
    return ScoringStep(solution, ScoringState(proposal, n_pass, size), status)


# A pass is made complete when the previous step is below this multiple of
# sqrt(tol * scale): Newton's steps shrink quadratically, so the next step is
# then expected below the tolerance. Erring early costs the inference
# statistics of one pass; erring late costs a repeated pass.
_LAST_STEP_FACTOR = 1.0


def likely_last(state, settings):
    """Whether the pass at ``state`` is expected to be the last one.

    Fisher scoring converges quadratically near the solution (linearly for
    non-canonical links, where this guess is only a guess), so after a step
    of size ``d`` the next is about ``d^2``: the pass is likely last when
    ``d <= sqrt(tol * max(1, max |b|))``. A wrong guess costs time, never
    accuracy: the final pass is always complete.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.solvers import ScoringSettings, ScoringState
    >>> settings = ScoringSettings(fit_intercept=True, tol=1e-10)
    >>> likely_last(ScoringState(np.array([0.5, 1.0]), 3, 1e-2), settings)
    False
    >>> likely_last(ScoringState(np.array([0.5, 1.0]), 4, 1e-5), settings)
    True
    """
    if state.params is None:
        return False
    scale = max(1.0, float(np.max(np.abs(state.params))))
    return bool(state.last_step <= _LAST_STEP_FACTOR * np.sqrt(settings.tol * scale))


def glm_scale(family, pearson, df_resid):
    """The dispersion, as statsmodels ``GLM``: Pearson chi2 / df_resid, or 1 when fixed.

    # phi = sum w (y - mu)^2 / V(mu) / (n - p)   (Gaussian, Gamma, inverse Gaussian)

    Binomial and Poisson families have no dispersion (``phi = 1``).
    """
    if not family.has_dispersion:
        return 1.0
    return pearson / df_resid if df_resid > 0 else np.nan


def identified_columns(gram, fit_intercept, names=None):
    """The columns a weighted Gram identifies, or None when it identifies all.

    Columns are taken in order; a column is left out when it is constant
    (with an intercept) or zero, or when its residual after projection on
    the columns kept before it is at the rounding level (duplicated or
    collinear columns, more columns than rows), as R's pivoting QR does.

    Parameters
    ----------
    gram : GramStats
    fit_intercept : bool
    names : sequence of str, optional
        Column names for the warning.

    Returns
    -------
    ndarray of int or None

    Warns
    -----
    CollinearityWarning
        When a column is left out, naming it.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats
    >>> X = np.column_stack([np.arange(5.0), np.ones(5), 2 * np.arange(5.0)])
    >>> gram = GramStats.from_arrays(X, np.arange(5.0) ** 2)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     identified_columns(gram, fit_intercept=True)
    array([0])
    """
    k = gram.n_features
    moments = gram.moments(center=fit_intercept)[:k, :k]
    raw = np.diag(gram.moments(center=False))[:k]
    diag = np.diag(moments)
    varying = diag > _CONSTANT * raw
    keep = _independent(moments, np.flatnonzero(varying), max(_ALIASED, 10 * k * np.finfo(float).eps))
    if len(keep) == k:
        return None
    _warn_dropped(k, keep, varying, fit_intercept, names)
    return keep


def _independent(moments, candidates, tol):
    """Greedy in-order selection by an incremental Cholesky of the scaled Gram."""
    scale = np.sqrt(np.diag(moments))
    keep, factor = [], np.zeros((0, 0))
    for j in candidates:
        column = moments[keep, j] / (scale[keep] * scale[j])
        c = linalg.solve_triangular(factor, column, trans="T") if keep else column
        residual = 1.0 - c @ c
        if residual > tol:
            corner = np.array([[np.sqrt(residual)]])
            factor = np.block([[factor, c[:, None]], [np.zeros((1, len(keep))), corner]])
            keep.append(j)
    return np.array(keep, dtype=int)


def _warn_dropped(k, keep, varying, fit_intercept, names):
    names = [f"x{i}" for i in range(k)] if names is None else [str(n) for n in names]
    constant = [names[j] for j in np.flatnonzero(~varying)]
    aliased = [names[j] for j in sorted(set(np.flatnonzero(varying)) - set(keep))]
    detail = (
        (f" {'Constant' if fit_intercept else 'Zero'} columns: {constant}." if constant else "")
        + (f" Collinear with earlier columns: {aliased}." if aliased else "")
    )
    warnings.warn(
        f"The design matrix is rank deficient (rank {len(keep)} of {k} columns"
        f"{', after centring' if fit_intercept else ''}).{detail} These columns are "
        "left out of the fit: coefficient 0, standard error NaN (as R's glm).",
        CollinearityWarning,
        stacklevel=4,
    )


def select_columns(gram, columns):
    """The Gram statistics of the columns ``columns`` of ``X`` (all targets kept)."""
    k = gram.n_features
    index = np.concatenate([columns, np.arange(k, k + gram.n_targets)])
    return GramStats(
        len(columns), gram.n_targets, gram.n_rows, gram.weight_sum,
        gram.mean[index], gram.comoment[np.ix_(index, index)],
    )
