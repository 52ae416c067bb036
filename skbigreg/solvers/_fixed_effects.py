"""The within (absorbed fixed-effects) estimator from per-level means.

# C_within = C - sum_e W_e (m_e - m)(m_e - m)' ;  beta = C_within,xx^-1 C_within,xy

Demeaning every row by its level's mean is a projection, so its
cross-products are the total centred co-moments minus the between-level
part, which needs only each level's weight and means: O(G (K + T)) numbers,
one pass, merged by the weighted-mean update (the mergeable
:class:`~skbigreg.stats.LevelMeans`).
"""

from __future__ import annotations

import numpy as np


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


