"""What every cumulative estimator shares: chunk validation, accumulation, rollback."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._compat import _check_sample_weight, validate_data
from ..parallel import single_blas_thread
from ..stats import GroupedGramStats, accumulator_for


@contextmanager
def rollback_on_error(estimator):
    """Restore every attribute of ``estimator`` if the block raises.

    Fitted attributes are only ever replaced, never mutated in place, so a
    shallow snapshot of ``vars`` is an exact copy of the fitted state.
    """
    snapshot = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(snapshot)
        raise


@dataclass(frozen=True)
class ChunkPart:
    """One or more chunks' validated statistics, before any solve (``+`` merges).

    ``extra`` is the estimator's label-keyed statistics (the second value of
    its ``_map_chunk``); ``clusters`` the per-cluster statistics, or None;
    ``y_1d`` whether the first chunk's target was 1-D.
    """

    stats: object
    extra: object
    clusters: object
    n_samples: int
    y_1d: bool

    def __add__(self, other):
        if (self.clusters is None) != (other.clusters is None):
            raise ValueError("clusters must be given with every chunk or with none.")
        clusters = None if self.clusters is None else self.clusters + other.clusters
        extra = None if self.extra is None else self.extra + other.extra
        return ChunkPart(self.stats + other.stats, extra, clusters,
                         self.n_samples + other.n_samples, self.y_1d)


def validate_chunk(estimator, X, y, sample_weight, reset):
    """``validate_data`` for one chunk; y is returned 2-D.

    Finiteness is not checked here: it is read off the chunk's statistics,
    which are non-finite exactly when an input is, so the common path makes
    no separate pass over the rows.
    """
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        dtype=np.float64,
        multi_output=True,
        y_numeric=True,
        ensure_all_finite=False,
    )
    y = np.asarray(y, dtype=np.float64)
    y_1d = y.ndim == 1
    y2 = y.reshape(-1, 1) if y_1d else y
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
    return X, y2, sample_weight, y_1d


class CumulativeMixin:
    """Statistics accumulation shared by the cumulative estimators.

    Subclasses define ``_solve()`` (statistics -> ``coef_``, ``intercept_``).
    Estimators that keep statistics per label alongside the totals (e.g. per
    cross-validation fold) override ``_map_chunk`` and ``_merge_extra``.
    """

    def _is_first_call(self):
        return not hasattr(self, "stats_")

    def _reset(self):
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)
        for name in ("_y_1d", "_solution"):
            vars(self).pop(name, None)

    def _chunk_part(self, X, y, sample_weight, clusters, groups, reset):
        """Validate one chunk and map it to a :class:`ChunkPart` (no solve)."""
        X, y, sample_weight, y_1d = validate_chunk(self, X, y, sample_weight, reset)
        stats, extra = self._map_chunk(X, y, sample_weight, groups)
        grouped = None
        if clusters is not None:
            clusters = np.asarray(clusters)
            if clusters.shape != (X.shape[0],):
                raise ValueError(
                    f"clusters has shape {clusters.shape}; expected ({X.shape[0]},)."
                )
            grouped = GroupedGramStats.from_arrays(X, y, clusters, sample_weight)
        return ChunkPart(stats, extra, grouped, X.shape[0], y_1d)

    def _accumulate(self, X, y, sample_weight=None, clusters=None, groups=None):
        """Validate a chunk, merge its statistics and re-solve; all or nothing."""
        if not self._is_first_call() and _num_samples(X) == 0:
            return self  # an empty chunk adds nothing (documented no-op)
        with rollback_on_error(self):
            first = self._is_first_call()
            part = self._chunk_part(X, y, sample_weight, clusters, groups, reset=first)
            if first:
                self._y_1d = part.y_1d
                self.stats_ = part.stats
                self.n_samples_seen_ = 0
                if part.clusters is not None:
                    self.cluster_stats_ = part.clusters
            else:
                self.stats_ = self.stats_ + part.stats
                if (part.clusters is None) != (not hasattr(self, "cluster_stats_")):
                    raise ValueError(
                        "clusters must be given with every chunk or with none."
                    )
                if part.clusters is not None:
                    self.cluster_stats_ = self.cluster_stats_ + part.clusters
            self._merge_extra(part.extra, first)
            self.n_samples_seen_ += part.n_samples
            self._after_update()
            with single_blas_thread():
                self._solve()
        return self

    def _map_chunk(self, X, y, sample_weight, groups):
        """Hook: the chunk's statistics and any extra (label-keyed) statistics."""
        return accumulator_for(self.solver).from_arrays(X, y, sample_weight), None

    def _merge_extra(self, extra, first):
        """Hook: merge the extra statistics returned by ``_map_chunk``."""

    def _after_update(self):
        """Hook: invalidate anything that depended on the previous statistics."""

    def _check_fitted(self):
        check_is_fitted(self, "stats_")

    # -- shared by every estimator solved from merged statistics -------------
    #: Names of label-keyed fitted statistics (per cluster, per fold) that merge with ``+``.
    _extra_statistics = ()

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        self._check_fitted()
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ np.asarray(self.coef_).T + self.intercept_

    def _set_coef(self, coef, intercept):
        """Store ``coef`` (K, T) and ``intercept`` (T,) in scikit-learn's shapes."""
        coef = coef.T
        if self._y_1d:
            coef, intercept = coef[0], float(intercept[0])
        self.coef_ = coef
        self.intercept_ = intercept

    def merge(self, other):
        """A new fitted estimator on the union of both estimators' rows.

        Both must have the same parameters and features; the result is
        identical (to rounding) to fitting on all rows at once. Label-keyed
        statistics (per cluster, per fold) are merged when both have them.
        """
        self._check_fitted()
        other._check_fitted()
        if self.get_params() != other.get_params():
            raise ValueError("Cannot merge estimators with different parameters.")
        if self.n_features_in_ != other.n_features_in_:
            raise ValueError(
                f"Cannot merge a fit on {self.n_features_in_} features with a "
                f"fit on {other.n_features_in_} features."
            )
        names = [getattr(est, "feature_names_in_", None) for est in (self, other)]
        if (names[0] is None) != (names[1] is None) or (
            names[0] is not None and list(names[0]) != list(names[1])
        ):
            raise ValueError(f"Cannot merge fits with feature names {names[0]} and {names[1]}.")
        extras = {
            name: getattr(self, name) + getattr(other, name)
            for name in self._extra_statistics
            if hasattr(self, name) and hasattr(other, name)
        }
        merged = type(self)(**self.get_params())
        return merged._set_statistics(
            self.stats_ + other.stats_,
            y_1d=self._y_1d,
            feature_names=names[0],
            n_samples=self.n_samples_seen_ + other.n_samples_seen_,
            **extras,
        )

    @classmethod
    def _from_statistics(cls, stats, feature_names, extras, params):
        params.setdefault("solver", "qr" if hasattr(stats, "r") else "gram")
        estimator = cls(**params)
        estimator._validate_params()
        return estimator._set_statistics(
            stats,
            y_1d=stats.n_targets == 1,
            feature_names=feature_names,
            n_samples=stats.n_rows,
            **extras,
        )

    def _set_statistics(self, stats, y_1d, feature_names, n_samples, **extras):
        """Become the fit of ``stats`` (plus label-keyed statistics) and solve."""
        self._reset()
        self.stats_ = stats
        self._y_1d = y_1d
        self.n_features_in_ = stats.n_features
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.n_samples_seen_ = n_samples
        for name, value in extras.items():
            if value is not None:
                setattr(self, name, value)
        with single_blas_thread():
            self._solve()
        return self
