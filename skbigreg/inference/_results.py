"""Regression results: tests, intervals, fit statistics and the summary table."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as distributions

from ..exceptions import DegreesOfFreedomWarning
from ._covariance import (
    COV_TYPES,
    cluster_meat,
    design_bread,
    sandwich,
    to_reported,
)


@dataclass(frozen=True)
class RegressionResults:
    """Inference for one target of a least-squares fit, laid out like statsmodels'.

    Attributes
    ----------
    params : ndarray of shape (p,)
        Intercept first (when fitted), then the coefficients.
    cov_params : ndarray of shape (p, p)
    names : list of str
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}
    nobs : float
        Rows (analytic weights) or the weight sum (frequency weights).
    df_model, df_resid : float
        Model and residual degrees of freedom (rank-based, as statsmodels).
    ssr : float
        Residual sum of squares (weighted).
    tss : float
        Total sum of squares: centred with an intercept, raw without (as
        statsmodels, so R² without an intercept is uncentred).
    has_intercept : bool
    use_t : bool
        Student t (else normal) for tests and intervals.
    df_inference : float
        Degrees of freedom of the t and F reference distributions
        (``df_resid``, or ``G - 1`` for cluster-robust errors).
    n_clusters : int or None
    target : str
    model, method : str
        Labels of the summary table.
    wald_f : bool
        Whether :attr:`fvalue` is the Wald statistic for every covariance
        type (models whose F is not a ratio of sums of squares, e.g. 2SLS).
    fit_statistics : tuple of (label, text) pairs
        Right-hand column of the summary header for models whose fit is not
        described by R² and a residual std (GLMs: deviance, Pearson χ², scale);
        empty means the least-squares column.
    dispersion : float or None
        The model's own scale (GLMs: the Pearson dispersion, or 1 for
        families without one); None takes ``ssr / df_resid``.
    """

    params: np.ndarray
    cov_params: np.ndarray
    names: list
    cov_type: str
    nobs: float
    df_model: float
    df_resid: float
    ssr: float
    tss: float
    has_intercept: bool
    use_t: bool
    df_inference: float
    n_clusters: int | None = None
    target: str = "y"
    model: str = "OLS"
    method: str = "Least Squares"
    wald_f: bool = False
    fit_statistics: tuple = ()
    dispersion: float | None = None

    @property
    def bse(self):
        """Standard errors."""
        return np.sqrt(np.clip(np.diag(self.cov_params), 0.0, None))

    @property
    def tvalues(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self):
        t = np.abs(self.tvalues)
        if self.use_t:
            return 2 * distributions.t.sf(t, self.df_inference)
        return 2 * distributions.norm.sf(t)

    def conf_int(self, alpha=0.05):
        """Confidence intervals, shape (p, 2)."""
        if self.use_t:
            q = distributions.t.ppf(1 - alpha / 2, self.df_inference)
        else:
            q = distributions.norm.ppf(1 - alpha / 2)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    @property
    def scale(self):
        """Residual variance ``RSS / df_resid``, or the model's ``dispersion``."""
        if self.dispersion is not None:
            return self.dispersion
        return self.ssr / self.df_resid if self.df_resid > 0 else np.nan

    @property
    def resid_std(self):
        """Residual standard deviation."""
        return np.sqrt(self.scale)

    @property
    def rsquared(self):
        return 1.0 - self.ssr / self.tss if self.tss > 0 else np.nan

    @property
    def rsquared_adj(self):
        if self.df_resid <= 0:
            return np.nan
        return 1.0 - (self.nobs - self.has_intercept) / self.df_resid * (1 - self.rsquared)

    @property
    def fvalue(self):
        """F statistic of all slopes being zero (a Wald test for robust errors)."""
        if self.df_model == 0 or self.df_resid <= 0:
            return np.nan
        if self.cov_type == "nonrobust" and not self.wald_f:
            return ((self.tss - self.ssr) / self.df_model) / self.scale
        slopes = slice(1, None) if self.has_intercept else slice(None)
        # parameters left out of a rank-deficient fit have NaN variance
        identified = np.isfinite(np.diag(self.cov_params))[slopes]
        b = self.params[slopes][identified]
        V = self.cov_params[slopes, slopes][np.ix_(identified, identified)]
        return float(b @ np.linalg.pinv(V, hermitian=True) @ b) / self.df_model

    @property
    def f_pvalue(self):
        return distributions.f.sf(self.fvalue, self.df_model, self.df_inference)

    def summary_frame(self, alpha=0.05):
        """The coefficient table as a :class:`pandas.DataFrame`."""
        low, high = self.conf_int(alpha).T
        stat = "t" if self.use_t else "z"
        return pd.DataFrame(
            {
                "coef": self.params,
                "std err": self.bse,
                stat: self.tvalues,
                f"P>|{stat}|": self.pvalues,
                f"[{alpha / 2:g}": low,
                f"{1 - alpha / 2:g}]": high,
            },
            index=pd.Index(self.names, name=None),
        )

    def summary(self, alpha=0.05, title="Cumulative Least Squares Results"):
        """Text table laid out like statsmodels' ``OLS`` summary."""
        return format_summary(self, alpha, title)

    def __str__(self):
        return self.summary()


