"""Two or more absorbed factors (high-dimensional fixed effects), out of core.

The passes behind :class:`CumulativeFixedEffectsRegression` when
``entities`` has several columns:

1. one pass of totals and per-level means of ``z = [X, y]`` for every factor
   (:class:`~skbigreg.stats.FactorMeans`): it fixes every factor's levels;
2. one pass per conjugate-gradient step on the normal equations of the
   effects (:mod:`skbigreg.solvers._alternating`), each mapping chunks to
   :class:`~skbigreg.stats.LevelSums`, until fixest's criterion holds or
   ``max_iter`` passes have run;
3. one pass of the Gram of the demeaned rows, which the least-squares solve
   reads;
4. for HC1 and CRV1 errors, one pass of scores at the final coefficients.

Memory is ``O(G (K + 1))`` for ``G`` levels in all, whatever the rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import column_or_1d

from ..base import check_labels, refuse_unread, target_name, validate_chunk
from ..io import check_cluster_columns, cluster_columns
from ..exceptions import ConvergenceWarning
from ..passes import (
    demeaned_form_scores,
    demeaned_gram,
    demeaned_rows,
    demeaned_score_statistics,
    effect_product,
)
from ..solvers import (
    EffectsProblem,
    conjugate_step,
    normalised_effects,
    start_effects,
)
from ..solvers._fixed_effects import at_rounding_floor
from ..stats import FactorMeans, GramStats, LevelCoder, LevelPairs, LevelSums, as_dense

_MULTI_PASS = (
    "entities has {count} columns (factors): absorbing two or more factors takes several "
    "passes over all rows, which partial_fit (one chunk at a time) and a one-shot iterator "
    "cannot make; use fit (in-memory rows) or fit_chunks with a re-iterable chunk source "
    "(a list of chunks, a callable returning a fresh iterator, a file source)."
)


def refuse_one_factor_singletons(estimator):
    """``drop_singletons`` needs two or more factors (passes); say so for one."""
    if getattr(estimator, "drop_singletons", False):
        raise ValueError(
            f"{type(estimator).__name__}: drop_singletons=True applies to two or more "
            "absorbed factors (entities with several columns), whose passes find the "
            "singletons first. With one factor the singletons are kept: they change no "
            "coefficient, only the degrees of freedom (one each)."
        )


def singleton_notes(estimator):
    """The summary's note on the rows dropped in singleton levels, if any."""
    count = getattr(estimator, "n_singletons_", 0)
    if not count:
        return ()
    return (f"{count} observation(s) in singleton levels of the absorbed factors were "
            "dropped (drop_singletons=True).",)


def factor_effects(estimator):
    """The model's effects of each factor, ``a_f - a_f,x' b`` per level (a dict of Series).

    ``column_effects_`` hold each factor's effects of every column of
    ``[X, y]``; those of the model follow from the coefficients.
    """
    k = estimator.n_features_in_
    return {name: pd.Series(a[:, k] - a[:, :k] @ estimator.coef_,
                            index=pd.Index(f.labels, name=name), name="effect")
            for name, a, f in zip(estimator.entity_names_, estimator.column_effects_,
                                  estimator.level_stats_.factors)}


def row_offsets(effects, entities, default):
    """Each row's sum of effects over the factors; ``default`` where a level is unknown."""
    _, columns = factor_columns(entities)
    known = sum(e.reindex(c).to_numpy() for e, c in zip(effects.values(), columns))
    return np.where(np.isnan(known), default, known)


def uncentred_within(within, total):
    """The demeaned rows' second moments as :class:`GramStats` of mean zero.

    The solvers read them without an intercept (the effects absorb it), as
    the one-factor within statistics.
    """
    mean = np.append(within.mean_x, within.mean_y)
    moments = within.comoment + within.weight_sum * np.outer(mean, mean)
    return GramStats(total.n_features, total.n_targets, total.n_rows, total.weight_sum,
                     np.zeros(len(mean)), moments)


