"""Per-fold statistics gathered alongside the totals, for any cumulative estimator."""

from __future__ import annotations

from ..stats import accumulator_for
from ._folds import chunk_fold_statistics, n_splits_of


class FoldAccumulationMixin:
    """Per-fold statistics gathered alongside the totals, in the same pass.

    The fitted state gains ``fold_stats_`` (a
    :class:`~skbigreg.model_selection.FoldStatistics`, or a
    :class:`~skbigreg.model_selection.SplitStatistics` for in-memory splits
    that do not partition the rows). Needs the ``cv`` and ``random_state``
    parameters.
    """

    _label_names = ("groups",)
    _extra_attribute = "fold_stats_"

    def _fold_accumulator(self):
        return accumulator_for(self.solver)

    def _check_streamable(self):
        if n_splits_of(self.cv) is None:
            raise ValueError(
                "partial_fit needs cv=None or an int (folds hashed from each row), "
                f"got cv={self.cv!r}; splitters and (train, test) lists index "
                "in-memory rows: use fit."
            )

    def _map_chunk(self, X, y, sample_weight, labels):
        accumulator = self._fold_accumulator()
        folds = chunk_fold_statistics(
            X, y, sample_weight, labels.get("groups"), self.cv, self.random_state, accumulator
        )
        if hasattr(folds, "total"):
            return folds.total(), folds
        return accumulator.from_arrays(X, y, sample_weight), folds

    def _usable_splits(self):
        """``[(train, test)]`` of every fold and which have rows on both sides."""
        folds = self.fold_stats_
        total = folds.total() if hasattr(folds, "total") else None
        splits = [folds.split(k, total) for k in range(folds.n_splits)]
        usable = [train.weight_sum > 0 and test.weight_sum > 0 for train, test in splits]
        if not any(usable):
            raise ValueError(
                "Cross-validation needs rows in at least two folds; got "
                f"n_samples = {self.stats_.n_rows} in {folds.n_splits} folds."
            )
        return splits, usable
