"""Cumulative ridge regression and its fold-aggregate cross-validation."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from .._compat import Interval, StrOptions
from ..model_selection._scoring import check_grid
from ..solvers import ridge_path, ridge_system
from ._penalized import (
    FOLD_CV_CONSTRAINTS,
    ChunkedFitMixin,
    FoldCVMixin,
    PenalizedRegressorMixin,
)


def _ridge_path(stats, fit_intercept, alphas):
    path = ridge_path(ridge_system(stats, fit_intercept), alphas)
    return path.coef, path.intercept


class CumulativeRidge(ChunkedFitMixin, PenalizedRegressorMixin, BaseEstimator):
    """Ridge regression from chunks of rows (scikit-learn's ``Ridge``).

    Minimises ``Σ_i w_i (y_i - b - x_i'β)² + α ‖β‖²`` (unpenalised intercept
    ``b``, raw sample weights as scikit-learn) from mergeable statistics:
    ``β = (Cxx + αI)⁻¹ Cxy`` and ``b = mean_y - mean_x'β`` with the centred
    co-moments ``C``, so the rows can arrive in chunks of any size and order.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (non-negative).
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    solver : {"gram", "qr"}, default="gram"
        Accumulator: centred Gram (fast) or TSQR factor (for ill-conditioned
        designs); the ridge solve is an eigendecomposition of ``Cxx`` or an
        SVD of the factor.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    stats_ : GramStats or QRStats
        The merged statistics of every row seen.
    n_samples_seen_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when ``X`` had string column names.

    See Also
    --------
    sklearn.linear_model.Ridge : the same coefficients in memory.
    CumulativeRidgeCV : the penalty chosen by fold-aggregate cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skbigreg.linear_model import CumulativeRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + rng.normal(size=1000)
    >>> model = CumulativeRidge(alpha=10.0)
    >>> for start in range(0, 1000, 250):
    ...     model = model.partial_fit(X[start:start + 250], y[start:start + 250])
    >>> bool(np.allclose(model.coef_, Ridge(alpha=10.0).fit(X, y).coef_))
    True
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"gram", "qr"})],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="gram"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def _solve(self):
        coef, intercept = _ridge_path(self.stats_, self.fit_intercept, [self.alpha])
        self._set_coef(coef[0], intercept[0])


class CumulativeRidgeCV(FoldCVMixin, BaseEstimator):
    """Ridge regression with the penalty chosen by fold-aggregate cross-validation.

    For each ``α`` in ``alphas`` and each fold ``k``, fits
    ``min Σ_{i∉k} w_i (y_i - b - x_i'β)² + α ‖β‖²`` on the training
    statistics (total minus fold ``k``) and scores it on fold ``k``'s
    statistics; every ``α`` comes from one eigendecomposition per fold. The
    per-fold statistics are gathered in the same single pass as the totals,
    then the chosen ``α`` is refitted on all rows.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
        Penalties to try (finite, non-negative; 0 gives the minimum-norm
        least-squares fit).
    fit_intercept : bool, default=True
    scoring : {None, "neg_mean_squared_error", "r2"}, default=None
        Selection criterion: mean fold MSE (None, as ``LassoCV``) or mean
        fold R² (``"r2"``, as ``RidgeCV(cv=...)``).
    cv : int, cross-validation generator or iterable, default=None
        None or an int: that many folds (5 by default), each row's fold a
        seeded hash of its own values (or of its ``groups`` label), so folds
        do not depend on chunking or order; unlike ``KFold``, which cuts by
        position. In memory (``fit``), also a scikit-learn splitter or an
        iterable of ``(train, test)`` index pairs.
    random_state : int, default=None
        Seed of the fold hash (None means 0).
    solver : {"gram", "qr"}, default="gram"

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    alphas_ : ndarray of shape (n_alphas,)
        The penalties tried, in decreasing order.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out (weighted) mean squared error of each penalty on each fold;
        NaN for a fold without training or held-out rows.
    cv_results_ : dict
        ``GridSearchCV``-style results (scores as ``scoring``).
    coef_, intercept_
        Refitted on all rows with ``alpha_``.
    stats_ : GramStats or QRStats
    fold_stats_ : FoldStatistics or SplitStatistics
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    sklearn.linear_model.RidgeCV : leave-one-out or refitting K-fold CV in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 5))
    >>> y = X @ [1.0, 0.0, -1.0, 2.0, 0.0] + rng.normal(size=500)
    >>> model = CumulativeRidgeCV(alphas=np.logspace(-2, 3, 11), cv=5).fit(X, y)
    >>> model.mse_path_.shape
    (11, 5)
    >>> model.alpha_ <= 10.0
    True
    """

    _parameter_constraints: dict = {
        "alphas": ["array-like", Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        **FOLD_CV_CONSTRAINTS,
        "solver": [StrOptions({"gram", "qr"})],
    }

    def __init__(
        self,
        alphas=(0.1, 1.0, 10.0),
        *,
        fit_intercept=True,
        scoring=None,
        cv=None,
        random_state=None,
        solver="gram",
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.random_state = random_state
        self.solver = solver

    def _validate_params(self):
        super()._validate_params()
        check_grid(self.alphas, "alphas")  # before any row is read

    def _grid(self):
        # Each penalty >= 0, as scikit-learn's RidgeCV with a cv: ours is always
        # K-fold (alpha = 0 is the minimum-norm least-squares fit).
        alphas = check_grid(self.alphas, "alphas")
        return [(None, np.sort(alphas)[::-1])]

    def _path(self, stats, l1_ratio, alphas):
        return _ridge_path(stats, self.fit_intercept, alphas)
