"""Exact GLM maximum likelihood by IRLS, one streamed pass per iteration.

# beta_{k+1} = (X'W_k X)^-1 X'W_k z_k,  W_k = w h'(eta)^2 / V(mu),  z_k = eta + (y - mu) / h'(eta)

A pass at the current coefficients maps each chunk to the weighted Gram
statistics of ``[X, z]`` (centred, as every least-squares fit here), the
deviance and Pearson statistic, the outer products of the per-row scores
``s_i = w_i (y_i - mu_i) nu_i [1, x_i]`` (HC errors) and their per-cluster
sums (cluster errors); passes merge by addition. The first pass starts from
the family's starting means instead of coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import GramStats, OuterProductStats

# Variance V(mu) and |y - mu| at or below which a row is fitted exactly at
# the support's edge (binomial: min(p, 1 - p) <= 1e-8; |eta| >= 18.4 for the
# logit link, 5.6 for the probit link).
_SATURATED = 1e-8


@dataclass(frozen=True)
class ClusterSums:
    """Per-cluster sums of row vectors, keyed by sorted labels; merged by addition."""

    labels: np.ndarray
    sums: np.ndarray

    @classmethod
    def from_rows(cls, rows, clusters):
        labels, codes = np.unique(clusters, return_inverse=True)
        sums = np.zeros((len(labels), rows.shape[1]))
        np.add.at(sums, codes, rows)
        return cls(labels, sums)

    def __add__(self, other):
        labels = np.union1d(self.labels, other.labels)
        sums = np.zeros((len(labels), self.sums.shape[1]))
        sums[np.searchsorted(labels, self.labels)] += self.sums
        sums[np.searchsorted(labels, other.labels)] += other.sums
        return type(self)(labels, sums)


@dataclass(frozen=True)
class IRLSPass:
    """Everything one pass at fixed coefficients gathers (mergeable with ``+``).

    Attributes
    ----------
    gram : GramStats
        Centred statistics of ``[X, z]`` with weights ``w h'^2 / V``.
    deviance : float
    pearson : float
        ``sum w (y - mu)^2 / V(mu)``.
    meat : OuterProductStats
        ``sum s_i s_i'`` over rows.
    observed : OuterProductStats
        The observed information ``sum w_i (h' nu - (y_i - mu_i) nu') x_i x_i'``
        (equal to the expected one for canonical links); the bread of the
        robust covariances, as in statsmodels.
    cluster_sums : ClusterSums or None
    n_saturated : int
        Rows whose fitted mean sits at the boundary of the family's support
        (a sign of separation).
    """

    gram: GramStats
    deviance: float
    pearson: float
    meat: OuterProductStats
    observed: OuterProductStats
    cluster_sums: ClusterSums | None
    n_saturated: int

    def __add__(self, other):
        clusters = None
        if self.cluster_sums is not None and other.cluster_sums is not None:
            clusters = self.cluster_sums + other.cluster_sums
        return IRLSPass(
            self.gram + other.gram,
            self.deviance + other.deviance,
            self.pearson + other.pearson,
            self.meat + other.meat,
            self.observed + other.observed,
            clusters,
            self.n_saturated + other.n_saturated,
        )


def irls_pass(X, y, sample_weight, coef, intercept, family, link, fit_intercept,
              clusters=None):
    """The :class:`IRLSPass` of one chunk at ``(coef, intercept)``.

    ``coef=None`` starts from the family's starting means (the first pass).
    """
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    if coef is None:
        eta = link.link(family.start_mu(y))
    else:
        eta = X @ coef + intercept
    mu, slope = link.inverse(eta), link.inverse_deriv(eta)
    variance = family.variance(mu)
    nu = family.nu(link, eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        working = eta + (y - mu) / slope
    fisher = nu * slope
    # A row is saturated when its mean sits at the edge of the support and
    # equals its response there (separation); per row, so chunking and
    # zero-weight rows change nothing.
    edge = (variance <= _SATURATED) & (np.abs(y - mu) <= _SATURATED)
    saturated = edge | ~np.isfinite(working)
    working = np.where(saturated, eta, working)
    gram = GramStats.from_arrays(X, working, w * np.where(saturated, 0.0, fisher))
    design = np.column_stack([np.ones(len(X)), X]) if fit_intercept else X
    scores = design * (w * (y - mu) * nu)[:, None]
    observed = w * np.where(saturated, 0.0, fisher - (y - mu) * _nu_slope(family, link, eta))
    information = (design * observed[:, None]).T @ design
    return IRLSPass(
        gram=gram,
        deviance=family.deviance(y, eta, link, w),
        pearson=float(w @ ((y - mu) ** 2 / variance)),
        meat=OuterProductStats.from_rows(scores),
        observed=OuterProductStats(len(X), information),
        cluster_sums=None if clusters is None else ClusterSums.from_rows(scores, clusters),
        n_saturated=int(np.count_nonzero(saturated & (w > 0))),
    )


def _nu_slope(family, link, eta):
    """``d nu / d eta`` by a central difference (0 for canonical links).

    The step ``1e-5 max(1, |eta|)`` balances truncation (``~1e-10``
    relative) against rounding (``~1e-11``).
    """
    step = 1e-5 * np.maximum(1.0, np.abs(eta))
    return (family.nu(link, eta + step) - family.nu(link, eta - step)) / (2 * step)
