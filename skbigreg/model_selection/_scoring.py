"""Scores of linear models on a held-out fold, from the fold's statistics alone.

# Σ w (y - b - x'β)² = Cyy - 2β'Cxy + β'Cxxβ + W (ȳ - b - x̄'β)²

with ``W``, ``x̄``, ``ȳ`` and the centred co-moments ``C`` of the held-out
rows. Mean squared error and R² (``1 - SSR / Cyy``) follow; scorers that need
the individual predictions (MAE, quantiles, ...) cannot be computed this way.
The settings of such a search (scorer name, candidate grid) are checked here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.stats import rankdata
from sklearn.utils import check_scalar

#: Scorer names computable from aggregates, and their sign convention.
SCORERS = ("neg_mean_squared_error", "neg_root_mean_squared_error", "r2")


@dataclass(frozen=True)
class FoldScores:
    """Held-out scores of ``A`` models on one fold, per target.

    Attributes
    ----------
    mse_per_target : ndarray of shape (A, T)
        Weighted mean squared error; NaN when the fold holds no weight.
    r2_per_target : ndarray of shape (A, T)
    """

    mse_per_target: np.ndarray
    r2_per_target: np.ndarray

    @property
    def mse(self):
        """MSE averaged over targets, shape (A,)."""
        return self.mse_per_target.mean(axis=1)

    def score(self, scoring):
        """Scores averaged over targets, greater is better (as scikit-learn's scorers)."""
        if scoring == "r2":
            per_target = self.r2_per_target
        elif scoring == "neg_root_mean_squared_error":
            per_target = -np.sqrt(self.mse_per_target)
        else:
            per_target = -self.mse_per_target
        return per_target.mean(axis=1)


def check_scoring(scoring):
    """Validate a scorer name; ``None`` is kept (the caller's default)."""
    if scoring is None or (isinstance(scoring, str) and scoring in SCORERS):
        return scoring
    raise ValueError(
        f"scoring={scoring!r} cannot be computed from fold statistics: held-out "
        f"scores come from aggregates, which give only {list(SCORERS)} (or None)."
    )


def check_grid(values, name, low=0.0, high=None):
    """Candidate values of parameter ``name``, checked: a 1-D float array.

    Each value must be a finite real in ``[low, high]``; errors name the
    value as scikit-learn's ``*CV`` estimators do (``alphas[0] == -1, must
    be >= 0.0.``). NaN and inf are refused too: they define no model.

    Examples
    --------
    >>> check_grid([0.1, 1], "alphas")
    array([0.1, 1. ])
    >>> check_grid([1, -1], "alphas")
    Traceback (most recent call last):
    ...
    ValueError: alphas[1] == -1, must be >= 0.0.
    """
    given = np.asarray(values)
    if given.ndim > 1 or given.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got {values!r}.")
    # The values as given (an int stays an int in the message, as in scikit-learn's)
    for index, value in enumerate(values if given.ndim else [values]):
        label = f"{name}[{index}]"
        check_scalar(value, label, Real, min_val=low, max_val=high)
        if not np.isfinite(value):
            raise ValueError(f"{label} == {value}, must be finite.")
    return np.atleast_1d(given).astype(np.float64)


def fold_scores(test, coef, intercept):
    """Held-out MSE and R² of models ``(coef, intercept)`` on statistics ``test``.

    Parameters
    ----------
    test : GramStats or QRStats
        Statistics of the held-out rows.
    coef : ndarray of shape (A, K, T)
    intercept : ndarray of shape (A, T)

    Returns
    -------
    FoldScores
    """
    n_models = coef.shape[0]
    if test.weight_sum <= 0:
        nan = np.full((n_models, test.n_targets), np.nan)
        return FoldScores(nan, nan)
    k = test.n_features
    C = test.comoment
    cxx, cxy, cyy = C[:k, :k], C[:k, k:], np.diag(C[k:, k:])
    quad = (
        cyy[None, :]
        - 2.0 * np.einsum("akt,kt->at", coef, cxy)
        + np.einsum("akt,kj,ajt->at", coef, cxx, coef)
    )
    shift = test.mean_y[None, :] - intercept - np.einsum("k,akt->at", test.mean_x, coef)
    ssr = np.clip(quad, 0.0, None) + test.weight_sum * shift**2
    mse = ssr / test.weight_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(cyy > 0, 1.0 - ssr / np.where(cyy > 0, cyy, 1.0),
                      np.where(ssr == 0, 1.0, 0.0))
    return FoldScores(mse, r2)


def cv_results(params, scores, fit_times=None):
    """A ``GridSearchCV.cv_results_``-style dict.

    Parameters
    ----------
    params : list of dict
        Candidate parameters.
    scores : ndarray of shape (n_candidates, n_splits)
        Held-out scores, greater is better (NaN for unusable folds).
    fit_times : ndarray of shape (n_candidates, n_splits), optional
        Time of each candidate's solve on each fold's statistics.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_candidates, n_splits = scores.shape
    times = np.zeros_like(scores) if fit_times is None else np.asarray(fit_times)
    results = {
        "mean_fit_time": times.mean(axis=1),
        "std_fit_time": times.std(axis=1),
        "mean_score_time": np.zeros(n_candidates),
        "std_score_time": np.zeros(n_candidates),
    }
    for name in sorted({name for p in params for name in p}):
        column = np.ma.MaskedArray(np.empty(n_candidates, dtype=object), mask=True)
        for i, p in enumerate(params):
            if name in p:
                column[i] = p[name]
        results[f"param_{name}"] = column
    results["params"] = list(params)
    for k in range(n_splits):
        results[f"split{k}_test_score"] = scores[:, k]
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(scores)
        count = valid.sum(axis=1)
        mean = np.where(count > 0, np.nansum(scores, axis=1) / np.maximum(count, 1), np.nan)
        var = np.nansum((scores - mean[:, None]) ** 2, axis=1) / np.maximum(count, 1)
    results["mean_test_score"] = mean
    results["std_test_score"] = np.sqrt(var)
    # As GridSearchCV: rank 1 is best, ties share the lowest rank, NaN is last.
    filled = np.where(np.isnan(mean), -np.inf, mean)
    results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
    return results


class Stopwatch:
    """Wall time of a block, in seconds (``with Stopwatch() as t: ...; t.seconds``)."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
