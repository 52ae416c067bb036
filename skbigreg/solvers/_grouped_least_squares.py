"""Least squares for many row sets at once, from per-group statistics.

# beta_b = Cxx_b^-1 Cxy_b,  (W_b, m_b, C_b) = weighted sums of groups with multiplicities c_bg

One pass gives every group's weight ``W_g``, means ``m_g`` and centred
co-moments ``C_g``. Any multiset of groups -- one group, a union of groups, a
cluster-bootstrap resample -- has the statistics obtained by the pairwise
merge; written around the overall mean ``m`` they are linear in the
multiplicities ``c``::

    M_g = C_g + W_g (m_g - m)(m_g - m)',  s_g = W_g (m_g - m)
    W = c'W_g,  mean = m + (c's_g) / W,  C = c'M_g - (c's_g)(c's_g)' / W

so ``B`` row sets cost one matrix product ``(B, G) @ (G, D^2)`` and ``B``
small solves, never a pass over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Scaled condition number above which a set's solve is declared rank deficient.
_SINGULAR = 1e12


@dataclass(frozen=True)
class StackedMoments:
    """Statistics of ``B`` row sets, stacked.

    Attributes
    ----------
    weight_sum : ndarray of shape (B,)
    mean : ndarray of shape (B, D)
    comoment : ndarray of shape (B, D, D)
    n_features : int
    """

    weight_sum: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray
    n_features: int


@dataclass(frozen=True)
class StackedSolution:
    """Least-squares solutions of ``B`` row sets.

    Attributes
    ----------
    coef : ndarray of shape (B, K, T)
        NaN for sets whose design is rank deficient.
    intercept : ndarray of shape (B, T)
    rss : ndarray of shape (B, T)
    solvable : ndarray of bool, shape (B,)
        Sets with a full-rank (centred, with an intercept) design.
    """

    coef: np.ndarray
    intercept: np.ndarray
    rss: np.ndarray
    solvable: np.ndarray


def combine_groups(grouped, multiplicities):
    """Statistics of ``B`` multisets of groups.

    Parameters
    ----------
    grouped : GroupedGramStats
    multiplicities : ndarray of shape (B, G)
        How often each group enters each set (0/1 for unions, counts for
        bootstrap resamples).

    Returns
    -------
    StackedMoments
    """
    W = grouped.weight_sum
    center = W @ grouped.mean / W.sum()
    offset = grouped.mean - center
    sums = W[:, None] * offset
    size = offset.shape[1]
    second = grouped.comoment + sums[:, :, None] * offset[:, None, :]
    weight = multiplicities @ W
    total = multiplicities @ sums
    safe = np.where(weight > 0, weight, 1.0)
    comoment = (multiplicities @ second.reshape(len(W), -1)).reshape(-1, size, size)
    comoment -= total[:, :, None] * total[:, None, :] / safe[:, None, None]
    return StackedMoments(weight, center + total / safe[:, None], comoment, grouped.n_features)


def grouped_moments(grouped):
    """:class:`StackedMoments` of each group on its own (no arithmetic)."""
    return StackedMoments(grouped.weight_sum, grouped.mean, grouped.comoment, grouped.n_features)


def solve_stacked(moments, fit_intercept=True):
    """Solve every set's least-squares problem; rank-deficient sets give NaN.

    Returns
    -------
    StackedSolution
    """
    k = moments.n_features
    A = moments.comoment
    if not fit_intercept:
        A = A + moments.weight_sum[:, None, None] * moments.mean[:, :, None] * moments.mean[:, None, :]
    Axx, Axy, Ayy = A[:, :k, :k], A[:, :k, k:], A[:, k:, k:]
    d = np.sqrt(np.clip(np.einsum("bii->bi", Axx), 0.0, None))
    solvable = np.all(d > 0, axis=1)
    scale = np.where(d > 0, d, 1.0)
    scaled = Axx / (scale[:, :, None] * scale[:, None, :])
    if k:
        solvable &= np.linalg.cond(scaled) < _SINGULAR
    eye = np.broadcast_to(np.eye(k), scaled.shape)
    system = np.where(solvable[:, None, None], scaled, eye)  # keep the batch solvable
    coef = np.linalg.solve(system, Axy / scale[:, :, None]) / scale[:, :, None]
    coef[~solvable] = np.nan
    rss = np.einsum("btt->bt", Ayy) - np.einsum("bkt,bkt->bt", coef, Axy)
    mean_x, mean_y = moments.mean[:, :k], moments.mean[:, k:]
    intercept = mean_y - np.einsum("bk,bkt->bt", mean_x, coef) if fit_intercept else np.zeros_like(mean_y)
    return StackedSolution(coef, intercept, np.clip(rss, 0.0, None), solvable)
