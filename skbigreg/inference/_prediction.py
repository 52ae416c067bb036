"""Predictions with their uncertainty, from the parameters and their covariance.

The variance of a predicted mean is ``x0' V x0`` for each new design row
``x0``; no pass over the training rows is needed. New rows are processed in
blocks, so a large ``X`` never builds an ``n x p`` by ``p x n`` product.
For a GLM the linear predictor ``eta = x0' b`` carries that variance and the
mean is ``h(eta)`` (``h`` the inverse link), as statsmodels' GLM does: the
standard error by the delta method, ``|h'(eta)| sqrt(x0' V x0)``, and the
interval by mapping the linear predictor's interval through ``h``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as distributions

from ..stats import as_dense

#: Rows of the new design handled at once (bounded memory for a large ``X``).
BLOCK_ROWS = 65_536


def check_alpha(alpha):
    """``alpha`` as a float in (0, 1), else a ``ValueError``."""
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    return alpha


class PredictionResults:
    """Predicted means, their standard errors and intervals (statsmodels' surface).

    Built by :meth:`RegressionResults.get_prediction`; the numbers and
    column names are those of statsmodels'
    ``RegressionResults.get_prediction(exog).summary_frame(alpha)``.

    Parameters
    ----------
    predicted_mean : ndarray of shape (n,)
    var_pred_mean : ndarray of shape (n,)
        ``x0' V x0`` of each row.
    var_resid : float or ndarray of shape (n,)
        Variance of a new observation around its mean (the scale, divided
        by the row's weight when weights are given).
    df : float
        Degrees of freedom of the t distribution (when ``use_t``).
    use_t : bool
        Student t (else normal) quantiles for the intervals.
    row_labels : index, optional
        Index of :meth:`summary_frame` (the index of a DataFrame ``X``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(1000, 2)), columns=["a", "b"])
    >>> y = 1.0 + X["a"] - X["b"] + rng.normal(size=1000)
    >>> res = CumulativeLinearRegression().fit(X, y).results()
    >>> new = pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 2.0]})
    >>> res.get_prediction(new).summary_frame(alpha=0.05).round(2)
       mean  mean_se  mean_ci_lower  mean_ci_upper  obs_ci_lower  obs_ci_upper
    0  0.95     0.03           0.89           1.01         -0.98          2.88
    1 -0.12     0.08          -0.27           0.03         -2.05          1.82
    """

    def __init__(self, predicted_mean, var_pred_mean, var_resid, df, use_t, row_labels=None):
        self.predicted_mean = np.asarray(predicted_mean, dtype=np.float64)
        self.var_pred_mean = np.asarray(var_pred_mean, dtype=np.float64)
        self.var_resid = var_resid
        self.df = df
        self.use_t = bool(use_t)
        self.row_labels = row_labels

    #: Whether the frame has the intervals of a new observation (linear models).
    has_obs_intervals = True

    @property
    def se_mean(self):
        """Standard errors of the predicted means."""
        return np.sqrt(self.var_pred_mean)

    @property
    def se_obs(self):
        """Standard errors of a new observation (mean and residual variance)."""
        return np.sqrt(self.var_pred_mean + self.var_resid)

    def _quantile(self, alpha):
        alpha = check_alpha(alpha)
        if self.use_t:
            return distributions.t.ppf(1 - alpha / 2, self.df)
        return distributions.norm.ppf(1 - alpha / 2)

    def conf_int(self, obs=False, alpha=0.05):
        """Intervals of the mean (``obs=False``) or of a new observation, shape (n, 2)."""
        half = self._quantile(alpha) * (self.se_obs if obs else self.se_mean)
        return np.column_stack([self.predicted_mean - half, self.predicted_mean + half])

    def summary_frame(self, alpha=0.05):
        """DataFrame with ``mean``, ``mean_se``, ``mean_ci_lower/upper`` and, for
        linear models, ``obs_ci_lower/upper``."""
        mean = self.conf_int(alpha=alpha)
        columns = {
            "mean": self.predicted_mean,
            "mean_se": self.se_mean,
            "mean_ci_lower": mean[:, 0],
            "mean_ci_upper": mean[:, 1],
        }
        if self.has_obs_intervals:
            obs = self.conf_int(True, alpha)
            columns.update(obs_ci_lower=obs[:, 0], obs_ci_upper=obs[:, 1])
        return pd.DataFrame(columns, index=self.row_labels)


class MeanPredictionResults(PredictionResults):
    """Predicted means of a GLM: the linear predictor's uncertainty through the link.

    As statsmodels' GLM ``get_prediction``: ``predicted_mean = h(eta)``,
    ``se_mean = |h'(eta)| se(eta)`` (delta method) and the interval of the
    mean is the linear predictor's interval mapped through ``h`` (so it
    stays inside the mean's range; for a decreasing ``h`` its columns come
    in the order the mapping gives, as in statsmodels). There are no
    intervals of a new observation.

    Parameters
    ----------
    linear : PredictionResults
        Predictions of the linear predictor ``eta``.
    link : skbigreg.glm link
        Provides ``inverse`` and ``inverse_deriv``.
    """

    has_obs_intervals = False

    def __init__(self, linear, link):
        slope = link.inverse_deriv(linear.predicted_mean)
        super().__init__(link.inverse(linear.predicted_mean), slope**2 * linear.var_pred_mean,
                         None, linear.df, linear.use_t, linear.row_labels)
        self.linear = linear
        self.link = link

    @property
    def se_obs(self):
        raise AttributeError("A GLM's predictions have no intervals of a new observation.")

    def conf_int(self, obs=False, alpha=0.05):
        """Interval of the mean: the linear predictor's interval through the inverse link."""
        if obs:
            raise ValueError("A GLM's predictions have no intervals of a new observation.")
        return self.link.inverse(self.linear.conf_int(alpha=alpha))


