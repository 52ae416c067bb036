"""Cumulative elastic net and lasso, and their fold-aggregate cross-validation."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from .._compat import Interval, StrOptions
from ..model_selection._scoring import check_grid
from ..solvers import alpha_grid, enet_path_gram, gram_problems
from ._penalized import (
    FOLD_CV_CONSTRAINTS,
    ChunkedFitMixin,
    FoldCVMixin,
    PenalizedRegressorMixin,
)


def _enet_path(stats, estimator, l1_ratio, alphas):
    """Coefficients ``(A, K, T)``, intercepts ``(A, T)``, gaps and sweeps ``(A, T)``."""
    paths = [
        enet_path_gram(
            problem, alphas, l1_ratio, max_iter=estimator.max_iter,
            tol=estimator.tol, positive=estimator.positive,
        )
        for problem in gram_problems(stats, estimator.fit_intercept)
    ]
    coef = np.stack([p.coef for p in paths], axis=2)
    intercept = np.stack([p.intercept for p in paths], axis=1)
    gaps = np.stack([p.dual_gap for p in paths], axis=1)
    n_iter = np.stack([p.n_iter for p in paths], axis=1)
    return coef, intercept, gaps, n_iter


def _set_enet_solution(estimator, l1_ratio, alpha):
    """Solve on ``stats_``; set ``coef_``, ``intercept_``, ``dual_gap_``, ``n_iter_``."""
    coef, intercept, gaps, n_iter = _enet_path(
        estimator.stats_, estimator, l1_ratio, np.array([alpha])
    )
    estimator._set_coef(coef[0], intercept[0])
    estimator.dual_gap_ = float(gaps[0, 0]) if estimator._y_1d else gaps[0]
    estimator.n_iter_ = int(n_iter[0, 0]) if estimator._y_1d else n_iter[0].tolist()


_COMMON_CONSTRAINTS: dict = {
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "positive": ["boolean"],
    "solver": [StrOptions({"gram", "qr"})],
}


class CumulativeElasticNet(ChunkedFitMixin, PenalizedRegressorMixin, BaseEstimator):
    """Elastic net from chunks of rows (scikit-learn's ``ElasticNet``).

    Minimises ``1/(2W) Σ_i w_i (y_i - b - x_i'β)² + α ρ ‖β‖₁ + α (1 - ρ)/2 ‖β‖²``
    with ``W = Σ w_i`` (scikit-learn rescales the weights to sum to ``n``:
    the same problem) and ``ρ = l1_ratio``, by coordinate descent on the
    centred Gram matrix of the merged statistics; the rows are never revisited.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Maximum coordinate-descent sweeps.
    tol : float, default=1e-4
        Stop when the duality gap is below ``tol * y'Wy / W`` (centred), as
        scikit-learn.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    solver : {"gram", "qr"}, default="gram"
        Accumulator of the statistics.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    dual_gap_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
    stats_ : GramStats or QRStats
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    sklearn.linear_model.ElasticNet : the same problem in memory.
    CumulativeElasticNetCV : penalties chosen by fold-aggregate cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import ElasticNet
    >>> from skbigreg.linear_model import CumulativeElasticNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 4))
    >>> y = X @ [1.0, 0.0, -2.0, 0.0] + rng.normal(size=1000)
    >>> model = CumulativeElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10)
    >>> model = model.partial_fit(X[:400], y[:400]).partial_fit(X[400:], y[400:])
    >>> ref = ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10).fit(X, y)
    >>> bool(np.allclose(model.coef_, ref.coef_, atol=1e-8))
    True
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        positive=False,
        solver="gram",
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.solver = solver

    def _solve(self):
        _set_enet_solution(self, self.l1_ratio, self.alpha)


