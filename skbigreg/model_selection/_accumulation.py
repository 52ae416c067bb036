"""Per-fold statistics gathered alongside the totals, for any cumulative estimator."""

from __future__ import annotations

from numbers import Integral

from .._compat import Interval
from ..passes import pushdown_fold_statistics
from ..stats import GramStats, accumulator_for
from ._folds import chunk_fold_statistics, hash_folds, n_splits_of, row_hash_spec


#: Constraints of the parameters that place rows in folds (read by the mixin below).
FOLD_CONSTRAINTS: dict = {
    "cv": ["cv_object"],
    "random_state": [Interval(Integral, 0, None, closed="left"), None],
}


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

    def _pushdown_folds(self, pushdown, name):
        """Totals and per-fold statistics computed by the database (one ``GROUP BY``).

        Without ``groups=`` each row's fold is hashed from its values in
        the query, bit for bit as :func:`hash_folds` hashes the pulled rows;
        with it each label's statistics are merged into the folds
        ``hash_folds(groups=...)`` gives the labels. Either way the folds
        of a pulled fit.
        """
        pushdown.require_labels(("groups",), f"{name} push-down fits")
        n_splits = n_splits_of(self.cv)
        if n_splits is None:
            raise ValueError(f"A push-down {name} needs cv=None or an int (folds hashed from "
                             f"the rows or the groups label), got cv={self.cv!r}.")
        if self._fold_accumulator() is not GramStats:
            raise ValueError("A SQL push-down computes Gram statistics: use solver='gram', "
                             "or pull the rows (fit_chunks(read_sql(...))) for solver='qr'.")
        if pushdown.groups is None:
            spec = row_hash_spec(len(pushdown.feature_names) + 1, n_splits, self.random_state)
            return pushdown_fold_statistics(pushdown, None, n_splits, row_hash=spec)

        def fold_of(labels):
            return hash_folds(None, None, n_splits, self.random_state, groups=labels)

        return pushdown_fold_statistics(pushdown, fold_of, n_splits)

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