def absorbed_dof(estimator, cov_type):
    """Effects counted in a multi-way fit's small-sample factor (fixest, pyfixest).

    For CRV1, a factor whose every level lies in one cluster (of some
    dimension, with multi-way clusters) counts as one effect
    (``k_fixef="nonnested"``); otherwise the rank of the effects.
    """
    if cov_type != "cluster":
        return estimator.df_absorbed_
    nested = [f.nested for f in estimator.level_stats_.factors]
    ways = vars(estimator).get("cluster_nesting_")
    if ways is not None:  # multi-way: nested in the clusters of some dimension (pyfixest)
        nested = [any(way.factors[f].nested for way in ways) for f in range(len(nested))]
    sizes = np.asarray(estimator.level_stats_.sizes)[nested]
    return estimator.df_absorbed_ - int(sizes.sum()) + len(sizes)


def n_factors(entities):
    """Columns of ``entities``: 1 for one label per row, F for an (n, F) table."""
    shape = getattr(entities, "shape", None)
    if shape is None:
        shape = np.shape(entities)
    return shape[1] if len(shape) == 2 else 1


def one_factor(entities):
    """``entities`` as one label per row when it is a single column."""
    if entities is None or len(getattr(entities, "shape", np.shape(entities))) != 2:
        return entities
    if isinstance(entities, pd.DataFrame):
        return entities.iloc[:, 0]
    return np.asarray(entities)[:, 0]


def factor_columns(entities):
    """Names and label arrays of the factors of an (n, F) ``entities`` table."""
    if isinstance(entities, pd.DataFrame):
        return [str(c) for c in entities.columns], [entities[c].to_numpy() for c in entities.columns]
    table = np.asarray(entities)
    return [str(j) for j in range(table.shape[1])], list(table.T)


@dataclass(frozen=True)
class MultiwayRows:
    """One checked chunk: ``Z = [X, y]``, weights, factor labels and clusters
    (one label array, or a tuple of them for multi-way clusters)."""

    Z: np.ndarray
    sample_weight: np.ndarray | None
    levels: list
    clusters: np.ndarray | tuple | None
    y_1d: bool