def regression_results(
    solution,
    stats,
    *,
    target=0,
    cov_type="nonrobust",
    names=None,
    target_name="y",
    hc_meat=None,
    clusters=None,
    weight_type="analytic",
    use_t=None,
    cluster_meat_matrix=None,
):
    """Build :class:`RegressionResults` for one target from statistics.

    ``hc_meat`` is the second-pass :class:`~skbigreg.stats.OuterProductStats`
    (HC types); ``clusters`` the :class:`~skbigreg.stats.GroupedGramStats`
    (cluster type). ``use_t=None`` follows statsmodels: t for nonrobust,
    normal for robust covariances. ``cluster_meat_matrix`` replaces the
    least-squares cluster meat ``sum_g s_g s_g'`` (in the centred
    parametrisation) when an estimator's scores differ from those of the
    design, e.g. instrumental variables; ``clusters`` then only gives ``G``.
    """
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}.")
    center = solution.center
    nobs = stats.n_rows if weight_type == "analytic" else stats.weight_sum
    n_params = solution.rank + center
    df_resid = nobs - n_params
    if df_resid <= 0:
        warnings.warn(
            f"No residual degrees of freedom ({nobs:g} observations, {n_params} "
            "parameters): standard errors, tests and intervals are NaN.",
            DegreesOfFreedomWarning,
            stacklevel=3,
        )
    ssr = float(solution.rss[target, target])
    k = stats.n_features
    tss = float(stats.moments(center=center)[k + target, k + target])
    bread = design_bread(solution, stats)
    n_clusters = None
    df_inference = df_resid
    with np.errstate(divide="ignore", invalid="ignore"):
        if cov_type == "nonrobust":
            cov = bread * (ssr / df_resid if df_resid > 0 else np.nan)
        elif cov_type in ("HC0", "HC1"):
            cov = sandwich(bread, hc_meat.matrix)
            if cov_type == "HC1":
                cov = cov * (nobs / df_resid if df_resid > 0 else np.nan)
        else:
            n_clusters = clusters.n_groups
            meat = cluster_meat_matrix
            if meat is None:
                meat = cluster_meat(clusters, solution, stats, target)
            factor = n_clusters / (n_clusters - 1) * (nobs - 1) / df_resid
            cov = sandwich(bread, meat) * (factor if df_resid > 0 and n_clusters > 1 else np.nan)
            df_inference = n_clusters - 1
    cov = to_reported(cov, solution, stats)
    params = solution.coef[:, target]
    if center:
        params = np.concatenate([[solution.intercept[target]], params])
    if names is None:
        names = [f"x{i}" for i in range(k)]
    names = (["const"] if center else []) + [str(n) for n in names]
    return RegressionResults(
        params=params,
        cov_params=cov,
        names=names,
        cov_type=cov_type,
        nobs=float(nobs),
        df_model=float(solution.rank),
        df_resid=float(df_resid),
        ssr=ssr,
        tss=tss,
        has_intercept=center,
        use_t=(cov_type == "nonrobust") if use_t is None else bool(use_t),
        df_inference=float(df_inference),
        n_clusters=n_clusters,
        target=str(target_name),
    )


def format_summary(res, alpha=0.05, title="Cumulative Least Squares Results"):
    """statsmodels-style text: a header of fit statistics, then the coefficients."""
    width = 78
    cov_label = res.cov_type + (f" (G={res.n_clusters})" if res.n_clusters else "")
    left = [
        ("Dep. Variable:", res.target),
        ("Model:", res.model if res.has_intercept or res.model != "OLS" else "OLS (no intercept)"),
        ("Method:", res.method),
        ("No. Observations:", f"{res.nobs:g}"),
        ("Df Residuals:", f"{res.df_resid:g}"),
        ("Df Model:", f"{res.df_model:g}"),
    ]
    right = list(res.fit_statistics) or [
        ("R-squared" + ("" if res.has_intercept else " (uncentered)") + ":", f"{res.rsquared:.3f}"),
        ("Adj. R-squared:", f"{res.rsquared_adj:.3f}"),
        ("F-statistic:", f"{res.fvalue:.4g}"),
        ("Prob (F-statistic):", f"{res.f_pvalue:.3g}"),
        ("Residual std:", f"{res.resid_std:.4g}"),
    ]
    right.append(("Covariance Type:", cov_label))
    rows = max(len(left), len(right))
    left += [("", "")] * (rows - len(left))
    right += [("", "")] * (rows - len(right))
    lines = [title.center(width), "=" * width]
    for (lk, lv), (rk, rv) in zip(left, right):
        # a right-hand value may take label space, keeping one blank after the label
        pair = f"{rk:<20}{rv:>17}" if len(rv) <= 17 else f"{rk} {rv:>{36 - len(rk)}}"
        lines.append(f"{lk:<20}{lv:>18}   {pair}")
    lines.append("=" * width)
    frame = res.summary_frame(alpha)
    name_width = max(12, max(len(n) for n in frame.index) + 1)
    header = f"{'':<{name_width}}" + "".join(f"{c:>11}" for c in frame.columns)
    lines += [header, "-" * max(width, len(header))]
    for name, row in frame.iterrows():
        values = [f"{row.iloc[0]:11.4g}", f"{row.iloc[1]:11.3g}", f"{row.iloc[2]:11.3f}",
                  f"{row.iloc[3]:11.3f}", f"{row.iloc[4]:11.4g}", f"{row.iloc[5]:11.4g}"]
        lines.append(f"{name:<{name_width}}" + "".join(values))
    lines.append("=" * max(width, len(header)))
    notes = []
    if res.cov_type != "nonrobust":
        notes.append(f"Standard errors are {cov_label}; tests use the "
                     f"{'t' if res.use_t else 'normal'} distribution.")
    if notes:
        lines += ["Notes:"] + [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    return "\n".join(lines)
