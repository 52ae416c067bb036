"""The within (absorbed fixed-effects) estimator from per-level means.

# C_within = C - sum_e W_e (m_e - m)(m_e - m)' ;  beta = C_within,xx^-1 C_within,xy

Demeaning every row by its level's mean is a projection, so its
cross-products are the total centred co-moments minus the between-level
part, which needs only each level's weight and means: O(G (K + T)) numbers,
one pass, merged by the weighted-mean update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LevelMeans:
    """Weight, row count and means of ``[X, y]`` per level of an absorbed factor.

    Attributes
    ----------
    labels : ndarray of shape (G,)
        Sorted level labels.
    n_rows, weight_sum : ndarray of shape (G,)
    mean : ndarray of shape (G, D)
    cluster : ndarray of shape (G,) or None
        The cluster each level lies in, when clusters were given and every
        level lies in one cluster; None otherwise.
    nested : bool
        Whether every level lies in a single cluster (False without clusters).
    """

    labels: np.ndarray
    n_rows: np.ndarray
    weight_sum: np.ndarray
    mean: np.ndarray
    cluster: np.ndarray | None = None
    nested: bool = False

    @classmethod
    def from_arrays(cls, Z, levels, sample_weight=None, clusters=None):
        """Per-level statistics of the rows ``Z`` (n, D)."""
        labels, codes = _sorted_codes(levels)
        w = np.ones(len(Z)) if sample_weight is None else sample_weight
        size = len(labels)
        weight = np.bincount(codes, weights=w, minlength=size)
        sums = np.column_stack([np.bincount(codes, weights=w * col, minlength=size) for col in Z.T])
        mean = sums / np.where(weight > 0, weight, 1.0)[:, None]
        cluster, nested = None, False
        if clusters is not None:
            pairs = np.unique(np.column_stack([codes, np.unique(clusters, return_inverse=True)[1]]), axis=0)
            nested = len(pairs) == size
            if nested:
                cluster = np.empty(size, dtype=np.asarray(clusters).dtype)
                cluster[codes] = clusters
        return cls(labels, np.bincount(codes, minlength=size), weight, mean, cluster, nested)

    def __add__(self, other):
        labels = np.union1d(self.labels, other.labels)
        left = np.searchsorted(labels, self.labels)
        right = np.searchsorted(labels, other.labels)
        n_rows = np.zeros(len(labels), dtype=np.int64)
        weight = np.zeros(len(labels))
        mean = np.zeros((len(labels), self.mean.shape[1]))
        n_rows[left], weight[left], mean[left] = self.n_rows, self.weight_sum, self.mean
        total = weight[right] + other.weight_sum
        ratio = np.divide(other.weight_sum, total, out=np.zeros_like(total), where=total > 0)
        mean[right] += (other.mean - mean[right]) * ratio[:, None]
        weight[right] = total
        n_rows[right] += other.n_rows
        cluster, nested = self._merge_clusters(other, labels, left, right)
        return type(self)(labels, n_rows, weight, mean, cluster, nested)

    def _merge_clusters(self, other, labels, left, right):
        if not (self.nested and other.nested):
            return None, False
        cluster = np.empty(len(labels), dtype=np.result_type(self.cluster, other.cluster))
        cluster[left] = self.cluster
        shared = np.isin(other.labels, self.labels)
        if np.any(cluster[right[shared]] != other.cluster[shared]):
            return None, False
        cluster[right] = other.cluster
        return cluster, True


def _sorted_codes(levels):
    """Sorted unique labels and each row's position among them.

    ``pandas.factorize`` hashes (O(n)); only the ``G`` uniques are sorted,
    which is several times faster than ``np.unique``'s sort of all rows.
    """
    codes, uniques = pd.factorize(np.asarray(levels))
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[codes]


def within_comoment(total, levels):
    """Co-moments of ``[X, y]`` after demeaning by level, shape (D, D)."""
    offset = levels.mean - total.mean
    between = (offset * levels.weight_sum[:, None]).T @ offset
    return total.comoment - between


def nested_cluster_scores(clusters, levels, coef):
    """``s_c = sum_{i in c} w_i e_i (x_i - m_level(i))`` when levels nest in clusters.

    ``coef`` is the residual's linear form over ``[X, y]`` (``(-beta, 1)``);
    cluster ``c``'s within-level co-moment is its own centred co-moment minus
    the between-level part of its levels around the cluster mean.
    """
    k = clusters.n_features
    position = np.searchsorted(clusters.labels, levels.cluster)
    offset = levels.mean - clusters.mean[position]
    residual = levels.weight_sum * (offset @ coef)
    between = np.zeros((clusters.n_groups, k))
    np.add.at(between, position, offset[:, :k] * residual[:, None])
    return (clusters.comoment @ coef)[:, :k] - between


def demeaned_scores(X, y, sample_weight, levels, level_stats, coef):
    """Per-row ``w_i e_i (x_i - m_level(i))`` with ``e_i`` the within residual.

    Raises ``ValueError`` for a level not seen in the first pass.
    """
    position = np.searchsorted(level_stats.labels, levels)
    position = np.clip(position, 0, len(level_stats.labels) - 1)
    if not np.array_equal(level_stats.labels[position], levels):
        raise ValueError("entities contains levels not seen in the first pass.")
    k = X.shape[1]
    means = level_stats.mean[position]
    X_within = X - means[:, :k]
    residual = (y - means[:, k]) - X_within @ coef
    if sample_weight is not None:
        residual = residual * sample_weight
    return X_within * residual[:, None]
