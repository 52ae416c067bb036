"""The statistics of one or more chunks, as every cumulative estimator maps them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkStatistics:
    """Totals, per-cluster statistics and an estimator's label-keyed statistics.

    ``stats`` is a :class:`GramStats` or :class:`QRStats` of the rows;
    ``clusters`` their :class:`GroupedGramStats` by cluster, or None;
    ``extra`` what the estimator keeps per label besides (per fold, per
    level, per partition), or None; ``log_weight_sum`` the rows'
    ``sum log w`` (0 unweighted), which a weighted Gaussian likelihood
    needs, or None where it is not known (statistics built elsewhere);
    ``periods`` a second pass's per-period score sums (a
    :class:`ClusterSums` keyed by period, for panel HAC errors), or None.
    Merged with ``+`` part by part; ``0`` is the identity, so ``sum`` works.
    """

    stats: object
    clusters: object = None
    extra: object = None
    log_weight_sum: float | None = None
    periods: object = None

    @property
    def n_rows(self):
        return self.stats.n_rows

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, ChunkStatistics):
            raise TypeError(
                f"Cannot merge ChunkStatistics with {type(other).__name__}."
            )
        if (self.clusters is None) != (other.clusters is None):
            raise ValueError("clusters must be given with every chunk or with none.")
        if (self.extra is None) != (other.extra is None):
            raise ValueError("Cannot merge chunk statistics with and without label-keyed parts.")
        if (self.periods is None) != (other.periods is None):
            raise ValueError("periods must be given with every chunk or with none.")
        known = self.log_weight_sum is not None and other.log_weight_sum is not None
        return ChunkStatistics(
            self.stats + other.stats,
            None if self.clusters is None else self.clusters + other.clusters,
            None if self.extra is None else self.extra + other.extra,
            self.log_weight_sum + other.log_weight_sum if known else None,
            None if self.periods is None else self.periods + other.periods,
        )

    __radd__ = __add__