class MultiwayReader:
    """Reads the chunks of every pass: rows by :func:`validate_chunk`, labels by
    :func:`check_labels` (a factor's labels keep one kind in every chunk and
    every pass), each factor named ``entities[name]`` in messages."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.owner = type(estimator).__name__
        self.names = None
        self.kinds = None
        self.cluster_kinds = None  # of each column of multi-way clusters
        self.dropped = None  # each factor's singleton levels, sorted (drop_singletons)
        self.started = False  # whether a chunk with rows has fixed the features

    def factors(self, entities, first):
        """The chunk's factor names and labels; the same factors in every chunk."""
        if entities is None or n_factors(entities) < 2:
            raise ValueError(
                f"{self.owner}: every chunk of a multi-way fit needs entities with one "
                f"column per factor ({len(self.names or [])} here); this chunk has "
                f"{'none' if entities is None else 'one column'}."
            )
        names, columns = factor_columns(entities)
        if first and self.names is None:
            self.names = names
        elif names != self.names:
            raise ValueError(
                f"{self.owner}: entities columns {names} differ from the first chunk's "
                f"{self.names}; every chunk needs the same factors in the same order."
            )
        return names, columns

    def read(self, chunk, first):
        """A chunk's rows and labels, checked (``first``: the fit's first chunk)."""
        refuse_unread(self.owner, chunk.labels, ("entities", "clusters"))
        names, columns = self.factors(chunk.label("entities"), first)
        given = {f"entities[{n}]": c for n, c in zip(names, columns)}
        given["clusters"] = chunk.label("clusters")
        ways = cluster_columns(given["clusters"])
        if ways is not None:  # multi-way: the first column stands for the label in the kinds
            given["clusters"] = ways[0][1]
        if first and self.kinds is None and self.estimator.cov_type == "cluster" \
                and given["clusters"] is None:
            raise ValueError(
                f"{self.owner} with cov_type='cluster' needs clusters labels with every "
                "chunk: fit(..., clusters=labels)."
            )
        labels, self.kinds = check_labels(self.owner, given, chunk.n_rows, self.kinds)
        clusters = labels.get("clusters")
        if ways is not None or self.cluster_kinds is not None:
            if ways is None:
                raise ValueError(
                    f"clusters has 1 column in this chunk and had {len(self.cluster_kinds)} "
                    "in the earlier ones; give the same cluster columns with every chunk.")
            clusters, self.cluster_kinds = check_cluster_columns(ways, chunk.n_rows,
                                                                 self.cluster_kinds)
        y = column_or_1d(chunk.y, warn=True) if first else np.ravel(chunk.y)
        if first:
            self.estimator.target_name_ = target_name(chunk.y)
        X, y, w, y_1d = validate_chunk(self.estimator, chunk.X, y, chunk.sample_weight, first)
        levels = [labels[f"entities[{n}]"] for n in names]
        # a sparse chunk is densified: the demeaned columns are dense anyway
        rows = MultiwayRows(np.hstack([as_dense(X), y]), w, levels, clusters, y_1d)
        return self.kept(rows)

    def read_levels(self, chunk):
        """A later pass's chunk: its factor labels and weights only."""
        _, columns = self.factors(chunk.label("entities"), first=False)
        w = None if chunk.sample_weight is None else np.asarray(chunk.sample_weight, float)
        return self.kept(MultiwayRows(None, w, columns, None, None))

    def kept(self, rows):
        """``rows`` without those in a dropped (singleton) level of any factor."""
        if self.dropped is None:
            return rows
        keep = singleton_free(rows.levels, self.dropped)
        if keep.all():
            return rows
        pick = (lambda a: None if a is None else a[keep])
        clusters = rows.clusters
        clusters = tuple(map(pick, clusters)) if isinstance(clusters, tuple) else pick(clusters)
        return MultiwayRows(pick(rows.Z), pick(rows.sample_weight),
                            [np.asarray(level)[keep] for level in rows.levels],
                            clusters, rows.y_1d)


def singleton_free(levels, dropped):
    """Rows none of whose levels is among the ``dropped`` levels of its factor."""
    keep = np.ones(len(levels[0]), dtype=bool)
    for level, gone in zip(levels, dropped):
        if len(gone):
            keep &= ~np.isin(np.asarray(level), gone)
    return keep


def singleton_levels(reader, source):
    """Each factor's singleton levels, found as fixest finds them.

    A label-only pass counts the rows of every level (a
    :class:`~skbigreg.stats.FactorMeans` of one zero column: ``O(levels)``
    memory); levels with one row are dropped with their rows, which can
    leave a level of another factor with one row, so the pass is repeated
    over the rows left until no singleton is left. Returns the dropped
    levels (sorted, per factor; None when there are none), the rows
    dropped and the passes made.
    """
    dropped, n_passes, kinds = None, 0, None
    while True:
        counts = None
        for chunk in source:
            if chunk.n_rows == 0:
                continue
            _, columns = reader.factors(chunk.label("entities"), first=reader.names is None)
            given = {f"entities[{n}]": c for n, c in zip(reader.names, columns)}
            labels, kinds = check_labels(reader.owner, given, chunk.n_rows, kinds)
            levels = [labels[f"entities[{n}]"] for n in reader.names]
            if dropped is not None:
                keep = singleton_free(levels, dropped)
                levels = [level[keep] for level in levels]
            # one zero column: FactorMeans is used for its labels and row counts only
            part = FactorMeans.from_arrays(np.zeros((len(levels[0]), 1)), levels)
            counts = part if counts is None else counts + part
        n_passes += 1
        if counts is None:
            raise ValueError("The chunk source holds no rows.")
        if n_passes == 1:
            n_all = int(counts.factors[0].n_rows.sum())
        new = [f.labels[f.n_rows == 1] for f in counts.factors]
        if not any(len(level) for level in new):
            break
        dropped = new if dropped is None else [np.union1d(a, b) for a, b in zip(dropped, new)]
    return dropped, n_all - int(counts.factors[0].n_rows.sum()), n_passes


