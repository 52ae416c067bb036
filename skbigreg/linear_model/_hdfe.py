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
from ..exceptions import ConvergenceWarning
from ..passes import demeaned_gram, demeaned_score_statistics, effect_product
from ..solvers import (
    EffectsProblem,
    conjugate_step,
    normalised_effects,
    start_effects,
)
from ..stats import FactorMeans, GramStats, LevelCoder, LevelSums, as_dense

_MULTI_PASS = (
    "entities has {count} columns (factors): absorbing two or more factors takes several "
    "passes over all rows, which partial_fit (one chunk at a time) and a one-shot iterator "
    "cannot make; use fit (in-memory rows) or fit_chunks with a re-iterable chunk source "
    "(a list of chunks, a callable returning a fresh iterator, a file source)."
)


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
    """One checked chunk: ``Z = [X, y]``, weights, factor labels and clusters."""

    Z: np.ndarray
    sample_weight: np.ndarray | None
    levels: list
    clusters: np.ndarray | None
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
        if first and self.kinds is None and self.estimator.cov_type == "cluster" \
                and given["clusters"] is None:
            raise ValueError(
                f"{self.owner} with cov_type='cluster' needs clusters labels with every "
                "chunk: fit(..., clusters=labels)."
            )
        labels, self.kinds = check_labels(self.owner, given, chunk.n_rows, self.kinds)
        y = column_or_1d(chunk.y, warn=True) if first else np.ravel(chunk.y)
        if first:
            self.estimator.target_name_ = target_name(chunk.y)
        X, y, w, y_1d = validate_chunk(self.estimator, chunk.X, y, chunk.sample_weight, first)
        levels = [labels[f"entities[{n}]"] for n in names]
        # a sparse chunk is densified: the demeaned columns are dense anyway
        return MultiwayRows(np.hstack([as_dense(X), y]), w, levels, labels.get("clusters"), y_1d)

    def read_levels(self, chunk):
        """A later pass's chunk: its factor labels and weights only."""
        _, columns = self.factors(chunk.label("entities"), first=False)
        return MultiwayRows(None, chunk.sample_weight, columns, None, None)


@dataclass(frozen=True)
class FirstPass:
    """Totals of all rows and every factor's per-level means."""

    stats: GramStats
    levels: FactorMeans
    y_1d: bool


def first_pass(reader, source):
    """Map and merge every chunk's totals and per-level means (pass 1)."""
    stats = levels = y_1d = None
    for chunk in source:
        if chunk.n_rows == 0:
            continue
        rows = reader.read(chunk, first=stats is None)
        k = rows.Z.shape[1] - 1
        part = GramStats.from_arrays(rows.Z[:, :k], rows.Z[:, k:], rows.sample_weight)
        means = FactorMeans.from_arrays(rows.Z, rows.levels, rows.sample_weight, rows.clusters)
        if stats is None:
            stats, levels, y_1d = part, means, rows.y_1d
        else:
            stats, levels = stats + part, levels + means
    if stats is None:
        raise ValueError("The chunk source holds no rows.")
    return FirstPass(stats, levels, y_1d)


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
        codes = [coder.codes(level, f"entities[{name}]") for coder, level, name
                 in zip(coders, rows.levels, reader.names)]
        part = map_rows(rows, codes)
        if isinstance(part, LevelSums):
            total = part.add_to(total)  # the pass owns its sums: add in place
        else:
            total = part if total is None else total + part
    return total


def solve_effects(reader, source, coders, problem, max_iter):
    """Conjugate-gradient passes until convergence or ``max_iter`` passes."""
    state = start_effects(problem)
    while not state.converged and state.n_iter < max_iter:
        product = pass_sum(reader, source, coders,
                           lambda rows, codes: effect_product(state.direction, codes,
                                                              rows.sample_weight),
                           levels_only=True)
        state = conjugate_step(problem, state, product.sums)
    if not state.converged:
        warnings.warn(
            f"The effects of the {len(coders)} absorbed factors did not converge in "
            f"max_iter={max_iter} passes (tol={problem.tol:g}); the coefficients may be "
            "inexact. Raise max_iter, or see the user guide on when alternating "
            "projections are slow (few movers between levels).",
            ConvergenceWarning,
            stacklevel=4,
        )
    return state


@dataclass(frozen=True)
class MultiwayFit:
    """What the passes leave for the estimator's solve and inference."""

    first: FirstPass
    effects: tuple
    within: GramStats
    n_iter: int
    converged: bool
    names: list
    kinds: dict


class MultiwayPasses:
    """The passes of one multi-way fit over one source (see the module)."""

    def __init__(self, estimator, source):
        self.estimator = estimator
        self.source = source
        self.reader = MultiwayReader(estimator)
        self.coders = None

    def fit(self):
        """Passes 1-3: totals and levels, effects, the demeaned Gram."""
        first = first_pass(self.reader, self.source)
        self.coders = [LevelCoder.of(f.labels) for f in first.levels.factors]
        totals = first.stats
        scale = np.sqrt(np.diag(totals.comoment) / totals.weight_sum)
        problem = EffectsProblem.from_means(first.levels, self.estimator.tol, scale)
        state = solve_effects(self.reader, self.source, self.coders, problem,
                              self.estimator.max_iter)
        effects = normalised_effects(state.effects, problem.weights)
        k = first.stats.n_features
        within = pass_sum(self.reader, self.source, self.coders,
                          lambda rows, codes: demeaned_gram(rows.Z, codes, effects, k,
                                                            rows.sample_weight))
        return MultiwayFit(first, effects, within, state.n_iter, state.converged,
                           self.reader.names, self.reader.kinds)

    def scores(self, effects, coef):
        """Pass 4: scores at the final coefficients, merged (HC1, CRV1)."""
        return pass_sum(self.reader, self.source, self.coders,
                        lambda rows, codes: demeaned_score_statistics(
                            rows.Z, codes, effects, coef, rows.sample_weight, rows.clusters))
