"""Log-likelihoods of fitted models from their statistics, as statsmodels defines them.

# Gaussian least squares: llf = -n/2 (log(2 pi) + log(ssr / n) + 1) + 1/2 sum log w
# GLM: llf = sum_i log f(y_i; mu_i, scale / w_i), llnull the same at mu_i = weighted mean of y

A GLM's pass gathers :class:`~skbigreg.stats.LikelihoodSums` at the final
coefficients; the sums give the log-likelihood at the scale known after the
merge, and the null model's (intercept only, fitted value the weighted mean
of ``y`` for every link, as statsmodels) in closed form.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_LOG_2PI = np.log(2 * np.pi)


def gaussian_llf(nobs, ssr, log_weight_sum=0.0):
    """Concentrated Gaussian log-likelihood of a (weighted) least-squares fit.

    Examples
    --------
    >>> round(gaussian_llf(4, 4.0), 6)  # -n/2 (log 2 pi + 1) with ssr = n
    -5.675754
    """
    return float(-nobs / 2 * (_LOG_2PI + np.log(ssr / nobs) + 1) + log_weight_sum / 2)


def glm_likelihood(family, identity_link, sums, deviance, scale, name):
    """``llf``, ``llnull`` or ``null_deviance`` of a GLM from its :class:`LikelihoodSums`.

    Parameters
    ----------
    family : str
        The family's name.
    identity_link : bool
        Whether the link is the identity (Gaussian: statsmodels concentrates
        the likelihood, with scale ``deviance / n``).
    sums : LikelihoodSums
        Gathered at the final coefficients.
    deviance, scale : float
        The fit's deviance and statsmodels' scale (Pearson chi2 / df_resid).
    name : {"llf", "llnull", "null_deviance"}

    Returns
    -------
    float
    """
    response = sums.response
    n, sw = float(response.n_rows), float(response.weight_sum)
    m = float(response.mean[0])
    swy = sw * m
    if family in ("poisson", "binomial"):
        if family == "poisson":
            llnull = np.log(m) * swy - m * sw - sums["w_const"]
        else:
            llnull = sums["w_const"] + swy * np.log(m) + (sw - swy) * np.log1p(-m)
        llf = sums["loglike"]
        # deviance = 2 (ll_saturated - ll) at scale 1, for the fit and the null model
        quantities = {"llf": lambda: llf, "llnull": lambda: llnull,
                      "null_deviance": lambda: deviance + 2 * (llf - llnull)}
    elif family == "gaussian":
        null_deviance = float(response.moments(center=True)[0, 0])
        llf_scale = deviance / n if identity_link else scale
        quantities = {"llf": lambda: _gaussian(deviance, llf_scale, n, sums),
                      "llnull": lambda: _gaussian(null_deviance, scale, n, sums),
                      "null_deviance": lambda: null_deviance}
    elif family == "inverse_gaussian":
        null_deviance = (swy - 2 * m * sw + m**2 * sums["w_over_y"]) / m**2
        quantities = {"llf": lambda: _inverse_gaussian(deviance, scale, n, sums),
                      "llnull": lambda: _inverse_gaussian(null_deviance, scale, n, sums),
                      "null_deviance": lambda: null_deviance}
    elif family == "gamma":
        w_log_y_m = sums["w_log_y"] - sw * np.log(m)
        quantities = {"llf": lambda: _gamma(sums["w_log_y_mu"], sums["w_y_mu"], scale, n, sums),
                      "llnull": lambda: _gamma(w_log_y_m, swy / m, scale, n, sums),
                      "null_deviance": lambda: 2 * (swy / m - sw - w_log_y_m)}
    else:
        raise ValueError(f"No log-likelihood for the family {family!r}.")
    return float(quantities[name]())


def _gaussian(deviance, scale, n, sums):
    # -1/2 sum [w (y - mu)^2 / scale + log(scale / w) + log(2 pi)]
    return -0.5 * (deviance / scale + n * np.log(scale) - sums["log_w"] + n * _LOG_2PI)


def _inverse_gaussian(deviance, scale, n, sums):
    # -1/2 sum [w (y - mu)^2 / (scale y mu^2) + log(scale y^3 / w) + log(2 pi)]
    return -0.5 * (deviance / scale + n * np.log(scale) + 3 * sums["log_y"] - sums["log_w"]
                   + n * _LOG_2PI)


def _gamma(w_log_y_mu, w_y_mu, scale, n, sums):
    # sum [v log(v y / mu) - v y / mu - log Gamma(v) - log y],  v = w / scale
    low, high = sums.weight_range
    if low != high:
        raise ValueError(
            "The Gamma log-likelihood with unequal weights needs sum log Gamma(w / scale), "
            "which the pass cannot gather before the scale is known: refit without "
            "sample_weight, or with equal weights."
        )
    log_gamma = n * special.gammaln(low / scale)
    sw = float(sums.response.weight_sum)
    return ((sums["w_log_w"] - sw * np.log(scale) + w_log_y_mu - w_y_mu) / scale
            - log_gamma - sums["log_y"])