class CumulativeLasso(CumulativeElasticNet):
    """Lasso from chunks of rows (scikit-learn's ``Lasso``).

    Minimises ``1/(2W) Σ_i w_i (y_i - b - x_i'β)² + α ‖β‖₁``: the elastic
    net with ``l1_ratio=1``.

    Parameters
    ----------
    alpha : float, default=1.0
    fit_intercept : bool, default=True
    max_iter : int, default=1000
    tol : float, default=1e-4
    positive : bool, default=False
    solver : {"gram", "qr"}, default="gram"

    Attributes
    ----------
    coef_, intercept_, dual_gap_, n_iter_, stats_
        As :class:`CumulativeElasticNet`.

    See Also
    --------
    sklearn.linear_model.Lasso : the same problem in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 4))
    >>> y = X @ [1.0, 0.0, -2.0, 0.0] + rng.normal(size=1000)
    >>> model = CumulativeLasso(alpha=0.2).fit(X, y)
    >>> np.flatnonzero(model.coef_)
    array([0, 2])
    """

    _parameter_constraints: dict = {
        key: value
        for key, value in CumulativeElasticNet._parameter_constraints.items()
        if key != "l1_ratio"
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        positive=False,
        solver="gram",
    ):
        super().__init__(
            alpha=alpha,
            l1_ratio=1.0,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            positive=positive,
            solver=solver,
        )


class CumulativeElasticNetCV(FoldCVMixin, BaseEstimator):
    """Elastic net with ``alpha`` (and ``l1_ratio``) chosen by fold-aggregate CV.

    For each ``l1_ratio``, the path ``α_1 > ... > α_A`` of
    ``min 1/(2W) Σ_{i∉k} w_i (y_i - b - x_i'β)² + α ρ ‖β‖₁ + α (1 - ρ)/2 ‖β‖²``
    is solved on each fold's training statistics (total minus fold ``k``) by
    warm-started coordinate descent on the Gram matrix and scored on fold
    ``k``'s statistics; per-fold statistics come from the same single pass as
    the totals. The best pair is refitted on all rows.

    Parameters
    ----------
    l1_ratio : float or array-like of float, default=0.5
        Values in ``[0, 1]``; 0 (ridge) needs explicit ``alphas``, as in
        scikit-learn.
    eps : float, default=1e-3
        ``α_min / α_max`` of the default grid.
    alphas : int or array-like, default=100
        Number of penalties of the default grid (``α_max`` from ``X'Wy``,
        as scikit-learn) or the penalties themselves (finite, non-negative).
    fit_intercept : bool, default=True
    max_iter : int, default=1000
    tol : float, default=1e-4
    cv : int, cross-validation generator or iterable, default=None
        None or an int: that many folds (5 by default), each row's fold a
        seeded hash of its own values (or of its ``groups`` label), so folds
        do not depend on chunking or order; unlike ``KFold``, which cuts by
        position. In memory (``fit``), also a scikit-learn splitter or an
        iterable of ``(train, test)`` index pairs.
    positive : bool, default=False
    random_state : int, default=None
        Seed of the fold hash (None means 0).
    scoring : {None, "neg_mean_squared_error", "r2"}, default=None
        Selection criterion: mean fold MSE (None) or mean fold R².
    solver : {"gram", "qr"}, default="gram"

    Attributes
    ----------
    alpha_ : float
    l1_ratio_ : float
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out (weighted) MSE; NaN for a fold without training or held-out rows.
    cv_results_ : dict
    coef_, intercept_
        Refitted on all rows with ``alpha_`` and ``l1_ratio_``.
    stats_ : GramStats or QRStats
    fold_stats_ : FoldStatistics or SplitStatistics
    n_samples_seen_, n_features_in_, feature_names_in_

    See Also
    --------
    sklearn.linear_model.ElasticNetCV : refits every fold from the rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeElasticNetCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 6))
    >>> y = X @ [1.0, 0.0, -1.0, 0.0, 0.0, 2.0] + rng.normal(size=500)
    >>> model = CumulativeElasticNetCV(l1_ratio=[0.5, 1.0], alphas=20).fit(X, y)
    >>> model.mse_path_.shape
    (2, 20, 5)
    """

    _parameter_constraints: dict = {
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        **FOLD_CV_CONSTRAINTS,
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        eps=1e-3,
        alphas=100,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        cv=None,
        positive=False,
        random_state=None,
        scoring=None,
        solver="gram",
    ):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.positive = positive
        self.random_state = random_state
        self.scoring = scoring
        self.solver = solver

    def _validate_params(self):
        super()._validate_params()
        self._grid_settings()  # before any row is read

    def _grid_settings(self):
        """The checked ``l1_ratio`` values and given ``alphas`` (None: automatic grid).

        Each value is checked as scikit-learn's ``ElasticNetCV.fit`` does
        (the declared constraints see only the container).
        """
        l1_ratios = check_grid(self.l1_ratio, "l1_ratio", 0.0, 1.0)
        if not isinstance(self.alphas, Integral):
            return l1_ratios, check_grid(self.alphas, "alphas")
        if (l1_ratios == 0).any():
            # The automatic grid starts at the smallest alpha giving w = 0,
            # which does not exist without an L1 penalty. scikit-learn's message:
            raise ValueError(
                "Automatic alpha grid generation is not supported for l1_ratio=0. "
                "Please supply a grid by providing your estimator with the "
                "appropriate `alphas=` argument."
            )
        return l1_ratios, None

    def _grid(self):
        l1_ratios, alphas = self._grid_settings()
        if alphas is None:
            xy = np.stack([p.xy for p in gram_problems(self.stats_, self.fit_intercept)], 1)
            return [
                (l1, alpha_grid(xy, l1, self.eps, self.alphas, self.positive))
                for l1 in l1_ratios
            ]
        alphas = np.sort(alphas)[::-1]
        return [(l1, alphas) for l1 in l1_ratios]

    def _path(self, stats, l1_ratio, alphas):
        coef, intercept, _, _ = _enet_path(stats, self, l1_ratio, alphas)
        return coef, intercept

    def _refit(self, l1_ratio, alpha):
        _set_enet_solution(self, l1_ratio, alpha)

    def _candidate(self, l1_ratio, alpha):
        return {"alpha": float(alpha), "l1_ratio": float(l1_ratio)}


