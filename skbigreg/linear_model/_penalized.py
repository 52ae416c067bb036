"""What the penalized cumulative estimators share: fitting, merging, fold CV.

A penalized fit needs only the merged statistics; its cross-validation needs
only per-fold statistics, gathered in the same pass as the totals. Each
family (``_ridge.py``, ``_coordinate_descent.py``) supplies one function:
its coefficients along a grid of penalties, from statistics.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from .._compat import StrOptions, _fit_context
from ..base import CumulativeMixin
from ..model_selection._accumulation import FOLD_CONSTRAINTS, FoldAccumulationMixin
from ..passes import pushdown_statistics
from ..model_selection._scoring import Stopwatch, cv_results, fold_scores


class PenalizedRegressorMixin(CumulativeMixin, RegressorMixin):
    """Fit, predict and merge for estimators solved from statistics alone.

    Subclasses define ``_path(stats, l1_ratio, alphas)`` returning
    coefficients ``(A, K, T)`` and intercepts ``(A, T)`` and
    ``_solve()``; ``fit`` = reset + accumulate.
    """

    @classmethod
    def from_statistics(cls, stats, fold_stats=None, feature_names=None, **params):
        """A fitted estimator from statistics gathered elsewhere.

        Parameters
        ----------
        stats : GramStats or QRStats
            Statistics of all rows (e.g. merged from many sites).
        fold_stats : FoldStatistics, optional
            Per-fold statistics; required by the cross-validated estimators.
        feature_names : sequence of str, optional
        **params
            Estimator parameters; ``solver`` is read off ``stats``.
        """
        return cls._from_statistics(stats, feature_names, params, extra=fold_stats)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit_chunks(self, chunks, n_jobs=None):
        """Fit from a chunk source, as :meth:`CumulativeMixin.fit_chunks
        <skbigreg.base.CumulativeMixin.fit_chunks>`.

        A :class:`~skbigreg.io.SqlPushdown` (``read_sql(...).pushdown()``)
        has the database compute the statistics: the totals, and for the
        cross-validated estimators the statistics of each fold (one
        ``GROUP BY``): each row's fold hashed from its values in the query,
        bit for bit as ``hash_folds`` hashes the pulled rows, or with
        ``groups=`` each label's statistics merged into the folds that
        ``hash_folds(groups=...)`` gives them -- the folds of a pulled fit
        either way. No row leaves the database.

        Returns
        -------
        self
        """
        return super().fit_chunks(chunks, n_jobs)

    def _fit_pushdown(self, pushdown):
        name = type(self).__name__
        if self.solver != "gram":
            raise ValueError("A SQL push-down computes Gram statistics: use solver='gram', "
                             "or pull the rows (fit_chunks(read_sql(...))) for solver='qr'.")
        if isinstance(self, FoldAccumulationMixin):
            stats = self._pushdown_folds(pushdown, name)
        else:
            pushdown.require_labels((), f"{name} push-down fits")
            stats = pushdown_statistics(pushdown)
        self._set_statistics(stats, True, pushdown.feature_names)
        self.target_name_ = pushdown.target


class ChunkedFitMixin:
    """``fit`` and ``partial_fit`` with sample weights only."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on in-memory rows (reset, then one chunk).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Enters the objective as the class docstring says (as scikit-learn's
            counterpart does).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Merge one chunk of rows into the statistics; the fit is solved when next read.

        A chunk that fails validation leaves the estimator exactly as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._accumulate(X, y, sample_weight)


#: Constraints of the parameters every fold-CV estimator shares: its folds and
#: its selection criterion.
FOLD_CV_CONSTRAINTS: dict = {
    **FOLD_CONSTRAINTS,
    "scoring": [StrOptions({"neg_mean_squared_error", "r2"}), None],
}


class FoldCVMixin(FoldAccumulationMixin, PenalizedRegressorMixin):
    """Penalty selection by cross-validation on per-fold statistics.

    Subclasses define ``_grid()`` -> list of ``(l1_ratio, alphas)`` and
    ``_path``. Fitted attributes: ``mse_path_``, ``alpha_``, ``alphas_``,
    ``cv_results_`` and ``fold_stats_``.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Gather total and per-fold statistics, select the penalty, refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        groups : array-like of shape (n_samples,), optional
            Group labels: no group is split across folds.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, groups=groups)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, groups=None):
        """Merge one chunk (into the totals and its rows' folds), then re-select.

        Needs ``cv`` None or an int. A chunk that fails validation leaves the
        estimator exactly as it was.

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
        self._check_streamable()
        return self._accumulate(X, y, sample_weight, groups=groups)

    def _selection_score(self, scores):
        return scores.score("r2" if self.scoring == "r2" else "neg_mean_squared_error")

    def _score_grid(self, grid, splits, usable):
        """Held-out MSE, selection score and solve time, each (n_l1, n_alphas, n_folds)."""
        shape = (len(grid), len(grid[0][1]), len(splits))
        mse, score, times = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape)
        for i, (l1_ratio, alphas) in enumerate(grid):
            for k, (train, test) in enumerate(splits):
                if not usable[k]:
                    continue
                with Stopwatch() as watch:
                    coef, intercept = self._path(train, l1_ratio, alphas)
                result = fold_scores(test, coef, intercept)
                mse[i, :, k] = result.mse
                score[i, :, k] = self._selection_score(result)
                times[i, :, k] = watch.seconds / len(alphas)
        return mse, score, times

    def _solve(self):
        grid = self._grid()
        splits, usable = self._usable_splits()
        mse, score, times = self._score_grid(grid, splits, usable)
        # Unusable folds are NaN; ties go to the first (largest) alpha, as LassoCV.
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(score, axis=2)
        best_l1, best_alpha = np.unravel_index(np.nanargmax(mean), mean.shape)
        l1_ratio, alphas = grid[best_l1]
        self.alpha_ = float(alphas[best_alpha])
        if "l1_ratio" in self.get_params():
            self.l1_ratio_ = float(l1_ratio)
        self._refit(l1_ratio, self.alpha_)
        # One grid shared by every l1_ratio is (n_alphas,), as scikit-learn.
        all_alphas = np.array([alphas for _, alphas in grid])
        shared = (all_alphas == all_alphas[0]).all()
        self.alphas_ = all_alphas[0] if shared else all_alphas
        self.mse_path_ = mse[0] if len(grid) == 1 else mse
        params = [self._candidate(l1, a) for l1, alphas in grid for a in alphas]
        n_splits = len(splits)
        self.cv_results_ = cv_results(
            params, score.reshape(-1, n_splits), times.reshape(-1, n_splits)
        )

    def _refit(self, l1_ratio, alpha):
        """Coefficients on all rows at the chosen penalty."""
        coef, intercept = self._path(self.stats_, l1_ratio, np.array([alpha]))
        self._set_coef(coef[0], intercept[0])

    def _candidate(self, l1_ratio, alpha):
        return {"alpha": float(alpha)}
