"""Wild cluster bootstrap t statistics from per-cluster cross-products ("fast & wild").

# s_g = X_g'W (y_g - X_g b~)            cluster g's score at the restricted fit b~
# c_g = r'B s_g,  H_gh = r'B (X_g'W X_g) B s_h,   B = (X'WX)^-1,  r the restriction
# t*_b = sum_g v_bg c_g / sqrt(f sum_g (v_bg c_g - sum_h H_gh v_bh)^2)

A wild cluster bootstrap draw multiplies cluster ``g``'s restricted residuals
by ``v_bg``; refitting moves the coefficients by ``B sum_g v_bg s_g`` and the
bootstrap scores become ``v_bg s_g - X_g'W X_g B sum_h v_bh s_h``. Both are
linear in the draws, so the numerator and the CRV1 denominator of every
draw's t statistic come from the ``G`` per-cluster cross-products
``[X, y]_g' W [X, y]_g`` (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and
wild"): ``B`` draws cost ``O(B G^2)``, never a pass over rows.

The restricted fit is linear in the tested value ``q``, hence so are the
numerator and each cluster's term of the denominator; the draws' t
statistics are kept as ``(n0 + n1 q) / sqrt(f (a + 2 b q + c q^2))``, so the
p-value at any ``q`` (the confidence interval by test inversion) costs
``O(B)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ._fixed_effects import gathered_cluster_within

# Scaled condition number above which the design is declared rank deficient.
_SINGULAR = 1e12
# Draws handled per block (bounds the (block, G) work arrays to ~16 MiB).
_BLOCK_BYTES = 2**24


@dataclass(frozen=True)
class ClusterCrossProducts:
    """Per-cluster ``[X, y]_g' W [X, y]_g`` in the parametrisation of the solve.

    Attributes
    ----------
    gram : ndarray of shape (G, p + 1, p + 1)
        The design's ``p`` columns first, the target last.
    """

    gram: np.ndarray

    @property
    def n_params(self):
        return self.gram.shape[1] - 1

    @property
    def n_clusters(self):
        return self.gram.shape[0]


@dataclass(frozen=True)
class WildDraws:
    """The bootstrap t statistics of every draw, as functions of the tested value.

    ``t*_b(q) = (n0_b + n1_b q) / sqrt(factor (a_b + 2 b_b q + c_b q^2))``;
    the sample's own statistic is ``t(q) = (estimate - q) / se``.

    Attributes
    ----------
    estimate : float
        ``r' b^``, the unrestricted estimate of the tested combination.
    se : float
        Its CRV1 standard error (with ``factor``).
    n0, n1, a, b, c : ndarray of shape (n_draws,)
    factor : float
        The CRV1 small-sample factor, shared by the sample and the draws.
    """

    estimate: float
    se: float
    n0: np.ndarray
    n1: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    factor: float

    def statistic(self, q):
        """The sample's CRV1 t statistic for ``r'b = q``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.float64(self.estimate - q) / self.se

    def t_boot(self, q):
        """The draws' t statistics when ``r'b = q`` is tested, shape (n_draws,)."""
        variance = self.factor * (self.a + q * (2.0 * self.b + q * self.c))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.n0 + self.n1 * q) / np.sqrt(np.clip(variance, 0.0, None))


def within_cross_products(grouped, levels):
    """Per-cluster cross-products of the rows demeaned by level (levels nest in clusters).

    # C~_g = C_g - sum_{e in g} W_e (m_e - m_g)(m_e - m_g)'

    Every level lies in one cluster, so a cluster's demeaned rows sum to
    zero and their cross-products are its centred co-moments less the
    between-level part of its levels (``levels.cluster`` names each level's
    cluster). When the first pass gathered each cluster's within co-moment
    (``levels.cluster_within``), that is used instead: exact, where the
    difference cancels for regressors with large offsets between levels.
    """
    gathered = gathered_cluster_within(grouped, levels)
    if gathered is not None:
        return ClusterCrossProducts(gathered)
    position = np.searchsorted(grouped.labels, levels.cluster)
    offset = levels.mean - grouped.mean[position]
    between = np.zeros_like(grouped.comoment)
    np.add.at(between, position, levels.weight_sum[:, None, None] * offset[:, :, None] * offset[:, None, :])
    return ClusterCrossProducts(grouped.comoment - between)


