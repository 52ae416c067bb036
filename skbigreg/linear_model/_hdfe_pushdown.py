"""Two or more absorbed factors fitted where the rows live (SQL push-down).

The database gives the factors' cells (distinct combinations of levels)
with their weights, means and within-cell co-moment
(:mod:`skbigreg.io._pushdown_hdfe`); the effects are solved on the cells
by the conjugate-gradient steps of the pulled fit (``_hdfe``), in memory,
and the within Gram is the cells' demeaned Gram plus the within-cell
co-moment. Degrees of freedom, singletons and nesting in clusters are
read off the cells with each level's row count, so every fitted attribute
is the pulled fit's. Memory is ``O(C (K + 1))`` for ``C`` cells, at most
the push-down's ``max_cells``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import check_labels
from ..passes import effect_product, demeaned_gram
from ..passes._pushdown_hdfe import (
    pushdown_cells,
    pushdown_effect_score_pass,
    pushdown_factor_nesting,
)
from ..solvers import EffectsProblem, normalised_effects
from ..solvers._fixed_effects import ABSORBED, ABSORBED_RAW
from ..stats import LevelCoder, LevelPairs
from ._hdfe import FirstPass, MultiwayFit, absorbed_count, iterate_effects


def refuse_pushdown_labels(estimator, pushdown):
    """What a multi-way fit does not read (pulled or pushed down): refused."""
    if pushdown.periods is not None or estimator.cov_type == "driscoll-kraay":
        raise ValueError("Driscoll-Kraay errors (periods=) are not available with two or more "
                         "absorbed factors; absorb one factor, or choose another cov_type.")
    if estimator.cov_type == "cluster" and pushdown.clusters is None:
        raise ValueError(f"{type(estimator).__name__} with cov_type='cluster' needs clusters "
                         "labels: read_sql(..., clusters=column).")


def singleton_cells(cells):
    """Cells to keep once singleton levels (one row) are dropped, repeatedly (fixest).

    Each level's rows are counted from the cells; a cell with a dropped
    level holds that level's one row and leaves with it. Returns the cells
    kept (a mask) and the rows dropped.
    """
    keep = np.ones(len(cells.n_rows), dtype=bool)
    codes = [np.unique(level, return_inverse=True)[1] for level in cells.levels]
    while True:
        rows = np.where(keep, cells.n_rows, 0)
        single = np.zeros(len(keep), dtype=bool)
        for code in codes:
            counts = np.bincount(code, weights=rows)
            single |= keep & (counts[code] == 1)
        if not single.any():
            return keep, int(cells.n_rows[~keep].sum())
        keep &= ~single


def solve_cell_effects(problem, codes, weight, max_iter):
    """Conjugate-gradient steps on the cells until convergence or ``max_iter``."""
    return iterate_effects(problem, lambda direction: effect_product(direction, codes, weight).sums,
                           max_iter, len(codes), "steps", stacklevel=6)


@dataclass(frozen=True)
class CellFit:
    """The multi-way fit of a push-down, and the columns its effects absorb."""

    fit: MultiwayFit
    absorbed: np.ndarray


def absorbed_columns(totals, within, spread):
    """Columns of ``X`` in the span of the factors' indicators.

    A column that varies within some cell (a within-cell spread above
    ``ABSORBED_RAW`` of its raw second moment: rounding is far below) is
    not, however large its offsets between levels; one constant within
    every cell is when its within variance is at most ``ABSORBED`` of its
    total variance (the pulled fit's rule).
    """
    k = totals.n_features
    total = np.diag(totals.comoment)[:k]
    raw = total + totals.weight_sum * totals.mean_x ** 2
    varies = np.diag(spread)[:k] > ABSORBED_RAW * np.maximum(raw, 1e-300)
    return ~varies & (np.diag(within.comoment)[:k] <= ABSORBED * np.maximum(total, 1e-300))


def fitted_from_cells(estimator, pushdown):
    """Refuse what a multi-way fit does not read, fit on the cells and set the
    fitted attributes every multi-way push-down model shares; the
    :class:`CellFit` is returned for the model's own solve."""
    refuse_pushdown_labels(estimator, pushdown)
    cells = fit_pushdown_cells(estimator, pushdown)
    cells.fit.set_fitted(estimator)
    estimator.n_features_in_ = len(pushdown.feature_names)
    estimator.feature_names_in_ = np.asarray(pushdown.feature_names, dtype=object)
    estimator.target_name_ = pushdown.target
    return cells


def fit_pushdown_cells(estimator, pushdown):
    """The multi-way fit of a push-down, as :class:`CellFit` (see the module)."""
    cells = pushdown_cells(pushdown)
    n_singletons = 0
    if estimator.drop_singletons:
        keep, n_singletons = singleton_cells(cells)
        cells = cells.kept(keep)
        if not len(cells.n_rows):
            raise ValueError("Every row lies in a singleton level: no rows are left to fit.")
    nested, nesting = None, None
    if estimator.cov_type == "cluster":
        # per cluster dimension, which factors nest in it, over the rows kept
        kept = [np.unique(level) for level in cells.levels] if n_singletons else None
        flags = pushdown_factor_nesting(pushdown, kept)
        if pushdown.multiway:  # as the pulled fit's first pass gives them
            nesting = tuple(cells.factor_means(dimension) for dimension in flags)
        else:
            nested = flags[0]
    levels = cells.factor_means(nested)
    totals = cells.totals()
    names = list(pushdown.entities)
    coders = [LevelCoder.of(f.labels) for f in levels.factors]
    codes = [coder.codes(level, f"entities[{name}]")
             for coder, level, name in zip(coders, cells.levels, names)]
    scale = np.sqrt(np.diag(totals.comoment) / totals.weight_sum)
    problem = EffectsProblem.from_means(levels, estimator.tol, scale)
    state = solve_cell_effects(problem, codes, cells.weight, estimator.max_iter)
    effects = normalised_effects(state.effects, problem.weights)
    k = totals.n_features
    within = cells.with_spread(demeaned_gram(cells.Z, codes, effects, k, cells.weight))
    sizes = levels.sizes
    pairs = LevelPairs.from_codes(codes[0], codes[1], sizes[:2])
    _, kinds = check_labels(type(estimator).__name__,
                            {f"entities[{n}]": level for n, level in zip(names, cells.levels)},
                            len(cells.n_rows))
    fit = MultiwayFit(FirstPass(totals, levels, True, nesting), effects, within, state.n_iter,
                      state.converged, names, kinds,
                      absorbed_count(sizes, pairs.n_components()), n_singletons)
    return CellFit(fit, absorbed_columns(totals, within, cells.spread))


def pushdown_scores(estimator, pushdown, forms):
    """The score pass in the database of the residual ``forms`` (see
    :func:`~skbigreg.passes.demeaned_form_scores`) at the fit (HC1, CRV1)."""
    return pushdown_effect_score_pass(pushdown, level_stats=estimator.level_stats_,
                                      effects=estimator.column_effects_, forms=forms,
                                      stats=estimator.stats_)