def prediction_design(X, names, has_intercept):
    """The design rows of ``X`` in the order of ``names`` (``const`` first when fitted).

    ``X`` holds the features (a DataFrame's columns must be the model's
    feature names, in any order; ``const`` may be among them), or, as
    statsmodels' ``exog``, the constant column first. Anything else is a
    ``ValueError`` naming the expected columns.
    """
    features = list(names[1:] if has_intercept else names)
    if hasattr(X, "columns"):
        columns = [str(c) for c in X.columns]
        wanted = (["const"] if has_intercept and "const" in columns else []) + features
        if sorted(columns) != sorted(wanted) or len(set(columns)) != len(columns):
            raise ValueError(
                f"X has columns {columns}; the model was fitted on {features}."
            )
        values = X.set_axis(columns, axis=1)[wanted].to_numpy(dtype=np.float64)
    else:
        values = np.asarray(as_dense(X), dtype=np.float64)
        if values.ndim == 1:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] not in (len(features), len(names)):
            raise ValueError(
                f"X must have {len(features)} feature columns (the model's {features}), "
                f"got an array of shape {values.shape}."
            )
    if has_intercept and values.shape[1] == len(features):
        values = np.hstack([np.ones((len(values), 1)), values])
    elif has_intercept and not np.all(values[:, 0] == 1.0):
        raise ValueError("X has one column more than the features, but its first column "
                         "is not the constant 1.")
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        raise ValueError(f"X contains NaN or infinite values in column(s) "
                         f"{[names[i] for i in np.flatnonzero(bad)]}.")
    return values


def get_prediction(results, X, weights=None, link=None, block_rows=BLOCK_ROWS):
    """Predictions of ``results`` at ``X`` with standard errors (see :class:`PredictionResults`).

    ``weights`` divide the residual variance of the observation intervals
    (statsmodels' ``weights``); without them it is the scale, as statsmodels
    does for new rows of a WLS model. With a GLM's ``link`` the predictions
    are of the mean, :class:`MeanPredictionResults`.
    """
    if link is not None and weights is not None:
        raise ValueError("weights scale the intervals of a new observation, which a GLM's "
                         "predictions do not have.")
    design = prediction_design(X, results.names, results.has_intercept)
    params = results.params.to_numpy()
    cov = results.cov
    mean = design @ params
    var = np.empty(len(design))
    for start in range(0, len(design), block_rows):
        block = design[start:start + block_rows]
        var[start:start + block_rows] = np.einsum("ij,ij->i", block @ cov, block)
    var_resid = results.scale
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.size > 1 and weights.shape != (len(design),):
            raise ValueError(f"weights must have shape ({len(design)},), got {weights.shape}.")
        var_resid = var_resid / weights
    labels = X.index if isinstance(X, (pd.DataFrame, pd.Series)) else None
    linear = PredictionResults(mean, var, var_resid, results.df_resid, results.use_t, labels)
    return linear if link is None else MeanPredictionResults(linear, link)
