"""The IRLS pass: one chunk's :class:`~skbigreg.stats.IRLSPass` at given coefficients.

# z = eta + (y - mu) / h'(eta),  W = w h'(eta)^2 / V(mu),  s_i = w_i (y_i - mu_i) nu_i [1, x_i]

At the current coefficients a chunk maps to the weighted Gram statistics of
``[X, z]`` (centred, as every least-squares fit here), the deviance and
Pearson statistic, the outer products of the per-row scores ``s_i`` (HC
errors) and their per-cluster sums (cluster errors). The first pass starts
from the family's starting means instead of coefficients.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..solvers._irls_streamed import (
    CONVERGED,
    ScoringSettings,
    ScoringState,
    identified_columns,
    scoring_step,
)
from ..stats import ClusterSums, GramStats, IRLSPass, LikelihoodSums, OuterProductStats
from ..stats._moments import block_rows

# Variance V(mu) and |y - mu| at or below which a row is fitted exactly at
# the support's edge (binomial: min(p, 1 - p) <= 1e-8; |eta| >= 18.4 for the
# logit link, 5.6 for the probit link).
_SATURATED = 1e-8


def irls_pass(X, y, sample_weight, coef, intercept, family, link, fit_intercept,
              clusters=None, complete=True):
    """The :class:`~skbigreg.stats.IRLSPass` of one chunk at ``(coef, intercept)``.

    A light pass (``complete=False``) gathers only what a Fisher-scoring
    step needs (the Gram of the working response, the saturated rows), about
    a third of the work of a complete one; the fit makes the pass at its
    final coefficients complete.

    Parameters
    ----------
    X : ndarray of shape (n, k)
    y : ndarray of shape (n,)
    sample_weight : ndarray of shape (n,) or None
    coef : ndarray of shape (k,) or None
        None starts from the family's starting means (the first pass).
    intercept : float or None
    family, link : :class:`skbigreg.glm.Family`, :class:`skbigreg.glm.Link`
    fit_intercept : bool
    clusters : ndarray of shape (n,), optional
    complete : bool, default=True
        Also gather the deviance, Pearson statistic, scores, observed
        information, cluster sums and likelihood sums.

    Returns
    -------
    IRLSPass

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.glm import get_family_link
    >>> from skbigreg.passes import irls_pass
    >>> family, link = get_family_link("poisson", None)
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.0, 4.0])
    >>> stats = irls_pass(X, y, None, np.array([0.5]), 0.2, family, link, True)
    >>> stats.gram.n_rows, stats.meat.matrix.shape
    (3, (2, 2))
    """
    rows = block_rows(X.shape[1] + 1)
    if not complete and coef is not None and len(X) > rows:
        return _light_pass_in_blocks(X, y, sample_weight, coef, intercept, family, link,
                                     fit_intercept, rows)
    if coef is None:
        eta = link.link(family.start_mu(y))
    else:
        eta = X @ coef + intercept
    mu, slope = link.inverse_and_deriv(eta)
    variance = family.variance(mu)
    nu = family.nu(link, eta)
    residual = y - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        working = residual / slope
    working += eta
    fisher = nu * slope
    # A row is saturated when its mean sits at the edge of the support and
    # equals its response there (separation); per row, so chunking and
    # zero-weight rows change nothing.
    saturated = ~np.isfinite(working)
    saturated |= (variance <= _SATURATED) & (np.abs(residual) <= _SATURATED)
    np.copyto(working, eta, where=saturated)
    fisher[saturated] = 0.0
    if sample_weight is None:  # unit weights: no product, no mask (the same numbers)
        gram = GramStats.from_arrays(X, working, fisher)
        n_saturated = int(np.count_nonzero(saturated))
    else:
        gram = GramStats.from_arrays(X, working, sample_weight * fisher)
        n_saturated = int(np.count_nonzero(saturated & (sample_weight > 0)))
    if not complete:
        return IRLSPass.light(gram, n_saturated)
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    scores = _design_rows(X, w * residual * nu, fit_intercept)
    return IRLSPass(
        gram=gram,
        deviance=family.deviance(y, eta, link, w),
        pearson=float(w @ (residual**2 / variance)),
        meat=OuterProductStats.from_rows(scores),
        observed=OuterProductStats(len(X), _observed_information(
            X, eta, residual, w, fisher, saturated, gram, family, link, fit_intercept)),
        cluster_sums=None if clusters is None else ClusterSums.from_rows(scores, clusters),
        n_saturated=n_saturated,
        likelihood=LikelihoodSums.from_rows(w, y, mu, family.name),
    )


def _light_pass_in_blocks(X, y, sample_weight, coef, intercept, family, link, fit_intercept,
                          rows):
    """A light pass made block by block, each block's temporaries staying in cache.

    The blocks are the ones the Gram accumulator cuts a chunk into, merged
    in the same order, so the statistics equal the whole chunk's bit for bit.
    """
    total = IRLSPass.light(GramStats.empty(X.shape[1], 1), 0)
    for start in range(0, len(X), rows):
        block = slice(start, start + rows)
        w = None if sample_weight is None else sample_weight[block]
        total = total + irls_pass(X[block], y[block], w, coef, intercept, family, link,
                                  fit_intercept, complete=False)
    return total


def _design_rows(X, factor, fit_intercept):
    """The rows ``factor_i [1, x_i]`` (or ``factor_i x_i``), without stacking a copy of X."""
    rows = np.empty((len(X), X.shape[1] + bool(fit_intercept)))
    if fit_intercept:
        rows[:, 0] = factor
    np.multiply(X, factor[:, None], out=rows[:, int(bool(fit_intercept)):])
    return rows


# (family, link) pairs whose nu is a constant (the canonical links, up to
# sign and scale): there nu' = 0 and the observed information is Fisher's.
_CONSTANT_NU = {("gaussian", "identity"), ("binomial", "logit"), ("poisson", "log"),
                ("gamma", "inverse"), ("inverse_gaussian", "inverse_squared")}


def _observed_information(X, eta, residual, w, fisher, saturated, gram, family, link,
                          fit_intercept):
    """``sum_i w_i (h' nu - (y_i - mu_i) nu')_i d_i d_i'`` over the design rows ``d_i``.

    For a canonical link ``nu' = 0``: this is the raw weighted Gram of the
    design, which ``gram`` (weights ``w h' nu``, saturated rows 0) already
    holds, so no product over the rows is made.
    """
    if (family.name, link.name) in _CONSTANT_NU:
        return _raw_design_gram(gram, fit_intercept)
    observed = w * (fisher - residual * _nu_slope(family, link, eta))
    observed[saturated] = 0.0
    return _design_rows(X, observed, fit_intercept).T @ _design_rows(X, np.ones(len(X)),
                                                                     fit_intercept)


def _raw_design_gram(gram, fit_intercept):
    """``D'WD`` for the design ``D = [1, X]`` (or ``X``) from centred statistics of ``[X, z]``."""
    k = gram.n_features
    raw = gram.moments(center=False)[:k, :k]
    if not fit_intercept:
        return raw
    sums = gram.weight_sum * gram.mean[:k]
    return np.block([[np.full((1, 1), gram.weight_sum), sums[None, :]], [sums[:, None], raw]])


def irls_chunk_pass(item, coef, intercept, family, link, fit_intercept, columns=None,
                    complete=True):
    """Worker: the :class:`IRLSPass` of one validated ``(X, y, w, clusters)`` chunk.

    ``columns`` keeps only those columns of ``X`` (the identified ones of a
    rank-deficient design); overflow in a trial step is left to the solver,
    which sees it in the merged statistics.
    """
    X, y, w, clusters = item
    if columns is not None:
        X = X[:, columns]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return irls_pass(X, y, w, coef, intercept, family, link, fit_intercept, clusters,
                         complete)


def _nu_slope(family, link, eta):
    """``d nu / d eta`` by a central difference (0 for canonical links).

    The step ``1e-5 max(1, |eta|)`` balances truncation (``~1e-10``
    relative) against rounding (``~1e-11``).
    """
    step = 1e-5 * np.maximum(1.0, np.abs(eta))
    return (family.nu(link, eta + step) - family.nu(link, eta - step)) / (2 * step)


# Rows of the first chunk the starting fit reads: its error, ~1/sqrt(rows) of
# the coefficients' scale, leaves about two full passes to the solution.
START_ROWS = 50_000
# The starting fit stops at this step size: it only needs to be close.
_START_TOL = 1e-6


def subsample_start(item, family, link, fit_intercept, max_iter=25):
    """Starting coefficients from a GLM fitted on the rows of ``item`` in memory.

    Fisher scoring converges quadratically only near the solution; started
    from the family's starting means, the first full passes are spent
    getting there. The MLE of a subsample (``item``, a validated ``(X, y,
    w, clusters)`` chunk, at most :data:`START_ROWS` rows of it) is within
    sampling error of the full-data MLE, so the full passes start close:
    the full-data fit converges to the same MLE, in fewer passes.

    Returns
    -------
    ndarray of shape (1 + k,) or None
        Intercept (0 without one), then coefficients; None when the
        subsample does not give a clean start (too few rows, collinear or
        separated, not converged), and the fit starts as usual.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.glm import get_family_link
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5000, 2))
    >>> y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.2])).astype(float)
    >>> family, link = get_family_link("poisson", None)
    >>> np.round(subsample_start((X, y, None, None), family, link, True), 1)
    array([ 0.3,  0.5, -0.2])
    """
    X, y, w, _ = item
    X, y = X[:START_ROWS], y[:START_ROWS]
    w = None if w is None else w[:START_ROWS]
    if len(X) <= 10 * (X.shape[1] + 1):
        return None
    settings, state = ScoringSettings(fit_intercept, _START_TOL), ScoringState()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(max_iter + 1):
            stats = irls_pass(X, y, w, state.coef, state.intercept, family, link,
                              fit_intercept, complete=False)
            if stats.gram.weight_sum <= 0 or stats.n_saturated:
                return None
            if state.params is None and identified_columns(stats.gram, fit_intercept) is not None:
                return None
            step = scoring_step(stats, state, settings)
            if not np.all(np.isfinite(step.state.params)):
                return None
            if step.status == CONVERGED:
                return step.state.params
            state = step.state
    return None
