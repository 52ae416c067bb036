"""Row passes of Poisson regression with one absorbed factor (fixest's ``fepois``).

# mu = exp(x'b + a_e),  W = w mu,  r = x'b + (y - mu) / mu

Three kinds of pass, each a module-level map from one checked chunk
(:class:`EffectsRows`) to mergeable statistics:

1. :func:`level_count_pass` once: per level, the weighted mean of ``y``
   (levels whose ``y`` are all zero are dropped, as fixest and pyfixest do);
2. :func:`poisson_effects_pass` per IRLS iteration, at the current iterate;
3. :func:`poisson_scores_pass` for robust errors, at the reported iterate.

Rows of dropped levels are skipped by every pass after the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ..stats import ClusterSums, GramStats, LevelMeans, OuterProductStats
from ..stats._fepois import LevelIndex, PoissonEffectsPass, PoissonScores


@dataclass(frozen=True)
class EffectsRows:
    """One checked chunk: dense ``X``, 1-D ``y``, weights, level and cluster labels."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    levels: np.ndarray
    clusters: np.ndarray | None


@dataclass(frozen=True)
class _KeptRows:
    """The rows of kept levels, each with its position among the kept labels."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    index: LevelIndex
    clusters: np.ndarray | None

    @property
    def position(self):
        return self.index.position


def level_count_pass(rows):
    """Per level: row count, weight and weighted means of ``[y, X]`` (a :class:`LevelMeans`).

    Examples
    --------
    >>> import numpy as np
    >>> rows = EffectsRows(np.zeros((3, 1)), np.array([0.0, 2.0, 0.0]), None,
    ...                    np.array(["a", "b", "a"]), None)
    >>> counts = level_count_pass(rows)
    >>> counts.labels.tolist(), counts.mean[:, 0].tolist()
    (['a', 'b'], [0.0, 2.0])
    """
    return LevelMeans.from_arrays(np.column_stack([rows.y, rows.X]), rows.levels,
                                  rows.sample_weight)


def _kept(rows, labels):
    index = LevelIndex.of(labels, rows.levels)
    w = np.ones(len(rows.y)) if rows.sample_weight is None else rows.sample_weight
    found = index.found
    if found.all():
        return _KeptRows(rows.X, rows.y, w, index, rows.clusters)
    clusters = None if rows.clusters is None else rows.clusters[found]
    return _KeptRows(rows.X[found], rows.y[found], w[found], index, clusters)


def _working(rows, iterate):
    """``(lin, mu, r, a)``: ``x'b``, the means, the working response net of the
    effects and each row's effect at ``iterate`` (the start: pyfixest's means)."""
    if iterate.start_mean is not None:
        mu = (rows.y + iterate.start_mean) / 2
        eta = np.log(mu)
        return np.zeros(len(mu)), mu, eta + rows.y / mu - 1, np.zeros(len(mu))
    lin = rows.X @ iterate.coef
    effect = iterate.effects[rows.position]
    mu = np.exp(lin + effect)
    return lin, mu, lin + (rows.y - mu) / mu, effect


def poisson_effects_pass(rows, iterate, labels):
    """One chunk's :class:`~skbigreg.stats.PoissonEffectsPass` at ``iterate``.

    Parameters
    ----------
    rows : EffectsRows
    iterate : PoissonIterate
    labels : ndarray of shape (G,)
        Sorted labels of the kept levels (``iterate.effects`` is aligned
        with them); rows of other levels are skipped.

    Returns
    -------
    PoissonEffectsPass

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.solvers._fepois import PoissonIterate
    >>> rows = EffectsRows(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.0, 0.0]), None,
    ...                    np.array([0, 0, 1]), None)
    >>> stats = poisson_effects_pass(rows, PoissonIterate.start(1, 1, 1.5), np.array([0]))
    >>> stats.gram.n_rows, stats.levels.labels.tolist()
    (2, [0])
    """
    kept = _kept(rows, labels)
    k = kept.X.shape[1]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        lin, mu, r, _ = _working(kept, iterate)
        weight = kept.w * mu
        Z = np.column_stack([kept.X, r])
        if iterate.shifts is not None:  # centre each level near its mean (see PoissonIterate)
            Z -= iterate.shifts[kept.position]
        levels = LevelMeans.from_codes(Z, labels[kept.index.local], kept.index.codes, weight)
        y = kept.y
        unit = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - (y - mu)
    if not len(y):
        return PoissonEffectsPass.empty(k)
    return PoissonEffectsPass(GramStats.from_arrays(Z[:, :k], Z[:, k], weight), levels,
                              float(2 * kept.w @ unit), float(logsumexp(lin, b=kept.w)))


def poisson_scores_pass(rows, previous, current, x_means, labels):
    """One chunk's :class:`~skbigreg.stats.PoissonScores` at the reported iterate.

    ``current`` solves the weighted least squares of the pass made at
    ``previous`` (whose level means of ``X`` are ``x_means``); the scores
    are those of that regression, as fixest and pyfixest compute them:
    ``s_i = w_i mu_i (r_i - x_i'b - a_e + a_prev,e) (x_i - m_x,e)`` with ``mu``,
    ``r`` and ``a_prev`` of ``previous``.
    """
    kept = _kept(rows, labels)
    lin, mu, r, effect = _working(kept, previous)
    fitted = kept.X @ current.coef + current.effects[kept.position] - effect
    residual = kept.w * mu * (r - fitted)
    scores = (kept.X - x_means[kept.position]) * residual[:, None]
    meat = OuterProductStats.from_rows(scores)
    if kept.clusters is None:
        return PoissonScores(meat, None, None)
    nesting = LevelMeans.from_arrays(np.zeros((len(scores), 1)), labels[kept.position],
                                     None, kept.clusters)
    return PoissonScores(meat, ClusterSums.from_rows(scores, kept.clusters), nesting)
