"""Regression results: tests, intervals, fit statistics and the summary table."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as distributions

from ..base import design_rows
from ..base import target_name  # noqa: F401 (re-exported)
from ..exceptions import PerfectFitWarning
from ._prediction import get_prediction
from ._likelihood import gaussian_llf
from ._summary import Summary
from ._tests import check_alpha, f_test, t_test, wald_test


@dataclass(frozen=True, eq=False)
class RegressionResults:
    """Inference for one target of a fitted model, with statsmodels' surface.

    Every estimator that reports inference returns this type from
    ``results(cov_type=None)``: parameters, standard errors, tests and
    intervals are pandas objects indexed by the parameter names (the
    intercept is ``const``), and :meth:`summary` renders one table layout.

    Parameters
    ----------
    params : array-like of shape (p,)
        Intercept first (when fitted), then the coefficients; stored as a
        :class:`pandas.Series` indexed by ``names``.
    cov : ndarray of shape (p, p)
        Covariance of ``params`` (:meth:`cov_params` labels it).
    names : list of str
    cov_type : str
        ``"nonrobust"``, ``"HC0"``, ``"HC1"``, ``"cluster"`` or the
        estimator's own label.
    nobs : int or float
        Rows (an int; analytic weights) or the weight sum (frequency weights).
    df_model, df_resid : int or float
        Model and residual degrees of freedom (rank-based, as statsmodels);
        integers when ``nobs`` counts rows.
    ssr : float
        Residual sum of squares (weighted; the deviance for GLMs).
    tss : float
        Total sum of squares: centred with an intercept or absorbed effects,
        raw without (as statsmodels, so R² without an intercept is uncentred).
    has_intercept : bool
        Whether ``params`` starts with ``const``.
    use_t : bool
        Student t (else normal) for tests and intervals.
    df_inference : float
        Degrees of freedom of the t and F reference distributions
        (``df_resid``, or ``G - 1`` for cluster-robust errors).
    n_clusters : int or None
    target : str
        Name of the dependent variable.
    model, method, title : str
        Labels of the summary table.
    wald_f : bool
        Whether :attr:`fvalue` is the Wald statistic for every covariance
        type (models whose F is not a ratio of sums of squares, e.g. 2SLS).
    fit_statistics : tuple of (label, value) pairs
        Right-hand column of the summary header for models whose fit is not
        described by R² and a residual std (GLMs: deviance, Pearson χ²,
        scale); empty means the least-squares column.
    model_info : tuple of (label, value) pairs
        More rows of the left-hand header column (e.g. family, link,
        partitions).
    notes : tuple of str
        More notes below the table.
    scale : float, optional
        The dispersion of the model (statsmodels' ``scale``); None means
        ``ssr / df_resid``.
    tss_within : float
        Total sum of squares of the target demeaned within the absorbed
        effects (NaN without absorbed effects).
    n_absorbed : int
        Absorbed fixed effects counted in the degrees of freedom (pyfixest's
        ``k_fe``), 0 without.
    link : skbigreg.glm link, optional
        A GLM's link: :meth:`get_prediction` then predicts the mean through
        it. None for linear models.
    likelihood : callable, optional
        ``likelihood(name)`` is a GLM's ``"llf"``, ``"llnull"`` or
        ``"null_deviance"`` (its deviance is ``ssr``), evaluated when asked
        for; None for least squares, whose ``llf`` is the Gaussian one.
    log_weight_sum : float, optional
        ``sum log w`` over rows (0 unweighted), which the Gaussian ``llf`` of
        a weighted least-squares fit needs; None when not gathered.
    no_prediction : str, optional
        Why the model has no predicted means with standard errors (e.g.
        absorbed effects, whose sampling variance is not estimated):
        :meth:`get_prediction` raises a ``ValueError`` saying so. None for
        models that predict.
    design_spec : object, optional
        The fitted model's ``design_spec_`` (a formula's frozen encoding):
        :meth:`get_prediction` then also takes raw rows, made into the
        design as in the fit. None for models fitted on a design.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(10_000, 2)), columns=["a", "b"])
    >>> y = pd.Series(X["a"] - X["b"] + rng.normal(size=10_000), name="sales")
    >>> res = CumulativeLinearRegression().fit(X, y).results()
    >>> res.params.round(1)
    const    0.0
    a        1.0
    b       -1.0
    dtype: float64
    >>> res.conf_int().shape, res.cov_params().shape, res.target
    ((3, 2), (3, 3), 'sales')
    """

    params: pd.Series
    cov: np.ndarray
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
    title: str = "Cumulative Least Squares Results"
    wald_f: bool = False
    fit_statistics: tuple = ()
    model_info: tuple = ()
    notes: tuple = ()
    scale: float | None = None
    tss_within: float = np.nan
    n_absorbed: int = 0
    link: object = None
    likelihood: object = None
    log_weight_sum: float | None = None
    no_prediction: str | None = None
    design_spec: object = None

    def __post_init__(self):
        names = [str(name) for name in self.names]
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "params", pd.Series(np.asarray(self.params, dtype=np.float64), index=names))
        object.__setattr__(self, "cov", np.asarray(self.cov, dtype=np.float64))
        if self.scale is None:
            object.__setattr__(self, "scale", _ratio(self.ssr, self.df_resid) if self.df_resid > 0 else np.nan)
        if self.ssr == 0 and self.df_resid > 0:
            warnings.warn(
                "The model fits every row exactly (residual sum of squares 0): standard "
                "errors are 0, t statistics infinite and the F statistic is inf.",
                PerfectFitWarning,
                stacklevel=4,
            )

    # -- coefficients -------------------------------------------------------
    def _series(self, values):
        return pd.Series(values, index=self.params.index)

    def cov_params(self):
        """Covariance of the parameters, a DataFrame labelled by their names."""
        return pd.DataFrame(self.cov, index=self.names, columns=self.names)

    @property
    def bse(self):
        """Standard errors."""
        return self._series(np.sqrt(np.clip(np.diag(self.cov), 0.0, None)))

    @property
    def tvalues(self):
        """``params / bse`` (inf where a standard error is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self):
        t = np.abs(self.tvalues.to_numpy())
        if self.use_t:
            return self._series(2 * distributions.t.sf(t, self.df_inference))
        return self._series(2 * distributions.norm.sf(t))

    def _quantile(self, alpha):
        if self.use_t:
            return distributions.t.ppf(1 - alpha / 2, self.df_inference)
        return distributions.norm.ppf(1 - alpha / 2)

    def conf_int(self, alpha=0.05):
        """Confidence intervals: a DataFrame with columns 0 (lower) and 1 (upper)."""
        check_alpha(alpha)
        half = self._quantile(alpha) * self.bse
        return pd.DataFrame({0: self.params - half, 1: self.params + half})

    def get_prediction(self, X, weights=None):
        """Predicted means at ``X`` with standard errors and intervals.

        As statsmodels' ``get_prediction(exog)``: ``X`` holds the feature
        columns (a DataFrame's names must be the model's), with or without
        the ``const`` column; ``weights`` scale the observation intervals.
        A model fitted from a formula also takes a frame of raw rows, as
        statsmodels' formula models do (see :attr:`design_spec`).
        Returns a :class:`~skbigreg.inference.PredictionResults`
        (``summary_frame(alpha)``, ``predicted_mean``, ``se_mean``,
        ``conf_int(obs, alpha)``); for a GLM the mean's, through its link.
        """
        if self.no_prediction:
            raise ValueError(self.no_prediction)
        X = design_rows(self.design_spec, X)
        return get_prediction(self, X, weights=weights, link=self.link)

    # -- tests of linear restrictions (statsmodels' semantics) ----------------
    def t_test(self, r, use_t=None):
        """t (or z) tests of each restriction ``R b = q``.

        Parameters
        ----------
        r : str, list of str, array-like or (R, q)
            statsmodels' forms: ``"a = 1, b = c"``, ``"2*a - b = 0"``,
            ``"const"`` (``= 0`` implied), a matrix ``R`` or a pair ``(R, q)``.
        use_t : bool, optional
            Defaults to :attr:`use_t`; t tests use ``df_inference`` degrees of
            freedom.

        Returns
        -------
        ContrastResults
            ``effect``, ``sd``, ``tvalue``, ``pvalue``, ``df_denom``,
            ``conf_int(alpha)``, ``summary_frame()``.
        """
        return t_test(self, r, use_t)

    def f_test(self, r):
        """F test of the joint restrictions: ``fvalue``, ``pvalue``, ``df_num``, ``df_denom``."""
        return f_test(self, r)

    def wald_test(self, r, use_f=None, scalar=True):
        """Wald test of the joint restrictions: F when ``use_f`` (default :attr:`use_t`), else chi2."""
        return wald_test(self, r, use_f, scalar)

    # -- fit statistics -----------------------------------------------------
    @property
    def resid_std(self):
        """Square root of :attr:`scale` (the residual std for least squares)."""
        return np.sqrt(self.scale)

    @property
    def _centered(self):
        return self.has_intercept or self.n_absorbed > 0

    @property
    def rsquared(self):
        """``1 - ssr / tss`` (the overall R² with absorbed effects)."""
        return 1.0 - self.ssr / self.tss if self.tss > 0 else np.nan

    @property
    def rsquared_adj(self):
        """R² adjusted by ``(nobs - centred) / df_resid`` (pyfixest's ``_adj_r2``)."""
        if self.df_resid <= 0:
            return np.nan
        return 1.0 - (self.nobs - self._centered) / self.df_resid * (1 - self.rsquared)

    @property
    def rsquared_within(self):
        """R² of the target demeaned within the absorbed effects (NaN without)."""
        return 1.0 - self.ssr / self.tss_within if self.tss_within > 0 else np.nan

    @property
    def rsquared_within_adj(self):
        """Within R² adjusted by ``(nobs - n_absorbed) / df_resid`` (pyfixest)."""
        if self.df_resid <= 0:
            return np.nan
        return 1.0 - (self.nobs - self.n_absorbed) / self.df_resid * (1 - self.rsquared_within)

    @property
    def fvalue(self):
        """F statistic of all slopes being zero (a Wald test for robust errors).

        With absorbed effects the slopes are those of the within regression.
        """
        if self.df_model == 0 or self.df_resid <= 0:
            return np.nan
        if self.cov_type == "nonrobust" and not self.wald_f:
            explained = (self.tss_within if self.n_absorbed else self.tss) - self.ssr
            return _ratio(explained / self.df_model, self.scale)
        slopes = slice(1, None) if self.has_intercept else slice(None)
        # parameters left out of a rank-deficient fit have NaN variance
        identified = np.isfinite(np.diag(self.cov))[slopes]
        b = self.params.to_numpy()[slopes][identified]
        V = self.cov[slopes, slopes][np.ix_(identified, identified)]
        if not len(b) or not np.isfinite(V).all():  # e.g. one cluster: no Wald statistic
            return np.nan
        return float(b @ np.linalg.pinv(V, hermitian=True) @ b) / self.df_model

    # -- likelihood and information criteria (statsmodels' definitions) -------
    @property
    def llf(self):
        """Log-likelihood: the family's for GLMs, the concentrated Gaussian one for least squares."""
        if self.likelihood is not None:
            return self.likelihood("llf")
        if self.log_weight_sum is None:
            raise ValueError(
                "The log-likelihood of this least-squares fit needs sum(log w) over its rows, "
                "which its statistics do not hold."
            )
        return gaussian_llf(self.nobs, self.ssr, self.log_weight_sum)

    @property
    def llnull(self):
        """Log-likelihood of the intercept-only model (GLMs)."""
        return self._glm_likelihood("llnull")

    @property
    def deviance(self):
        """The GLM's deviance."""
        self._glm_likelihood("llf")
        return self.ssr

    @property
    def null_deviance(self):
        """Deviance of the intercept-only model (GLMs)."""
        return self._glm_likelihood("null_deviance")

    def _glm_likelihood(self, name):
        if self.likelihood is None:
            raise ValueError(f"{name} is defined for GLMs; this is a {self.model} fit.")
        return self.likelihood(name)

    @property
    def aic(self):
        """``-2 llf + 2 k``, ``k`` the parameters counted in the degrees of freedom."""
        return -2 * self.llf + 2 * (self.nobs - self.df_resid)

    @property
    def bic(self):
        """``-2 llf + k log(nobs)`` (statsmodels' ``bic_llf`` for GLMs)."""
        return -2 * self.llf + (self.nobs - self.df_resid) * np.log(self.nobs)

    bic_llf = bic

    @property
    def bic_deviance(self):
        """``deviance - df_resid log(nobs)`` (GLMs)."""
        return self.deviance - self.df_resid * np.log(self.nobs)

    def pseudo_rsquared(self, kind="cs"):
        """Cox-Snell (``"cs"``) or McFadden (``"mcf"``) pseudo R², as statsmodels (GLMs)."""
        kind = str(kind).lower()
        if kind.startswith("mcf"):
            return 1 - self.llf / self.llnull
        if kind.startswith("cox") or kind in ("cs", "lr"):
            return 1 - np.exp((self.llnull - self.llf) * (2 / self.nobs))
        raise ValueError(f"kind must be 'mcf' (McFadden) or 'cs' (Cox-Snell); got {kind!r}.")

    @property
    def f_pvalue(self):
        return distributions.f.sf(self.fvalue, self.df_model, self.df_inference)

    # -- tables ---------------------------------------------------------------
    def summary_frame(self, alpha=0.05):
        """The coefficient table as a :class:`pandas.DataFrame`."""
        interval = self.conf_int(alpha)
        stat = "t" if self.use_t else "z"
        return pd.DataFrame(
            {
                "coef": self.params,
                "std err": self.bse,
                stat: self.tvalues,
                f"P>|{stat}|": self.pvalues,
                f"[{alpha / 2:g}": interval[0],
                f"{1 - alpha / 2:g}]": interval[1],
            }
        )

    def summary(self, alpha=0.05, title=None):
        """The summary table: the fit, then the coefficients, laid out like statsmodels'.

        Returns
        -------
        Summary
            ``print`` it (statsmodels' text), or ``as_html()`` (what notebooks
            show), ``as_latex()`` (a ``tabular``), ``as_text()``.
        """
        left, right = self._header()
        return Summary(title or self.title, left, right, self.summary_frame(alpha), self._notes())

    def _header(self):
        model = self.model if self.has_intercept or self.model != "OLS" else "OLS (no intercept)"
        left = [
            ("Dep. Variable:", self.target),
            ("Model:", model),
            ("Method:", self.method),
            *self.model_info,
            ("No. Observations:", self.nobs),
            ("Df Residuals:", self.df_resid),
            ("Df Model:", self.df_model),
        ]
        right = list(self.fit_statistics) or self._least_squares_statistics()
        right.append(("Covariance Type:", self._cov_label()))
        return left, right

    def _least_squares_statistics(self):
        r2 = "R-squared" + ("" if self._centered else " (uncentered)")
        rows = [(f"{r2}:", f"{self.rsquared:.3f}"), ("Adj. R-squared:", f"{self.rsquared_adj:.3f}")]
        if self.n_absorbed:
            rows += [("R-squared (within):", f"{self.rsquared_within:.3f}"),
                     ("Adj. R-sq. (within):", f"{self.rsquared_within_adj:.3f}")]
        return rows + [
            ("F-statistic:", f"{self.fvalue:.4g}"),
            ("Prob (F-statistic):", f"{self.f_pvalue:.3g}"),
            ("Residual std:", f"{self.resid_std:.4g}"),
        ]

    def _cov_label(self):
        return self.cov_type + (f" (G={self.n_clusters})" if self.n_clusters else "")

    def _notes(self):
        notes = list(self.notes)
        if self.cov_type != "nonrobust":
            notes.insert(0, f"Standard errors are {self._cov_label()}; tests use the "
                            f"{'t' if self.use_t else 'normal'} distribution.")
        return notes

    def __str__(self):
        return str(self.summary())


def _ratio(a, b):
    """``a / b`` with IEEE results (inf, NaN) instead of ZeroDivisionError."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def pick_target_name(name, target=0):
    """The name of target column ``target`` from a recorded :func:`target_name`."""
    if isinstance(name, str):
        return name if target == 0 else f"y{target}"
    return name[target]
