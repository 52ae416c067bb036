"""Grid search over solve-time parameters from one pass of per-fold statistics."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.model_selection import ParameterGrid
from sklearn.utils import get_tags

from .._compat import HasMethods, StrOptions, _fit_context
from ..base import CumulativeMixin, fit_source
from ..io import SqlPushdown
from ..parallel import single_blas_thread
from ._accumulation import FOLD_CONSTRAINTS, FoldAccumulationMixin
from ..stats import accumulator_for
from ._scoring import SCORERS, Stopwatch, check_scoring, cv_results, fold_scores

# Parameters that change what is accumulated, not how it is solved.
_ACCUMULATION_PARAMS = ("solver",)


def _candidate_model(estimator, stats, params, feature_names=None, base_params=None):
    """``estimator`` with ``params``, fitted from ``stats`` alone."""
    if base_params is None:
        base_params = clone(estimator).get_params(deep=False)
    merged = {**base_params, **params}
    return type(estimator).from_statistics(stats, feature_names=feature_names, **merged)


def _as_path(model, n_features, n_targets):
    """A fitted linear model's ``(coef (1, K, T), intercept (1, T))``."""
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(n_targets, n_features)
    intercept = np.asarray(model.intercept_, dtype=np.float64).reshape(1, n_targets)
    return coef.T[None], intercept