def centred_cross_products(grouped, fit_intercept):
    """Per-cluster cross-products of ``[1, z - c]`` (``c`` the overall mean), or of ``z``.

    With an intercept the design is ``u = [1, x - c_x]`` and the target
    ``y - c_y``, which keeps the digits large offsets would cost; without,
    the raw ``[x, y]``. Returns the cross-products and the shift ``c`` (D,).
    """
    W = grouped.weight_sum
    shift = W @ grouped.mean / W.sum() if fit_intercept else np.zeros(grouped.mean.shape[1])
    offset = grouped.mean - shift
    second = grouped.comoment + W[:, None, None] * offset[:, :, None] * offset[:, None, :]
    if not fit_intercept:
        return ClusterCrossProducts(second), shift
    size = second.shape[1] + 1
    gram = np.empty((len(W), size, size))
    gram[:, 0, 0] = W
    gram[:, 0, 1:] = gram[:, 1:, 0] = W[:, None] * offset
    gram[:, 1:, 1:] = second
    return ClusterCrossProducts(gram), shift


def wild_draws(cross, r, draws, factor, impose_null=True):
    """Bootstrap t statistics of ``r'b = q`` for every draw, linear pieces in ``q``.

    Parameters
    ----------
    cross : ClusterCrossProducts
    r : ndarray of shape (p,)
        The tested combination of the parameters.
    draws : ndarray of shape (n_draws, G)
        The weights ``v_bg`` each cluster's residuals are multiplied by.
    factor : float
        CRV1 small-sample factor.
    impose_null : bool
        Bootstrap from the restricted fit (WCR) or the unrestricted one (WCU).

    Returns
    -------
    WildDraws

    Raises
    ------
    ValueError
        If the design is rank deficient (a parameter is not identified).
    """
    p = cross.n_params
    total = cross.gram.sum(axis=0)
    bread = _inverse(total[:p, :p])
    designs, targets = cross.gram[:, :p, :p], cross.gram[:, :p, p]
    estimate = bread @ total[:p, p]
    scores_hat = targets - designs @ estimate
    br = bread @ r
    se = np.sqrt(factor * np.sum((scores_hat @ br) ** 2))
    # Restricted fit b~(q) = b0 + g q, scores s_g(q) = S0_g + S1_g q (WCU: b^, S1 = 0).
    if impose_null:
        step = br / (r @ br)
        fit0 = estimate - step * (r @ estimate)
        scores0, scores1 = targets - designs @ fit0, -(designs @ step)
    else:
        scores0, scores1 = scores_hat, np.zeros_like(scores_hat)
    loading = designs @ br  # (G, p): row g is X_g'W X_g B r
    pieces = [_draw_pieces(draws[start:start + _block(cross)], scores0, scores1, bread, br, loading)
              for start in range(0, len(draws), _block(cross))]
    n0, n1, a, b, c = (np.concatenate(piece) for piece in zip(*pieces))
    return WildDraws(float(r @ estimate), float(se), n0, n1, a, b, c, float(factor))


def _draw_pieces(v, scores0, scores1, bread, br, loading):
    """``n0, n1, a, b, c`` of a block of draws ``v`` (n, G)."""
    c0, c1 = scores0 @ br, scores1 @ br
    H0 = loading @ (scores0 @ bread).T  # H_gh = r'B X_g'W X_g B s_h
    H1 = loading @ (scores1 @ bread).T
    Z0 = v * c0 - v @ H0.T
    Z1 = v * c1 - v @ H1.T
    return (v @ c0, v @ c1, np.einsum("bg,bg->b", Z0, Z0), np.einsum("bg,bg->b", Z0, Z1),
            np.einsum("bg,bg->b", Z1, Z1))


def _block(cross):
    return max(1, _BLOCK_BYTES // (8 * cross.n_clusters))


def _inverse(gram):
    """``(X'WX)^-1`` by a Cholesky factor of the column-scaled matrix; refuse if singular."""
    d = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    if not np.all(d > 0) or np.linalg.cond(gram / np.outer(d, d)) > _SINGULAR:
        raise ValueError(
            "The design is rank deficient (a column is constant, absorbed or collinear with "
            "others): the wild cluster bootstrap needs every parameter identified; drop the "
            "redundant columns."
        )
    scaled = linalg.cho_solve(linalg.cho_factor(gram / np.outer(d, d)), np.eye(len(d)))
    return scaled / np.outer(d, d)