@dataclass(frozen=True)
class FirstPass:
    """Totals of all rows and every factor's per-level means.

    ``nesting`` (multi-way clusters only) holds, per cluster dimension, a
    :class:`FactorMeans` of one zero column whose factors say whether each
    factor's levels lie in one cluster of that dimension.
    """

    stats: GramStats
    levels: FactorMeans
    y_1d: bool
    nesting: tuple | None = None


def first_pass(reader, source):
    """Map and merge every chunk's totals and per-level means (pass 1)."""
    stats = levels = y_1d = nesting = None
    for chunk in source:
        if chunk.n_rows == 0:
            continue
        rows = reader.read(chunk, first=not reader.started)
        reader.started = True
        if not len(rows.Z):  # every row in a dropped singleton level
            continue
        k = rows.Z.shape[1] - 1
        part = GramStats.from_arrays(rows.Z[:, :k], rows.Z[:, k:], rows.sample_weight)
        ways = rows.clusters if isinstance(rows.clusters, tuple) else None
        means = FactorMeans.from_arrays(rows.Z, rows.levels, rows.sample_weight,
                                        None if ways else rows.clusters)
        nested = None if ways is None else tuple(
            FactorMeans.from_arrays(np.zeros((len(rows.Z), 1)), rows.levels, None, column)
            for column in ways)
        if stats is None:
            stats, levels, y_1d, nesting = part, means, rows.y_1d, nested
        else:
            stats, levels = stats + part, levels + means
            nesting = None if nesting is None else tuple(a + b for a, b in zip(nesting, nested))
    if stats is None:
        raise ValueError("The chunk source holds no rows.")
    return FirstPass(stats, levels, y_1d, nesting)


def pass_sum(reader, source, coders, map_rows, levels_only=False):
    """One pass: ``map_rows(rows, codes)`` for every chunk, merged with ``+``.

    ``codes`` are each factor's level positions. ``levels_only`` reads just
    the labels and weights (checked in the first pass; a level not seen
    there is refused): a conjugate-gradient step needs nothing else.
    """
    total = None
    for chunk in source:
        if chunk.n_rows == 0:
            continue
        rows = reader.read_levels(chunk) if levels_only else reader.read(chunk, first=False)
        if not len(rows.levels[0]):
            continue
        codes = [coder.codes(level, f"entities[{name}]") for coder, level, name
                 in zip(coders, rows.levels, reader.names)]
        part = map_rows(rows, codes)
        if isinstance(part, LevelSums):
            total = part.add_to(total)  # the pass owns its sums: add in place
        else:
            total = part if total is None else _merge(total, part)
    return total


def _merge(total, part):
    """``total + part``, element by element for a tuple of statistics."""
    if isinstance(total, tuple):
        return tuple(a + b for a, b in zip(total, part))
    return total + part


def solve_effects(reader, source, coders, problem, max_iter):
    """Conjugate-gradient passes until convergence or ``max_iter`` passes."""
    return iterate_effects(
        problem,
        lambda direction: pass_sum(reader, source, coders,
                                   lambda rows, codes: effect_product(direction, codes,
                                                                      rows.sample_weight),
                                   levels_only=True).sums,
        max_iter, len(coders), "passes", stacklevel=5)


