"""The within (absorbed fixed-effects) estimator from per-level means.

# C_within = C - sum_e W_e (m_e - m)(m_e - m)' ;  beta = C_within,xx^-1 C_within,xy

Demeaning every row by its level's mean is a projection, so its
cross-products are the total centred co-moments minus the between-level
part, which needs only each level's weight and means: O(G (K + T)) numbers,
one pass, merged by the weighted-mean update (the mergeable
:class:`~skbigreg.stats.LevelMeans`). Any estimator that reads co-moments
(least squares, 2SLS) becomes its within version by reading these instead.
"""

from __future__ import annotations

import numpy as np

from ..stats import GramStats

# Within-level variance below this fraction of the total marks a column as
# constant within every level (collinear with the absorbed effects).
ABSORBED = 1e-10


def within_comoment(total, levels):
    """Co-moments of ``[X, y]`` after demeaning by level, shape (D, D)."""
    offset = levels.mean - total.mean
    between = (offset * levels.weight_sum[:, None]).T @ offset
    return total.comoment - between


def within_stats(total, levels):
    """:class:`GramStats` of the level-demeaned rows (means 0, within co-moments).

    Solvers read them without an intercept (the effects absorb it).
    """
    within = within_comoment(total, levels)
    return GramStats(total.n_features, total.n_targets, total.n_rows, total.weight_sum,
                     np.zeros(within.shape[0]), within)


def absorbed_columns(within, total):
    """Positions of the columns of ``X`` constant within every level.

    A column is absorbed when its within-level variance is at most
    ``ABSORBED`` times its total variance: the effects explain it.
    """
    k = total.n_features
    scale = np.maximum(np.diag(total.comoment)[:k], 1e-300)
    return np.flatnonzero(np.diag(within.comoment)[:k] <= ABSORBED * scale)


def within_cluster_scores(clusters, levels, coef):
    """``s_c = sum_{i in c} w_i e_i (z_i - m_level(i))`` over all columns, levels nested.

    ``coef`` is the residual's linear form over ``[X, y]`` (``(-beta, 1)``
    for least squares); cluster ``c``'s within-level co-moment is its own
    centred co-moment minus the between-level part of its levels around the
    cluster mean. Returns an array of shape (G, D).
    """
    position = np.searchsorted(clusters.labels, levels.cluster)
    offset = levels.mean - clusters.mean[position]
    residual = levels.weight_sum * (offset @ coef)
    between = np.zeros((clusters.n_groups, offset.shape[1]))
    np.add.at(between, position, offset * residual[:, None])
    return clusters.comoment @ coef - between


def nested_cluster_scores(clusters, levels, coef):
    """``s_c = sum_{i in c} w_i e_i (x_i - m_level(i))`` when levels nest in clusters.

    :func:`within_cluster_scores` on the columns of ``X``: shape (G, K).
    """
    return within_cluster_scores(clusters, levels, coef)[:, :clusters.n_features]


def cluster_within_comoments(clusters, levels):
    """Each cluster's co-moments of its rows demeaned by level, shape (G, D, D).

    Exact when every level lies in one cluster (``levels.nested``): the
    within transformation of a union of clusters is then the union of their
    within transformations, so these add up -- over any multiset of clusters,
    e.g. a cluster-bootstrap resample whose repeated clusters count as new
    levels.
    """
    if not levels.nested:
        raise ValueError(
            "The levels of entities cut across clusters: the within statistics of "
            "a resample of clusters are then not sums of per-cluster statistics. "
            "Cluster by the entities or by a factor that contains them."
        )
    position = np.searchsorted(clusters.labels, levels.cluster)
    offset = levels.mean - clusters.mean[position]
    weighted = offset * levels.weight_sum[:, None]
    between = np.zeros(clusters.comoment.shape)
    order = np.argsort(position, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(position[order]) != 0])
    for start, stop in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[start:stop]
        between[position[rows[0]]] = weighted[rows].T @ offset[rows]
    return clusters.comoment - between