class FoldGridSearchCV(FoldAccumulationMixin, CumulativeMixin, MetaEstimatorMixin,
                       RegressorMixin, BaseEstimator):
    """Exhaustive search over solve-time parameters from per-fold statistics.

    Picks ``argmax_θ (1/F) Σ_k score(β̂_θ(total - fold k), fold k)`` over
    the candidates ``θ`` of ``param_grid``, where every fit uses only the
    statistics of the training rows and every score only those of the
    held-out rows; per-fold statistics come from one pass over the rows (or
    a ``partial_fit`` stream). The surface is ``GridSearchCV``'s.

    Parameters
    ----------
    estimator : cumulative estimator
        Any estimator with a ``from_statistics`` class method and linear
        ``coef_``/``intercept_`` (e.g. ``CumulativeRidge``,
        ``CumulativeElasticNet``, ``CumulativeLinearRegression``).
    param_grid : dict or list of dicts
        Candidate values of parameters used at solve time (``alpha``,
        ``l1_ratio``, ``fit_intercept`` ...); ``solver`` cannot vary.
    scoring : {None, "r2", "neg_mean_squared_error", "neg_root_mean_squared_error"}, \
default=None
        None means R², the regressor's ``score`` (as ``GridSearchCV``). Other
        scorers need the individual predictions and raise ``ValueError``.
    cv : int, cross-validation generator or iterable, default=None
        As :class:`~skbigreg.linear_model.CumulativeRidgeCV`: None or an int
        gives folds hashed from each row's values (or ``groups``).
    random_state : int, default=None
        Seed of the fold hash (None means 0).
    refit : bool, default=True
        Refit the best candidate on the total statistics.

    Attributes
    ----------
    cv_results_ : dict
        As ``GridSearchCV.cv_results_`` (fit times are solve times).
    best_index_ : int
    best_params_ : dict
    best_score_ : float
    best_estimator_ : estimator
        The best candidate fitted from the total statistics (``refit=True``).
    n_splits_ : int
    stats_ : GramStats or QRStats
    fold_stats_ : FoldStatistics or SplitStatistics
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    sklearn.model_selection.GridSearchCV : refits every candidate on every fold.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeRidge
    >>> from skbigreg.model_selection import FoldGridSearchCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = X @ [1.0, -1.0, 0.5] + rng.normal(size=400)
    >>> search = FoldGridSearchCV(CumulativeRidge(), {"alpha": [0.1, 10.0, 1000.0]})
    >>> search = search.fit(X, y)
    >>> search.best_params_
    {'alpha': 10.0}
    >>> search.cv_results_["rank_test_score"]
    array([2, 1, 3], dtype=int32)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "from_statistics"])],
        "param_grid": [dict, list],
        "scoring": [StrOptions(set(SCORERS)), None],
        **FOLD_CONSTRAINTS,
        "refit": ["boolean"],
    }

    def __init__(self, estimator, param_grid, *, scoring=None, cv=None,
                 random_state=None, refit=True):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.cv = cv
        self.random_state = random_state
        self.refit = refit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Gather total and per-fold statistics in one pass, search, refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the fits and of the held-out scores.
        groups : array-like of shape (n_samples,), optional
            Group labels: no group is split across folds.

        Returns
        -------
        self
        """
        self._check_search()
        return self._fit(X, y, sample_weight, groups=groups)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None, groups=None):
        """Merge one chunk into the total and per-fold statistics, then search.

        Needs ``cv`` None or an int. A chunk that fails validation leaves the
        search exactly as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        groups : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_search()
        self._check_streamable()
        return self._accumulate(X, y, sample_weight, groups=groups)

    def fit_chunks(self, chunks, n_jobs=None):
        """Fit from a chunk source, as :meth:`CumulativeMixin.fit_chunks
        <skbigreg.base.CumulativeMixin.fit_chunks>`.

        A :class:`~skbigreg.io.SqlPushdown` (``read_sql(...).pushdown()``)
        has the database compute the totals and each fold's Gram statistics
        (one ``GROUP BY``; each row's fold hashed from its values in SQL as
        :func:`~skbigreg.model_selection.hash_folds` hashes pulled rows, or
        from ``groups=``): the search and the refit then equal those of the
        pulled fit, and no row leaves the database. The estimator must solve
        from Gram statistics (``solver="gram"``).

        Returns
        -------
        self
        """
        if isinstance(chunks, SqlPushdown):
            self._validate_params()
            self._check_search()
            return fit_source(self, (), lambda _: self._fit_pushdown(chunks))
        return super().fit_chunks(chunks, n_jobs)

    def _fit_pushdown(self, pushdown):
        stats = self._pushdown_folds(pushdown, type(self).__name__)
        self._set_statistics(stats, True, pushdown.feature_names)
        self.target_name_ = pushdown.target

    def _check_search(self):
        check_scoring(self.scoring)
        for params in ParameterGrid(self.param_grid):
            fixed = [name for name in _ACCUMULATION_PARAMS if name in params]
            if fixed:
                raise ValueError(
                    f"{fixed} cannot vary in a fold-statistics search: they change "
                    "what is accumulated, not how it is solved."
                )

    def _fold_accumulator(self):
        return accumulator_for(self.estimator.get_params().get("solver", "gram"))

    def _solve(self):
        candidates = list(ParameterGrid(self.param_grid))
        splits, usable = self._usable_splits()
        shape = (len(candidates), len(splits))
        scores, times = np.full(shape, np.nan), np.zeros(shape)
        k_features, n_targets = self.stats_.n_features, self.stats_.n_targets
        base_params = clone(self.estimator).get_params(deep=False)
        # One BLAS limit for all candidates (each solve would set its own).
        with single_blas_thread():
            for i, params in enumerate(candidates):
                for k, (train, test) in enumerate(splits):
                    if not usable[k]:
                        continue
                    with Stopwatch() as watch:
                        model = _candidate_model(self.estimator, train, params,
                                                 base_params=base_params)
                    coef, intercept = _as_path(model, k_features, n_targets)
                    scores[i, k] = fold_scores(test, coef, intercept).score(
                        self.scoring or "r2"
                    )[0]
                    times[i, k] = watch.seconds
        self.cv_results_ = cv_results(candidates, scores, times)
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.n_splits_ = len(splits)
        self.multimetric_ = False
        if self.refit:
            self.best_estimator_ = _candidate_model(
                self.estimator, self.stats_, self.best_params_,
                getattr(self, "feature_names_in_", None),
            )

    def _check_refitted(self):
        self._check_fitted()
        if not self.refit:
            raise AttributeError("This search was not refitted (refit=False).")

    def predict(self, X):
        """Predict with :attr:`best_estimator_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        self._check_refitted()
        return self.best_estimator_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags
