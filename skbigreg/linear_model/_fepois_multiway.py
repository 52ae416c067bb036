"""Poisson regression with two or more absorbed factors: nested passes, out of core.

Every IRLS step of :class:`CumulativePoissonFixedEffects` is a weighted least
squares of the working response on ``X`` with the factors absorbed. With one
factor that is exact in the pass itself; with several it is the multi-way
within regression of :class:`CumulativeFixedEffectsRegression` (conjugate
gradient on the effects' normal equations, one streamed pass of per-level
sums per step, memory ``O(G (K + 1))``), run on the rows re-weighted at the
current iterate. So each IRLS iteration is

1. the nested multi-way fit of ``r = x'b + (y - mu) / mu`` on ``X`` with
   weights ``w mu`` (its first pass, its conjugate-gradient passes, its Gram
   pass), whose coefficients and effects give the next iterate;
2. one pass of the deviance at the new iterate (fixest's criterion).

Levels whose ``y`` are all zero are found per factor in a first counting
pass and their rows dropped (pyfixest's ``separation_check=["fe"]``, one
round). HC1 and CRV1 errors take one more pass of scores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ..exceptions import CollinearityWarning
from ..io import iter_chunks
from ..solvers._fepois import deviance_change
from ..stats import FactorMeans, LevelCoder, OuterProductStats
from ..stats._fepois import PoissonScores
from ..stats._irls import ClusterSums
from ._fixed_effects import CumulativeFixedEffectsRegression
from ._hdfe import MultiwayReader


@dataclass(frozen=True)
class MultiwayIterate:
    """Coefficients and each factor's effects (aligned with its sorted kept labels)."""

    coef: np.ndarray
    effects: tuple | None = None
    start_mean: float | None = None


@dataclass(frozen=True)
class DevianceSums:
    """Deviance and ``log sum w exp(x'b)`` of the kept rows at an iterate; merged by ``+``."""

    deviance: float
    log_exp_sum: float

    def __add__(self, other):
        return DevianceSums(self.deviance + other.deviance,
                            float(np.logaddexp(self.log_exp_sum, other.log_exp_sum)))


@dataclass(frozen=True)
class MultiwayPoissonFit:
    """What the IRLS passes leave for the estimator.

    ``inner`` is the nested fit made at ``previous`` that gave ``iterate``
    (its bread and effects are the inference's); ``coders`` code each
    factor's kept levels; ``columns`` are the columns not absorbed (None: all).
    """

    iterate: MultiwayIterate
    previous: MultiwayIterate
    inner: CumulativeFixedEffectsRegression
    coders: list
    columns: np.ndarray | None
    n_iter: int
    converged: bool
    deviance: float
    log_exp_sum: float
    y_sum: float
    nobs: int


