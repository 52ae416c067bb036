"""Tests of linear restrictions ``R b = q`` from the parameters and their covariance.

# t_j = (R_j b - q_j) / sqrt(R_j V R_j'),   W = (R b - q)' (R V R')^+ (R b - q)

No pass over rows: everything follows from ``params`` and ``cov``, with
statsmodels' semantics (``t_test``, ``f_test``, ``wald_test``): t (or normal)
reference distributions follow ``use_t``; ``f_test`` is always ``W / m``
against F(m, df); ``wald_test`` is ``W / m`` against F when ``use_t``, else
``W`` against chi2(m).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as distributions

from ._restrictions import restriction_matrix


class ContrastResults:
    """The outcome of a test of linear restrictions, with statsmodels' attributes.

    t and normal tests carry ``effect`` (``R b``), ``sd``, ``tvalue`` (alias
    ``statistic``), ``pvalue``, ``df_denom``, :meth:`conf_int` and
    :meth:`summary_frame`; F tests carry ``fvalue`` (alias ``statistic``),
    ``pvalue``, ``df_num`` and ``df_denom``; chi2 Wald tests carry
    ``statistic``, ``pvalue`` and ``df_denom`` (the number of restrictions,
    as statsmodels names it).

    Examples
    --------
    >>> import numpy as np
    >>> res = ContrastResults.t_test(np.array([2.0]), np.array([1.0]), np.array([0.0]), None)
    >>> float(res.tvalue[0]), res.distribution
    (2.0, 'norm')
    """

    effect = sd = tvalue = fvalue = df_num = None

    @classmethod
    def t_test(cls, effect, sd, q, df):
        """t (``df`` not None) or normal tests of ``effect = q``."""
        res = cls()
        res.effect, res.sd, res.df_denom = effect, sd, df
        with np.errstate(divide="ignore", invalid="ignore"):
            res.tvalue = (effect - q) / sd
        res.statistic = res.tvalue
        res.distribution = "norm" if df is None else "t"
        res.pvalue = 2 * res._dist().sf(np.abs(res.tvalue))
        return res

    @classmethod
    def f_test(cls, fvalue, df_num, df_denom):
        res = cls()
        res.fvalue = res.statistic = fvalue
        res.df_num, res.df_denom, res.distribution = df_num, df_denom, "F"
        res.pvalue = distributions.f.sf(fvalue, df_num, df_denom)
        return res

    @classmethod
    def chi2_test(cls, statistic, df):
        res = cls()
        res.statistic = res.tvalue = statistic  # statsmodels' alias
        res.df_denom, res.distribution = df, "chi2"
        res.pvalue = distributions.chi2.sf(statistic, df)
        return res

    def _dist(self):
        if self.distribution == "t":
            return distributions.t(self.df_denom)
        return distributions.norm()

    def conf_int(self, alpha=0.05):
        """Intervals for ``effect``: an array of shape (m, 2) (t and normal tests)."""
        check_alpha(alpha)
        if self.effect is None:
            raise ValueError("Confidence intervals exist for t and normal tests only.")
        half = self._dist().ppf(1 - alpha / 2) * self.sd
        return np.column_stack([self.effect - half, self.effect + half])

    def summary_frame(self, alpha=0.05):
        """statsmodels' table of a t or normal test, one row ``c0, c1, ...`` per restriction."""
        interval = self.conf_int(alpha)
        stat = "t" if self.distribution == "t" else "z"
        return pd.DataFrame(
            {"coef": self.effect, "std err": self.sd, stat: self.tvalue,
             f"P>|{stat}|": self.pvalue, "Conf. Int. Low": interval[:, 0],
             "Conf. Int. Upp.": interval[:, 1]},
            index=[f"c{i}" for i in range(len(self.effect))],
        )

    def __repr__(self):
        if self.effect is not None:
            return f"<{self.distribution} test:\n{self.summary_frame()}>"
        return (f"<{self.distribution} test: statistic={self.statistic!r}, p={self.pvalue!r}, "
                f"df_denom={self.df_denom:.3g}" +
                ("" if self.df_num is None else f", df_num={self.df_num:.3g}") + ">")


def check_alpha(alpha):
    """Raise ValueError unless ``0 < alpha < 1``."""
    if not (isinstance(alpha, (int, float, np.floating, np.integer)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")


def t_test(results, r, use_t=None):
    """statsmodels' ``t_test``: one t (or z) test per row of the restriction."""
    R, q, params, cov = _restrictions(results, r)
    effect = R @ params
    sd = np.sqrt(np.diag(R @ cov @ R.T))
    use_t = results.use_t if use_t is None else bool(use_t)
    return ContrastResults.t_test(effect, sd, q, results.df_inference if use_t else None)


def wald_test(results, r, use_f=None, scalar=True):
    """statsmodels' ``wald_test``: ``W / m`` against F if ``use_f`` (default ``use_t``), else chi2."""
    if not scalar:
        raise ValueError("Only scalar=True is supported (statsmodels' future default).")
    R, q, params, cov = _restrictions(results, r)
    if np.linalg.matrix_rank(R) < len(R):
        raise ValueError(
            f"The {len(R)} restrictions are linearly dependent (R has rank "
            f"{np.linalg.matrix_rank(R)}): drop the redundant ones."
        )
    V = R @ cov @ R.T
    m = np.linalg.matrix_rank(V, hermitian=True)
    if m < len(R):
        warnings.warn(
            f"The covariance of the {len(R)} restrictions has rank {m}: the test uses "
            f"{m} degrees of freedom (as statsmodels).",
            RuntimeWarning,
            stacklevel=3,
        )
    gap = R @ params - q
    statistic = float(gap @ np.linalg.pinv(V, hermitian=True) @ gap)
    use_f = results.use_t if use_f is None else bool(use_f)
    if use_f:
        return ContrastResults.f_test(statistic / m, m, results.df_inference)
    return ContrastResults.chi2_test(statistic, m)


def f_test(results, r):
    """statsmodels' ``f_test``: the Wald statistic over ``m`` against F(m, df)."""
    return wald_test(results, r, use_f=True)


def _restrictions(results, r):
    """``(R, q, params, cov)`` restricted to the parameters that ``R`` involves.

    Parameters outside the restriction may have NaN variance (dropped from a
    rank-deficient fit) without affecting it.
    """
    R, q = restriction_matrix(r, results.names)
    empty = ~R.any(axis=1)
    if empty.any():
        raise ValueError(f"Row {int(np.argmax(empty))} of the restriction matrix R is all zero.")
    undefined = [name for name, used, v in zip(results.names, R.any(axis=0), np.diag(results.cov))
                 if used and not np.isfinite(v)]
    if undefined:
        raise ValueError(
            f"The restriction involves parameters without a finite variance: {undefined} "
            "(dropped from a rank-deficient fit, or too few clusters)."
        )
    used = R.any(axis=0)
    params = results.params.to_numpy()[used]
    return R[:, used], q, params, results.cov[np.ix_(used, used)]