class CumulativeLassoCV(CumulativeElasticNetCV):
    """Lasso with ``alpha`` chosen by fold-aggregate cross-validation.

    The :class:`CumulativeElasticNetCV` path with ``l1_ratio=1``:
    ``min 1/(2W) Σ_{i∉k} w_i (y_i - b - x_i'β)² + α ‖β‖₁`` for each fold ``k``.

    Parameters
    ----------
    eps, alphas, fit_intercept, max_iter, tol, cv, positive, random_state, scoring, solver
        As :class:`CumulativeElasticNetCV`.

    Attributes
    ----------
    alpha_ : float
    alphas_ : ndarray of shape (n_alphas,)
    mse_path_ : ndarray of shape (n_alphas, n_folds)
    cv_results_, coef_, intercept_, stats_, fold_stats_
        As :class:`CumulativeElasticNetCV`.

    See Also
    --------
    sklearn.linear_model.LassoCV : refits every fold from the rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 6))
    >>> y = X @ [1.0, 0.0, -1.0, 0.0, 0.0, 2.0] + rng.normal(size=500)
    >>> model = CumulativeLassoCV(cv=5, random_state=0).fit(X, y)
    >>> model.mse_path_.shape
    (100, 5)
    >>> bool(model.alphas_[-1] <= model.alpha_ <= model.alphas_[0])
    True
    """

    _parameter_constraints: dict = {
        key: value
        for key, value in CumulativeElasticNetCV._parameter_constraints.items()
        if key != "l1_ratio"
    }

    def __init__(
        self,
        *,
        eps=1e-3,
        alphas=100,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        cv=None,
        positive=False,
        random_state=None,
        scoring=None,
        solver="gram",
    ):
        super().__init__(
            l1_ratio=1.0,
            eps=eps,
            alphas=alphas,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            cv=cv,
            positive=positive,
            random_state=random_state,
            scoring=scoring,
            solver=solver,
        )

    def _candidate(self, l1_ratio, alpha):
        return {"alpha": float(alpha)}
