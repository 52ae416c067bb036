"""The within (absorbed fixed-effects) estimator from per-level statistics.

# C_within = sum_e sum_{i in e} w_i (z_i - m_e)(z_i - m_e)' ;  beta = C_within,xx^-1 C_within,xy

The co-moments of the rows demeaned by level are gathered directly, chunk by
chunk, and merged exactly (:class:`~skbigreg.stats.LevelMeans` built with
``within=True``): O(G (K + T)) numbers for the means, O((K + T)^2) for the
co-moment, one pass. Statistics without it (saved by an older version, or
built without it) give it as the total co-moment less the between-level
part ``sum_e W_e (m_e - m)(m_e - m)'``, which cancels when a column has
large level offsets and a small spread within levels: that is detected and
warned about. Any estimator that reads co-moments (least squares, 2SLS)
becomes its within version by reading these instead.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..exceptions import IllConditionedWarning
from ..stats import GramStats

# Statistics without the within co-moment (subtracted from the total):
# within-level variance below this fraction of the total marks a column as
# constant within every level (collinear with the absorbed effects) ...
ABSORBED = 1e-10
# ... and below this fraction, above ABSORBED, most of its digits are lost.
CANCELLED = 1e-8
# Gathered within co-moment: a column constant within every level has a
# within variance of exactly 0 (the levels' rows are summed about one of
# them), or ~eps^2 of its raw second moment ``sum w x^2`` when its values
# differ by rounding; below this fraction (a spread under 1e-12 of the
# values' size) it is absorbed. A large offset between levels costs no digit.
ABSORBED_RAW = 1e-24


def within_comoment(total, levels, warn=False):
    """Co-moments of ``[X, y]`` after demeaning by level, shape (D, D).

    The gathered ``levels.within`` when present; otherwise the total less
    the between-level part, with a :class:`IllConditionedWarning` when
    ``warn`` and a column of ``X`` lost most of its digits to the subtraction.
    """
    if levels.within is not None:
        return levels.within.copy()
    offset = levels.mean - total.mean
    between = (offset * levels.weight_sum[:, None]).T @ offset
    within = total.comoment - between
    if warn:
        warn_if_cancelled(within, total)
    return within


def warn_if_cancelled(within, total):
    """Warn when a column's within variance, subtracted, kept few digits."""
    k = total.n_features
    ratio = np.diag(within)[:k] / np.maximum(np.diag(total.comoment)[:k], 1e-300)
    lost = np.flatnonzero((ratio > ABSORBED) & (ratio <= CANCELLED))
    if len(lost):
        digits = max(0, int(np.floor(16 + np.log10(ratio[lost].min()))))
        warnings.warn(
            f"Columns {lost.tolist()} of X vary little within the levels of entities "
            "compared with between them: their within co-moments, computed as the total "
            "less the between-level part (statistics without the gathered within "
            f"co-moment), keep about {digits} digits. Gather the level statistics from "
            "the rows (LevelMeans.from_arrays(..., within=True)) for an exact fit.",
            IllConditionedWarning,
            stacklevel=4,
        )


def absorbed_mask(within, total, levels=None):
    """Whether each column of ``X`` is constant within every level (absorbed).

    ``within`` is the (D, D) within co-moment; see ``ABSORBED_RAW`` (gathered,
    or demeaned by the passes of several factors: ``levels`` None) and
    ``ABSORBED`` (subtracted) for the thresholds.
    """
    k = total.n_features
    spread = np.diag(within)[:k]
    if levels is None or levels.within is not None:
        return at_rounding_floor(spread, total)
    return spread <= ABSORBED * np.maximum(np.diag(total.comoment)[:k], 1e-300)


def at_rounding_floor(spread, total):
    """Whether demeaned columns are only the rounding of their values (absorbed).

    ``spread`` holds the first columns' sums ``sum w z_within^2``; a column
    in the span of the level indicators leaves ~eps^2 of its raw second
    moment ``sum w z^2`` (``ABSORBED_RAW``), however large its offsets.
    """
    raw = np.diag(total.comoment) + total.weight_sum * np.asarray(total.mean) ** 2
    return spread <= ABSORBED_RAW * np.maximum(raw[:len(spread)], 1e-300)


def within_stats(total, levels, warn=False):
    """:class:`GramStats` of the level-demeaned rows (means 0, within co-moments).

    Solvers read them without an intercept (the effects absorb it).
    """
    within = within_comoment(total, levels, warn)
    return GramStats(total.n_features, total.n_targets, total.n_rows, total.weight_sum,
                     np.zeros(within.shape[0]), within)


def absorbed_columns(within, total, levels=None):
    """Positions of the columns of ``X`` constant within every level.

    ``within`` are :func:`within_stats` (with the ``levels`` they came
    from), or the Gram of rows demeaned by the passes of several factors
    (``levels`` None); the threshold follows how they were formed
    (:func:`absorbed_mask`).
    """
    return np.flatnonzero(absorbed_mask(within.comoment, total, levels))


def within_cluster_scores(clusters, levels, coef):
    """``s_c = sum_{i in c} w_i e_i (z_i - m_level(i))`` over all columns, levels nested.

    ``coef`` is the residual's linear form over ``[X, y]`` (``(-beta, 1)``
    for least squares); cluster ``c``'s within-level co-moment is its own
    centred co-moment minus the between-level part of its levels around the
    cluster mean -- or, when gathered, the sum of its levels' within
    co-moments (``levels.cluster_within``), exact. Returns an array of shape (G, D).
    """
    gathered = gathered_cluster_within(clusters, levels)
    if gathered is not None:
        return gathered @ coef
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
    gathered = gathered_cluster_within(clusters, levels)
    if gathered is not None:
        return gathered
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


def gathered_cluster_within(clusters, levels):
    """``levels.cluster_within`` in the order of ``clusters.labels``, or None.

    None when not gathered, or when the clusters are not those the levels
    nest in (statistics assembled from different sources).
    """
    if levels.cluster_within is None or not levels.nested:
        return None
    names = np.unique(levels.cluster)
    if len(names) != len(clusters.labels) or np.any(names != clusters.labels):
        return None
    return levels.cluster_within