class MultiwayPoisson:
    """The passes of one multi-factor Poisson fit over one source."""

    def __init__(self, estimator, source):
        self.estimator = estimator
        self.source = source
        self.reader = MultiwayReader(estimator)
        self.kept = None  # per factor: a LevelCoder of the kept levels
        # The first factor's level means of X, subtracted from the rows the nested
        # fits see (the effects absorb any per-level shift): a regressor with large
        # level offsets keeps its within variation next to its total variance.
        self.shift = None
        self.shift_scale = None  # weighted mean of shift^2: the offsets' scale
        self.zeroed = None  # columns found absorbed, given as zeros to the nested fits

    # -- reading ------------------------------------------------------------------
    def rows(self):
        """Checked rows of every chunk (the first chunk fixes the features)."""
        for chunk in self.source:
            if chunk.n_rows == 0:
                continue
            rows = self.reader.read(chunk, first=not hasattr(self.estimator, "n_features_in_"))
            y = rows.Z[:, -1]
            if np.any(y < 0):
                raise ValueError("y has negative values; Poisson regression needs finite y >= 0.")
            yield rows

    def design(self, X, levels):
        """``X`` less the first factor's level means, absorbed columns zeroed."""
        shifted = X - self.shift[self.kept[0].codes(levels[0])]
        shifted[:, self.zeroed] = 0.0
        return shifted

    def kept_rows(self):
        """``(X, y, w, levels, codes, clusters)`` of the rows whose levels are all kept."""
        for rows in self.rows():
            found = np.ones(len(rows.Z), dtype=bool)
            for coder, level in zip(self.kept, rows.levels):
                found &= _known(coder, level)
            w = np.ones(len(rows.Z)) if rows.sample_weight is None else rows.sample_weight
            levels = [np.asarray(level)[found] for level in rows.levels]
            clusters = None if rows.clusters is None else rows.clusters[found]
            yield rows.Z[found, :-1], rows.Z[found, -1], w[found], levels, clusters

    # -- passes -------------------------------------------------------------------
    def count(self):
        """Pass 1: each factor's levels and weighted mean of ``y``; keep levels with y > 0."""
        counts = None
        for rows in self.rows():
            Z = np.column_stack([rows.Z[:, -1], rows.Z[:, :-1]])  # [y, X]
            part = FactorMeans.from_arrays(Z, rows.levels, rows.sample_weight)
            counts = part if counts is None else counts + part
        if counts is None or not np.any(counts.factors[0].weight_sum > 0):
            raise ValueError("Every sample weight is zero (or there are no rows): there is "
                             "nothing to fit.")
        keep = [(f.weight_sum > 0) & (f.mean[:, 0] > 0) for f in counts.factors]
        self.kept = [LevelCoder.of(f.labels[k]) for f, k in zip(counts.factors, keep)]
        first = counts.factors[0]
        self.shift = first.mean[keep[0], 1:]
        weight = first.weight_sum[keep[0]]
        self.shift_scale = weight @ self.shift**2 / weight.sum()
        self.zeroed = np.zeros(self.shift.shape[1], dtype=bool)
        return counts, keep

    def totals(self):
        """Pass 2: rows, weight and ``sum w y`` of the kept rows."""
        n, weight, y_sum = 0, 0.0, 0.0
        for _, y, w, _, _ in self.kept_rows():
            n, weight, y_sum = n + len(y), weight + float(w.sum()), y_sum + float(w @ y)
        return n, weight, y_sum

    def working_source(self, iterate, coders):
        """The chunks of the weighted least squares at ``iterate`` (a re-iterable source)."""
        def chunks():
            for X, y, w, levels, clusters in self.kept_rows():
                lin, mu, r, _ = _working(X, y, levels, iterate, coders)
                chunk = {"X": self.design(X, levels), "y": r, "sample_weight": w * mu,
                         "entities": np.column_stack(levels)}
                if clusters is not None:
                    chunk["clusters"] = clusters
                yield chunk
        return iter_chunks(chunks)

    def deviance(self, iterate, coders):
        """One pass: the deviance and ``sum w exp(x'b)`` at ``iterate``."""
        total = DevianceSums(0.0, -np.inf)
        for X, y, w, levels, _ in self.kept_rows():
            lin, mu, _, _ = _working(X, y, levels, iterate, coders)
            with np.errstate(divide="ignore", invalid="ignore"):
                unit = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - (y - mu)
            total = total + DevianceSums(float(2 * w @ unit), float(logsumexp(lin, b=w)))
        return total

    def iterate(self, names):
        """IRLS: a nested fit and a deviance pass per iteration, until fixest's criterion."""
        est = self.estimator
        nobs, weight, y_sum = self.totals()
        if not nobs:
            raise ValueError("Every level of entities has y all zero: the Poisson MLE does not exist.")
        iterate = MultiwayIterate(np.zeros(est.n_features_in_), None, y_sum / weight)
        last, coders, columns, converged = self.deviance(iterate, None).deviance, None, None, False
        for n_iter in range(1, est.max_iter + 1):
            inner = self.nested_fit(iterate, coders)
            if n_iter == 1:
                absorbed = absorbed_columns(inner, self.shift_scale)
                if np.any(absorbed & ~self.zeroed):  # refit without them
                    self.zeroed |= absorbed
                    inner = self.nested_fit(iterate, coders)
                columns = identified_columns(inner, names, self.zeroed)
            coders = [LevelCoder.of(f.labels) for f in inner.level_stats_.factors]
            shift = self.shift[self.kept[0].codes(coders[0].labels)]
            previous, iterate = iterate, next_iterate(iterate, inner, shift, columns)
            sums = self.deviance(iterate, coders)
            if not np.isfinite(sums.deviance):
                raise ValueError("IRLS diverged (infinite deviance): the regressors separate "
                                 "y = 0 from y > 0 or have extreme values.")
            converged = deviance_change(sums.deviance, last) < est.tol
            if converged:
                break
            last = sums.deviance
        return MultiwayPoissonFit(iterate, previous, inner, coders, columns, n_iter, converged,
                                  float(sums.deviance), sums.log_exp_sum, y_sum, nobs)

    def nested_fit(self, iterate, coders):
        """The multi-way within regression of the working response at ``iterate``."""
        est = self.estimator
        with warnings.catch_warnings():
            # the columns the effects absorb are named once, by their names
            warnings.simplefilter("ignore", CollinearityWarning)
            return CumulativeFixedEffectsRegression(
                tol=est.fixef_tol, max_iter=est.fixef_max_iter).fit_chunks(
                self.working_source(iterate, coders))

    def scores(self, previous, current, inner, coders):
        """The pass of scores of the weighted least squares ``inner`` made at ``previous``.

        ``s_i = w_i mu_i (r_i - x_i'b - sum_f a_f) (x_i - sum_f A_x,f)`` with
        ``mu``, ``r`` of ``previous``, ``a_f`` the effects ``inner`` found
        for ``r`` and ``A_x,f`` those of the columns of ``X`` (``x`` as the
        nested fit saw it, :meth:`design`).
        """
        k = len(current.coef)
        x_effects = [effects[:, :k] for effects in inner.column_effects_]
        model_effects = [np.asarray(e) for e in inner.effects().values()]
        total = None
        for X, y, w, levels, clusters in self.kept_rows():
            _, mu, r, _ = _working(X, y, levels, previous, coders)
            X = self.design(X, levels)
            codes = [coder.codes(level) for coder, level in zip(coders, levels)]
            absorbed = sum(a[c] for a, c in zip(model_effects, codes))
            x_within = X - sum(a[c] for a, c in zip(x_effects, codes))
            scores = x_within * (w * mu * (r - X @ current.coef - absorbed))[:, None]
            sums = None if clusters is None else ClusterSums.from_rows(scores, clusters)
            part = PoissonScores(OuterProductStats.from_rows(scores), sums, None)
            total = part if total is None else total + part
        return total


