"""Poisson regression with absorbed fixed effects (fixest's ``fepois``), by streamed IRLS."""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import d2_tweedie_score
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions, _fit_context, validate_data
from ..base import ChunkLabels, fit_source, target_name, validate_chunk
from ..exceptions import MissingPassError
from ..inference import RegressionResults, small_sample_factor
from ..inference._covariance import warn_if_no_residual_dof
from ..io import iter_chunks
from ..parallel import map_reduce
from ..passes._fepois import (
    EffectsRows,
    level_count_pass,
    poisson_effects_pass,
    poisson_scores_pass,
)
from ..solvers._fepois import (
    PoissonIterate,
    deviance_change,
    effects_columns,
    poisson_effects_step,
)
from ..stats import as_dense
from ._fepois_multiway import MultiwayPoisson
from ._hdfe import factor_columns, n_factors, one_factor

_NO_PREDICTION = (
    "A Poisson model with absorbed effects has no predicted means with standard errors: a "
    "row's mean needs its level's effect, whose sampling variance is not estimated. Use "
    "predict(X, entities=...) for point predictions."
)


class CumulativePoissonFixedEffects(RegressorMixin, BaseEstimator):
    """Poisson regression with one absorbed factor of fixed effects, by streamed IRLS.

    Maximises the Poisson log-likelihood ``sum_i w_i (y_i eta_i - exp(eta_i))``
    with ``eta_i = x_i' b + a_e(i)`` over ``b`` and one effect ``a_e`` per
    level of ``entities``, as fixest's and pyfixest's ``fepois``: iteratively
    reweighted least squares whose every weighted least-squares step absorbs
    the effects by the within transformation with the IRLS weights
    ``W = w mu``. One pass over the chunks per iteration maps rows to the
    total centred Gram of ``[X, r]`` and its ``W``-weighted means per level
    (:class:`~skbigreg.stats.PoissonEffectsPass`); the within Gram is their
    difference, so memory is ``O(K^2 + G (K + 1))`` for ``G`` levels, never
    ``O(rows)``.

    Passes: one to count each level's ``y`` (levels whose ``y`` are all zero
    are dropped, see Notes), then one per IRLS iteration plus the one that
    shows convergence, then, for HC1 and cluster errors, one pass of scores.
    Two or more factors are absorbed by nested passes (see Notes).

    Parameters
    ----------
    cov_type : {"nonrobust", "HC1", "cluster"}, default="nonrobust"
        Default covariance of :meth:`results`, with pyfixest's ``fepois``
        conventions: the inverse Hessian ``(X~'W X~)^-1`` of the within
        regression times ``(n-1)/(n-K-G)`` (fixest's "iid"); HC1 (fixest's
        "hetero") the sandwich times ``n/(n-K-G)``; cluster (CRV1, needs
        ``clusters=``) times ``G_c/(G_c-1) (n-1)/(n-K-G)``, with the effects
        counted as one parameter when every level lies in one cluster
        (fixest's ``k_fixef="nonnested"``).
    tol : float, default=1e-8
        fixest's ``glm.tol`` (pyfixest's ``iwls_tol``): iteration stops when
        the deviance changes by less than ``tol * (0.1 + |deviance|)``.
    max_iter : int, default=25
        Most IRLS iterations (fixest's ``glm.iter``); a ``ConvergenceWarning``
        says when they are not enough.
    fixef_tol : float, default=1e-8
        Two or more factors only: the tolerance of each step's nested
        multi-way within regression (``tol`` of
        :class:`CumulativeFixedEffectsRegression`; fixest's ``fixef.tol``).
    fixef_max_iter : int, default=1000
        Two or more factors only: most passes of each nested within regression.
    n_jobs : int, default=None
        Workers mapping the chunks of a pass (joblib; one factor).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        0 for columns absorbed by the effects or collinear (with a warning).
    intercept_ : float
        ``log(sum w y / sum w exp(x' b))``: the one intercept that makes the
        fitted counts sum to the observed ones; :meth:`predict` uses it for
        rows without a known level.
    n_iter_ : int
        IRLS iterations (weighted least-squares solves), fixest's count.
    converged_ : bool
    deviance_ : float
        Deviance at the reported coefficients and effects.
    n_levels_ : int or tuple of int
        Levels kept (at least one positive ``y``), of each factor when several.
    n_dropped_levels_, n_dropped_rows_ : int
        Levels whose ``y`` are all zero, and their rows, left out.
    nobs_ : int
        Rows in the fit.
    target_name_ : str
    n_features_in_, feature_names_in_

    See Also
    --------
    CumulativeGLM : Poisson regression without absorbed effects.
    CumulativeFixedEffectsRegression : least squares with absorbed effects.

    Notes
    -----
    A level whose ``y`` are all zero has effect ``-inf`` (its MLE does not
    exist); its rows are dropped, as fixest and pyfixest (``separation_check
    =["fe"]``) do, and counted in ``n_dropped_levels_``/``n_dropped_rows_``
    and in the summary. Singleton levels (one row) are kept: such a level
    fits its row exactly and adds nothing to ``b``, but counts in the degrees
    of freedom (compare with fixest's ``fixef.rm = "perfect"`` or pyfixest's
    ``fixef_rm="none"``). Non-integer ``y`` are accepted (a quasi-Poisson
    fit, as fixest); negative ``y`` are refused. Separation by the
    regressors (a column that predicts ``y = 0`` exactly) is not detected.
    There is no ``partial_fit``: every iteration reads all rows again.

    Two or more factors (``entities`` a DataFrame or an ``(n, F)`` array):
    every IRLS step is the multi-way within regression of
    :class:`CumulativeFixedEffectsRegression` (conjugate gradient on the
    effects' normal equations, one streamed pass per step, tolerance
    ``fixef_tol``) of the working response on the rows re-weighted at the
    current iterate, then a pass of the deviance. Levels whose ``y`` are
    all zero are dropped factor by factor in one round, as pyfixest does;
    the degrees of freedom count all levels less one per factor after the
    first, a factor nested in the clusters as one (pyfixest). :meth:`effects`
    then returns one Series per factor (every factor but the first with
    ``W``-weighted mean zero: only their sum is identified).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativePoissonFixedEffects
    >>> rng = np.random.default_rng(0)
    >>> firm = np.repeat(np.arange(100), 20)
    >>> effect = rng.normal(size=100)[firm]
    >>> X = rng.normal(size=(2000, 1)) + effect[:, None]   # correlated with the effects
    >>> y = rng.poisson(np.exp(0.5 * X[:, 0] + effect))
    >>> chunks = [{"X": X[i:i + 500], "y": y[i:i + 500], "entities": firm[i:i + 500]}
    ...           for i in range(0, 2000, 500)]
    >>> model = CumulativePoissonFixedEffects(cov_type="HC1").fit_chunks(chunks)
    >>> np.round(model.coef_, 1), model.n_levels_, model.n_dropped_levels_  # y all 0 in 2 firms
    (array([0.5]), 98, 2)
    >>> model.results().bse.round(3)
    x0    0.012
    dtype: float64
    """

    _parameter_constraints: dict = {
        "cov_type": [StrOptions({"nonrobust", "HC1", "cluster"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "fixef_tol": [Interval(Real, 0, None, closed="neither")],
        "fixef_max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, cov_type="nonrobust", tol=1e-8, max_iter=25, fixef_tol=1e-8,
                 fixef_max_iter=1000, n_jobs=None):
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter
        self.fixef_tol = fixef_tol
        self.fixef_max_iter = fixef_max_iter
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, entities=None, clusters=None):
        """Fit on in-memory rows (every pass reads them again).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Non-negative counts (or rates).
        sample_weight : array-like of shape (n_samples,), optional
        entities : array-like of shape (n_samples,) or (n_samples, n_factors), optional
            Level of the absorbed factor of each row; without it, one level
            (a Poisson GLM with an intercept). A DataFrame or 2-D array of
            two or more columns absorbs each column as a factor.
        clusters : array-like of shape (n_samples,), optional
            Cluster labels for CRV1 errors.

        Returns
        -------
        self
        """
        source = iter_chunks(X, y, sample_weight, entities=entities, clusters=clusters)
        return fit_source(self, source, self._fit_passes)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a re-iterable chunk source: one pass per iteration (see the class notes).

        Chunks carry ``entities`` (and ``clusters`` for CRV1 errors). All or
        nothing: a failed call leaves the estimator as it was; a one-shot
        generator is refused at the second pass.

        Parameters
        ----------
        chunks : list of chunks or callable
            Anything :func:`skbigreg.io.iter_chunks` reads.

        Returns
        -------
        self
        """
        return fit_source(self, chunks, self._fit_passes)

    def _fit_passes(self, source):
        if source.reiterable:
            first = next((chunk for chunk in source if chunk.n_rows), None)
            entities = None if first is None else first.label("entities")
            if entities is not None and n_factors(entities) > 1:
                return self._fit_multiway(source)
        labels = ChunkLabels(self, ("entities", "clusters"))

        def rows():
            return self._rows(source, labels)

        counts = map_reduce(level_count_pass, rows(), self.n_jobs, empty=None)
        if counts is None or not np.any(counts.weight_sum > 0):
            raise ValueError("Every sample weight is zero (or there are no rows): there is nothing to fit.")
        kept = (counts.weight_sum > 0) & (counts.mean[:, 0] > 0)
        if not kept.any():
            raise ValueError("Every level of entities has y all zero: the Poisson MLE does not exist.")
        self._store_levels(counts, kept)
        known = self.level_labels_
        mean = counts.weight_sum[kept] @ counts.mean[kept, 0] / counts.weight_sum[kept].sum()
        # the first pass centres X by level at the level means of the count pass
        shifts = np.column_stack([counts.mean[kept, 1:], np.zeros(len(known))])
        iterate = PoissonIterate.start(self.n_features_in_, len(known), mean, shifts)
        columns, previous, last, self.converged_ = None, None, None, False
        for n_iter in range(self.max_iter + 1):
            stats = map_reduce(poisson_effects_pass, rows(), self.n_jobs, iterate=iterate,
                               labels=known)
            if not np.isfinite(stats.deviance):
                raise ValueError(
                    "IRLS diverged (infinite deviance): the regressors separate y = 0 from "
                    "y > 0 or have extreme values; rescale them or drop the separating ones.")
            if previous is not None and deviance_change(stats.deviance, last) < self.tol:
                self.converged_ = True
                break
            if n_iter == self.max_iter:
                break
            if previous is None:
                columns = effects_columns(stats, self._feature_names(), iterate)
            step = poisson_effects_step(stats, iterate, columns)
            previous, last, iterate = (iterate, step), stats.deviance, step.iterate
        self._store_fit(iterate, previous, stats, columns, n_iter)
        if self.cov_type != "nonrobust" or labels.kinds.get("clusters") is not None:
            self.score_pass_ = map_reduce(
                poisson_scores_pass, rows(), self.n_jobs, previous=previous[0],
                current=iterate, x_means=previous[1].x_means, labels=known)
        if not self.converged_:
            self._warn_not_converged()

    def _warn_not_converged(self):
        warnings.warn(
            f"IRLS did not converge in max_iter={self.max_iter} iterations "
            f"(tol={self.tol} on the relative change of the deviance).",
            ConvergenceWarning, stacklevel=5)

    def _rows(self, source, labels):
        """The source's chunks, checked, as :class:`EffectsRows`; empty ones skipped."""
        for chunk in source:
            entities = chunk.label("entities")
            if entities is not None and n_factors(entities) > 1:
                raise ValueError(
                    f"entities has {n_factors(entities)} columns (factors) in this chunk: two "
                    "or more absorbed factors need a re-iterable source (fit, or fit_chunks "
                    "with a list or a callable) whose every chunk has the same factors; this "
                    "source is one-shot or its first chunk had one column.")
            if entities is not None:  # an (n, 1) table is one factor
                chunk = replace(chunk, labels={**chunk.labels, "entities": one_factor(entities)})
            chunk_labels = labels.check(chunk)
            first = not hasattr(self, "n_features_in_")
            if chunk.n_rows == 0:
                if not first:
                    validate_chunk(self, chunk.X, chunk.y, chunk.sample_weight, False)
                continue
            y = chunk.y
            if first:
                self.target_name_ = target_name(y)
                y = column_or_1d(y, warn=True)  # one target: warn of a column vector
            X, y, w, y_1d = validate_chunk(self, chunk.X, y, chunk.sample_weight, first)
            if not y_1d and y.shape[1] != 1:
                raise ValueError(f"{type(self).__name__} supports a single target; y has "
                                 f"{y.shape[1]} columns.")
            y = y[:, 0]
            if not np.all(np.isfinite(y)) or np.any(y < 0):
                bad = "NaN or infinite" if not np.all(np.isfinite(y)) else "negative"
                raise ValueError(f"y has {bad} values; Poisson regression needs finite y >= 0.")
            levels = chunk_labels.get("entities", np.zeros(len(y), dtype=np.int64))
            yield EffectsRows(as_dense(X), y, w, levels, chunk_labels.get("clusters"))

    def _feature_names(self):
        names = getattr(self, "feature_names_in_", None)
        return [f"x{i}" for i in range(self.n_features_in_)] if names is None else list(names)

    def _store_levels(self, counts, kept):
        self.level_labels_ = counts.labels[kept]
        self.n_levels_ = int(kept.sum())
        self.n_dropped_levels_ = int((~kept).sum())
        self.n_dropped_rows_ = int(counts.n_rows[~kept].sum())
        self.nobs_ = int(counts.n_rows[kept].sum())
        self._y_sum = float(counts.weight_sum[kept] @ counts.mean[kept, 0])

    def _store_fit(self, iterate, previous, stats, columns, n_iter):
        self.coef_, self._effects = iterate.coef, iterate.effects
        self._solution, self._columns = previous[1].solution, columns
        self.n_iter_ = n_iter
        self.deviance_ = float(stats.deviance)
        self.intercept_ = float(np.log(self._y_sum) - stats.log_exp_sum)

    def _fit_multiway(self, source):
        """Two or more factors: each IRLS step a nested multi-way within regression."""
        passes = MultiwayPoisson(self, source)
        counts, keep = passes.count()
        fit = passes.iterate(self._feature_names())
        self.coef_, self._effects = fit.iterate.coef, fit.iterate.effects
        self._solution, self._columns = fit.inner._solution, fit.columns
        self.n_iter_, self.converged_, self.deviance_ = fit.n_iter, fit.converged, fit.deviance
        self.intercept_ = float(np.log(fit.y_sum) - fit.log_exp_sum)
        self.entity_names_ = passes.reader.names
        self.level_labels_ = tuple(coder.labels for coder in fit.coders)
        self.n_levels_ = tuple(len(labels) for labels in self.level_labels_)
        self._nested = [bool(f.nested) for f in fit.inner.level_stats_.factors]
        self.nobs_ = fit.nobs
        self.n_dropped_rows_ = int(sum(counts.factors[0].n_rows)) - fit.nobs
        self.n_dropped_levels_ = int(sum((~k).sum() for k in keep))
        if self.cov_type != "nonrobust" or passes.reader.kinds.get("clusters") is not None:
            self.score_pass_ = passes.scores(fit.previous, fit.iterate, fit.inner, fit.coders)
        if not self.converged_:
            self._warn_not_converged()

    def _bread(self):
        """The inverse Hessian of the identified coefficients."""
        bread = self._solution.bread
        if self._is_multiway() and self._columns is not None:
            return bread[np.ix_(self._columns, self._columns)]
        return bread

    def _is_multiway(self):
        return isinstance(self.n_levels_, tuple)

    def _n_absorbed(self, scores=None):
        """Effects counted in the degrees of freedom, as pyfixest counts them.

        Several factors: all levels less one per factor after the first. With
        clusters (``scores``), a factor whose every level lies in one cluster
        counts as one (``k_fixef="nonnested"``).
        """
        if not self._is_multiway():
            return 1 if scores is not None and scores.nesting.nested else self.n_levels_
        total = sum(self.n_levels_) - (len(self.n_levels_) - 1)
        if scores is None:
            return total
        nested = [size for size, inside in zip(self.n_levels_, self._nested) if inside]
        return total - sum(nested) + len(nested)

    # -- inference ----------------------------------------------------------------
    def results(self, cov_type=None):
        """Inference on ``b`` with pyfixest's ``fepois`` conventions (z statistics).

        Returns
        -------
        RegressionResults
        """
        check_is_fitted(self, "coef_")
        cov_type = self.cov_type if cov_type is None else cov_type
        solution, n, levels = self._solution, self.nobs_, self._n_absorbed()
        bread = self._bread()
        p = int(solution.rank)
        warn_if_no_residual_dof(n, p + levels)
        n_clusters, df_inference = None, n - p - levels
        with np.errstate(divide="ignore", invalid="ignore"):
            if cov_type == "nonrobust":
                cov = bread * (n - 1) / (n - p - levels)
            elif cov_type == "HC1":
                meat = self._meat(self._scores().meat.matrix)
                cov = bread @ meat @ bread * small_sample_factor(
                    "HC1", n, p + levels)
            elif cov_type == "cluster":
                scores = self._scores()
                if scores.clusters is None:
                    raise MissingPassError("Cluster-robust errors need clusters= in fit.")
                sums = self._meat(scores.clusters.sums, rows=True)
                n_clusters, df_inference = len(sums), len(sums) - 1
                absorbed = self._n_absorbed(scores)
                cov = bread @ (sums.T @ sums) @ bread * small_sample_factor(
                    "cluster", n, p + absorbed, n_clusters)
            else:
                raise ValueError(f"cov_type must be 'nonrobust', 'HC1' or 'cluster', got {cov_type!r}.")
        return RegressionResults(
            params=self.coef_.copy(), cov=self._with_dropped(cov), names=self._feature_names(),
            cov_type=cov_type, nobs=n, df_model=p, df_resid=n - p - levels,
            ssr=self.deviance_, tss=np.nan, n_absorbed=levels, has_intercept=False,
            use_t=False, df_inference=float(df_inference), n_clusters=n_clusters,
            target=getattr(self, "target_name_", "y"), scale=1.0,
            model="Poisson (absorbed effects)", method="IRLS (streamed)",
            title="Cumulative Poisson Fixed-Effects Results",
            fit_statistics=(("Deviance:", f"{self.deviance_:.6g}"),
                            ("No. Iterations:", self.n_iter_),
                            ("Levels dropped (y all 0):", self.n_dropped_levels_),
                            ("Rows dropped:", self.n_dropped_rows_)),
            no_prediction=_NO_PREDICTION,
        )

    def _scores(self):
        if not hasattr(self, "score_pass_"):
            raise MissingPassError(
                "Robust errors need the pass of scores, which fit makes when cov_type is "
                "'HC1' or 'cluster' or clusters are given.")
        return self.score_pass_

    def _meat(self, matrix, rows=False):
        """The identified columns' part of a meat (or of per-cluster score rows)."""
        if self._columns is None:
            return matrix
        return matrix[:, self._columns] if rows else matrix[np.ix_(self._columns, self._columns)]

    def _with_dropped(self, cov):
        if self._columns is None:
            return cov
        full = np.full((self.n_features_in_,) * 2, np.nan)
        full[np.ix_(self._columns, self._columns)] = cov
        return full

    def summary(self, cov_type=None, alpha=0.05):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results(cov_type).summary(alpha)

    def effects(self):
        """The estimated fixed effects ``a_e``, one per kept level (fixest's ``fixef()``).

        With two or more factors, a dict of such Series keyed by the
        ``entities`` column names (``"0"``, ``"1"``... for an array).

        Returns
        -------
        pandas.Series or dict of str to pandas.Series
        """
        check_is_fitted(self, "coef_")
        if self._is_multiway():
            return {name: pd.Series(effects, index=pd.Index(labels, name=name), name="effect")
                    for name, effects, labels in zip(self.entity_names_, self._effects,
                                                     self.level_labels_)}
        return pd.Series(self._effects, index=pd.Index(self.level_labels_, name="entity"),
                         name="effect")

    def predict(self, X, entities=None):
        """Predicted mean ``exp(x' b + a_e)`` (``intercept_`` for rows without a known level).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        entities : array-like of shape (n_samples,) or (n_samples, n_factors), optional
            A row with a level not seen in fit (in any factor) gets ``intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        offset = np.full(X.shape[0], self.intercept_)
        if entities is not None:
            if self._is_multiway():
                _, columns = factor_columns(entities)
                known = sum(e.reindex(c).to_numpy() for e, c in zip(self.effects().values(), columns))
            else:
                known = self.effects().reindex(np.asarray(entities)).to_numpy()
            offset = np.where(np.isnan(known), offset, known)
        return np.exp(X @ self.coef_ + offset)

    def score(self, X, y, sample_weight=None, entities=None):
        """D², the fraction of Poisson deviance explained (:func:`~sklearn.metrics.d2_tweedie_score`).

        Returns
        -------
        float
        """
        return d2_tweedie_score(y, self.predict(X, entities), sample_weight=sample_weight, power=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        tags.input_tags.sparse = True  # each chunk is densified (as_dense) after its checks
        return tags