def iterate_effects(problem, product, max_iter, n_factors, steps, stacklevel):
    """Conjugate-gradient steps until convergence or ``max_iter`` steps.

    ``product(direction)`` gives the per-level sums of a step (a pass over
    the rows, or over the cells of a push-down); ``steps`` names them in the
    warning given when the effects do not converge.
    """
    state = start_effects(problem)
    while not state.converged and state.n_iter < max_iter:
        state = conjugate_step(problem, state, product(state.direction))
    if not state.converged:
        warnings.warn(
            f"The effects of the {n_factors} absorbed factors did not converge in "
            f"max_iter={max_iter} {steps} (tol={problem.tol:g}); the coefficients may be "
            "inexact. Raise max_iter, or see the user guide on when alternating "
            "projections are slow (few movers between levels).",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return state


@dataclass(frozen=True)
class MultiwayFit:
    """What the passes leave for the estimator's solve and inference.

    ``n_absorbed`` is the effects' count in the degrees of freedom
    (:func:`absorbed_count`); ``n_singletons`` the rows dropped in
    singleton levels (0 unless the estimator drops them).
    """

    first: FirstPass
    effects: tuple
    within: GramStats
    n_iter: int
    converged: bool
    names: list
    kinds: dict
    n_absorbed: int
    n_singletons: int = 0

    def set_fitted(self, estimator):
        """Set the fitted attributes the passes give every multi-way model
        (statistics, labels, effects, counts); the estimator then solves."""
        estimator.stats_, estimator.level_stats_ = self.first.stats, self.first.levels
        estimator._y_1d = self.first.y_1d
        estimator._label_kinds = {"entities": "table", **self.kinds}
        estimator.n_samples_seen_ = self.first.stats.n_rows
        estimator.log_weight_sum_ = None
        estimator.column_effects_, estimator.n_iter_ = self.effects, self.n_iter
        estimator.entity_names_ = self.names
        estimator.df_absorbed_, estimator.n_singletons_ = self.n_absorbed, self.n_singletons
        if self.first.nesting is not None:  # multi-way clusters
            estimator.cluster_nesting_ = self.first.nesting


def absorbed_count(sizes, n_components):
    """Effects counted in the degrees of freedom: the rank of the level indicators.

    Two factors: all levels less one per connected component of the graph
    of levels linked by the rows (exact: the indicators of the two factors
    in one component sum to the same column, and nothing else is
    redundant). Three or more: the first two factors as with two, and one
    reference less for each further factor, fixest's own rule (exact when
    each further factor adds no redundancy beyond the constant; otherwise it
    counts effects that are redundant, and the errors are slightly larger).
    """
    return int(sum(sizes)) - int(n_components) - (len(sizes) - 2)


# A column whose demeaned rows spread less than this fraction of the unit its
# effects converged in (its total spread, at first) has its effects refined:
# their remaining error, ``tol`` in that unit, would be large in the rows'.
REFINE_SPREAD = 0.1
# Rounds of refinement: one takes a column from its total spread to its
# within spread (any offset); a second mops up what the first's rounding left.
MAX_REFINEMENTS = 3


def demeaned_spread(within):
    """Root mean square of each demeaned column of ``[X, y]`` (their mean is ~0)."""
    mean = np.append(within.mean_x, within.mean_y)
    return np.sqrt((np.diag(within.comoment) + within.weight_sum * mean ** 2)
                   / within.weight_sum)


@dataclass(frozen=True)
class Refined:
    """Effects and demeaned Gram after :meth:`MultiwayPasses.refine`, and its passes."""

    effects: tuple
    within: GramStats
    n_iter: int
    converged: bool


class MultiwayPasses:
    """The passes of one multi-way fit over one source (see the module)."""

    def __init__(self, estimator, source):
        self.estimator = estimator
        self.source = source
        self.reader = MultiwayReader(estimator)
        self.coders = None

    def fit(self):
        """Passes 1-3 (after the singleton passes if asked): totals and levels,
        effects, the demeaned Gram and the levels' links (and, for columns
        with large level offsets, the passes that refine their effects)."""
        n_singletons = 0
        if getattr(self.estimator, "drop_singletons", False):
            self.reader.dropped, n_singletons, _ = singleton_levels(self.reader, self.source)
        first = first_pass(self.reader, self.source)
        self.coders = [LevelCoder.of(f.labels) for f in first.levels.factors]
        totals = first.stats
        scale = np.sqrt(np.diag(totals.comoment) / totals.weight_sum)
        problem = EffectsProblem.from_means(first.levels, self.estimator.tol, scale)
        state = solve_effects(self.reader, self.source, self.coders, problem,
                              self.estimator.max_iter)
        effects = normalised_effects(state.effects, problem.weights)
        k = first.stats.n_features
        sizes = first.levels.sizes
        within, pairs = pass_sum(self.reader, self.source, self.coders,
                                 lambda rows, codes: (
                                     demeaned_gram(rows.Z, codes, effects, k, rows.sample_weight),
                                     LevelPairs.from_codes(codes[0], codes[1], sizes[:2])))
        refined = self.refine(problem, effects, within, totals)
        n_iter, converged = state.n_iter + refined.n_iter, state.converged and refined.converged
        return MultiwayFit(first, refined.effects, refined.within, n_iter, converged,
                           self.reader.names, self.reader.kinds,
                           absorbed_count(sizes, pairs.n_components()), n_singletons)

    def refine(self, problem, effects, within, totals):
        """Iterative refinement of the effects of columns with large level offsets.

        The effects converged in units of each column's total spread
        (``problem.scale``). A column whose demeaned rows spread far less
        (``x = 1e6 a_level + noise``) keeps errors of that unit in them: its
        effects are solved again for the residual ``D'W(z - D a)``, summed
        from the demeaned rows themselves (no cancellation: the rows are
        already small), in units of their own spread, until no column's
        spread is below ``REFINE_SPREAD`` of its unit. A column at the
        rounding floor (constant within levels, :func:`at_rounding_floor`)
        is absorbed, not refined. Each round costs one pass of residual
        sums, the conjugate-gradient passes and one Gram pass.
        """
        unit, n_iter, converged = problem.scale.copy(), 0, True
        for _ in range(MAX_REFINEMENTS):
            spread = demeaned_spread(within)
            columns = np.flatnonzero((spread < REFINE_SPREAD * unit)
                                     & ~at_rounding_floor(spread ** 2 * within.weight_sum, totals))
            if not len(columns):
                break
            sizes = [len(a) for a in effects]
            residual = pass_sum(self.reader, self.source, self.coders,
                                lambda rows, codes: LevelSums.from_codes(
                                    demeaned_rows(rows.Z, codes, effects)[:, columns], codes,
                                    sizes, rows.sample_weight))
            step = EffectsProblem(problem.weights, residual.sums, problem.tol, spread[columns])
            state = solve_effects(self.reader, self.source, self.coders, step,
                                  self.estimator.max_iter)
            correction = normalised_effects(state.effects, problem.weights)
            for a, c in zip(effects, correction):  # the fit's own arrays: updated in place
                a[:, columns] += c
            unit[columns] = spread[columns]
            n_iter, converged = n_iter + state.n_iter, converged and state.converged
            k = totals.n_features
            within = pass_sum(self.reader, self.source, self.coders,
                              lambda rows, codes: demeaned_gram(rows.Z, codes, effects, k,
                                                                rows.sample_weight))
        return Refined(effects, within, n_iter, converged)

    def scores(self, effects, coef):
        """Pass 4: scores at the final coefficients, merged (HC1, CRV1)."""
        if self.reader.cluster_kinds is not None:  # multi-way clusters: sums per subset
            k = len(coef)
            return self.form_scores(effects, [(np.append(-coef, 1.0), np.eye(k + 1, k))])
        return pass_sum(self.reader, self.source, self.coders,
                        lambda rows, codes: demeaned_score_statistics(
                            rows.Z, codes, effects, coef, rows.sample_weight, rows.clusters))

    def form_scores(self, effects, forms):
        """Pass 4 of a model of several equations (2SLS): see :func:`demeaned_form_scores`."""
        return pass_sum(self.reader, self.source, self.coders,
                        lambda rows, codes: demeaned_form_scores(
                            rows.Z, codes, effects, forms, rows.sample_weight, rows.clusters))