def next_iterate(iterate, inner, shift, columns=None):
    """The iterate after the nested fit ``inner`` of the working response at ``iterate``.

    ``inner`` saw ``x - shift_e`` (``shift`` per level of the first factor):
    ``x'b + a_e`` is ``(x - shift_e)'b + (a_e + shift_e'b)``. Columns not in
    ``columns`` (absorbed) keep coefficient 0.
    """
    coef = inner.coef_.copy()
    if columns is not None:
        coef[np.setdiff1d(np.arange(len(coef)), columns)] = 0.0
    effects = [e.to_numpy() for e in inner.effects().values()]
    effects[0] = effects[0] - shift @ coef
    if iterate.effects is not None:
        effects = [old + new for old, new in zip(iterate.effects, effects)]
    return MultiwayIterate(coef, tuple(effects))


# A column whose within variance (per unit weight) is below this fraction of
# its raw second moment is constant within the levels up to rounding.
_ABSORBED = 1e-20


def absorbed_columns(inner, shift_scale):
    """Columns whose within variance in ``inner`` is at the rounding level of the column.

    The scale is the column's raw second moment: that of the rows the nested
    fit saw plus the first factor's level offsets (``shift_scale``).
    """
    stats, k = inner.stats_, inner.n_features_in_
    within = np.diag(inner._within.comoment)[:k] / stats.weight_sum
    raw = np.diag(stats.comoment)[:k] / stats.weight_sum + stats.mean_x**2 + shift_scale
    return within <= _ABSORBED * raw


def identified_columns(inner, names, zeroed):
    """The columns not absorbed by the effects (None: all); those absorbed are named.

    A column is absorbed when it was given as zeros (``zeroed``) or the
    nested fit found it constant within the levels. One
    :class:`CollinearityWarning` names them; another says so when the
    others are rank deficient.
    """
    k = len(names)
    absorbed = np.flatnonzero(zeroed | (np.diag(inner._within.comoment)[:k] == 0))
    if len(absorbed):
        warnings.warn(
            f"Columns {[names[j] for j in absorbed]} are constant within the levels of the "
            "absorbed factors (absorbed by the fixed effects): coefficient 0, standard error "
            "NaN.", CollinearityWarning, stacklevel=7)
    if inner._solution.rank < k - len(absorbed):
        warnings.warn(
            "The design is rank deficient after absorbing the fixed effects: the minimum-norm "
            "solution is returned.", CollinearityWarning, stacklevel=7)
    return np.setdiff1d(np.arange(k), absorbed) if len(absorbed) else None


def _known(coder, level):
    level = np.asarray(level)
    position = np.clip(np.searchsorted(coder.labels, level), 0, max(len(coder.labels) - 1, 0))
    return coder.labels[position] == level if len(coder.labels) else np.zeros(len(level), bool)


def _working(X, y, levels, iterate, coders):
    """``(lin, mu, r, a)`` at ``iterate``, as the one-factor pass computes them."""
    if iterate.start_mean is not None:
        mu = (y + iterate.start_mean) / 2
        return np.zeros(len(y)), mu, np.log(mu) + y / mu - 1, np.zeros(len(y))
    lin = X @ iterate.coef
    effect = sum(a[coder.codes(level)] for a, coder, level in zip(iterate.effects, coders, levels))
    with np.errstate(over="ignore"):
        mu = np.exp(lin + effect)
    return lin, mu, lin + (y - mu) / mu, effect
