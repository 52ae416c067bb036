"""One least-squares model per partition (and per union of partitions) from one pass."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._compat import _fit_context, validate_data
from ..base import SPARSE_FORMATS, CumulativeMixin, design_rows, raw_labels, partitionwise
from ..exceptions import CollinearityWarning
from ..solvers import solve_least_squares
from ..solvers._grouped_least_squares import grouped_moments, solve_stacked
from ..stats import GramStats, GroupedGramStats, as_dense
from ._cumulative import CumulativeLinearRegression


class GroupedLinearRegression(CumulativeMixin, RegressorMixin, BaseEstimator):
    """Least squares in every partition, and in any union of them, from one pass.

    For each partition ``g`` (a site, a state, a file...) minimises
    ``sum_{i in g} w_i (y_i - b0_g - x_i' b_g)^2``; the pooled model minimises
    the same sum over all rows. One pass gathers each partition's weight,
    means and centred co-moments (``G (K + T)^2`` numbers); every
    partition's model and every union's (:meth:`subset`) are then solved
    from them without touching rows again.

    Parameters
    ----------
    fit_intercept : bool, default=True

    Attributes
    ----------
    coef_, intercept_ :
        The pooled model (all rows).
    partitions_ : ndarray of shape (G,)
        Sorted partition labels.
    partition_coef_ : ndarray of shape (G, n_features) or (G, n_targets, n_features)
        Each partition's coefficients; NaN where its design is rank deficient
        (fewer rows than ``n_features + 1``, identical rows, a constant
        column): see ``rank_deficient_``.
    partition_intercept_ : ndarray of shape (G,) or (G, n_targets)
    rank_deficient_ : ndarray of shape (n_deficient,)
        Labels of the partitions whose model is not identified.
    stats_ : GramStats
        Statistics of all rows.
    partition_stats_ : GroupedGramStats
        Per-partition statistics.
    n_samples_seen_, n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import GroupedLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 1))
    >>> site = np.repeat(["a", "b", "c"], 100)
    >>> slope = np.repeat([1.0, 2.0, 3.0], 100)
    >>> y = slope * X[:, 0] + 0.01 * rng.normal(size=300)
    >>> model = GroupedLinearRegression().fit(X, y, partitions=site)
    >>> model.partition_coef_.round(2).ravel()
    array([1., 2., 3.])
    >>> model.subset(["a", "b"]).coef_.round(1)
    array([1.5])
    """

    _parameter_constraints: dict = {"fit_intercept": ["boolean"]}

    def __init__(self, *, fit_intercept=True):
        self.fit_intercept = fit_intercept

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, partitions=None):
        """Fit on in-memory rows (reset, then one chunk).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        partitions : array-like of shape (n_samples,), optional
            Partition label of each row; without it all rows form partition 0.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, partitions=partitions)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, partitions=None):
        """Merge one chunk's per-partition statistics (all or nothing); the fit is solved when next read.

        Returns
        -------
        self
        """
        return self._accumulate(X, y, sample_weight, partitions=partitions)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a chunk source in one pass, solving once at the end.

        The chunks' ``partitions`` labels give each row's partition (without
        them, all rows form partition 0); a partition's rows may be spread
        over any chunks, in any order. Every chunk's per-partition statistics
        are merged and every model is solved once, so the result equals
        ``fit`` on all rows and only the final solve can warn of a rank-deficient
        partition (not a chunk that misses some of its rows). A failed fit
        leaves the estimator as it was.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads -- a list of dicts
            ``{"X": X, "y": y, "sample_weight": w, "partitions": labels}``, a
            callable returning a fresh iterator of them -- or a file source
            from :func:`skbigreg.io.read_files`. Chunks carrying other labels
            are refused.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import GroupedLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 1))
        >>> site = np.tile(["a", "b", "c"], 100)
        >>> y = np.tile([1.0, 2.0, 3.0], 100) * X[:, 0] + 0.01 * rng.normal(size=300)
        >>> chunks = [{"X": X[i:i + 100], "y": y[i:i + 100], "partitions": site[i:i + 100]}
        ...           for i in range(0, 300, 100)]
        >>> model = GroupedLinearRegression().fit_chunks(chunks)
        >>> model.partitions_.tolist()
        ['a', 'b', 'c']
        >>> model.partition_coef_.round(2).ravel()
        array([1., 2., 3.])
        """
        return super().fit_chunks(chunks)

    _label_names = ("partitions",)
    _extra_attribute = "partition_stats_"
    _extra_label = "partitions"

    @classmethod
    def from_statistics(cls, partition_stats, feature_names=None, **params):
        """A fitted estimator from statistics gathered elsewhere (e.g. summed over sites).

        Parameters
        ----------
        partition_stats : GroupedGramStats
            Per-partition statistics (their total is the pooled model's).
        feature_names : sequence of str, optional
        **params
            Estimator parameters.

        Returns
        -------
        GroupedLinearRegression
            Equal to ``fit`` on the rows the statistics were gathered from;
            errors that need a second pass (HC) need those rows again.
        """
        return cls._from_statistics(partition_stats.total(), feature_names, params, extra=partition_stats)

    def _map_chunk(self, X, y, sample_weight, labels):
        partitions = labels.get("partitions")
        if partitions is None:
            partitions = np.zeros(X.shape[0], dtype=np.int64)
        grouped = GroupedGramStats.from_arrays(X, y, partitions, sample_weight)
        return grouped.total(), grouped

    def _solve(self):
        pooled = solve_least_squares(self.stats_, self.fit_intercept)
        stacked = solve_stacked(grouped_moments(self.partition_stats_), self.fit_intercept)
        coef, intercept = np.swapaxes(stacked.coef, 1, 2), stacked.intercept
        self.coef_, self.intercept_ = pooled.coef.T, pooled.intercept
        if self._y_1d:
            coef, intercept = coef[:, 0], intercept[:, 0]
            self.coef_, self.intercept_ = self.coef_[0], float(self.intercept_[0])
        self.partitions_ = self.partition_stats_.labels
        self.partition_coef_, self.partition_intercept_ = coef, intercept
        self.rank_deficient_ = self.partitions_[~stacked.solvable]
        if len(self.rank_deficient_):
            warnings.warn(
                f"{len(self.rank_deficient_)} of {len(self.partitions_)} partitions have a "
                "rank-deficient design (too few or identical rows, or a constant "
                "column); their partition_coef_ are NaN. Labels: "
                f"{self.rank_deficient_[:10].tolist()}.",
                CollinearityWarning,
                stacklevel=4,
            )

    def subset(self, partitions):
        """The least-squares model of the union of some partitions, without rows.

        Parameters
        ----------
        partitions : sequence of labels

        Returns
        -------
        CumulativeLinearRegression
            Fitted from the merged statistics (so :meth:`results`, HC needs rows).
        """
        self._check_fitted()
        labels = np.asarray(partitions)
        missing = np.setdiff1d(labels, self.partitions_)
        if missing.size:
            raise ValueError(f"Unknown partitions: {missing[:10].tolist()}.")
        stats = sum(
            (self.partition_stats_.group(label) for label in np.unique(labels)),
            GramStats.empty(self.n_features_in_, self.stats_.n_targets),
        )
        names = getattr(self, "feature_names_in_", None)
        return CumulativeLinearRegression.from_statistics(
            stats, feature_names=names, fit_intercept=self.fit_intercept
        )

    @partitionwise
    def predict(self, X, partitions=None):
        """Predict with the pooled model, or with each row's partition model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        partitions : array-like of shape (n_samples,), optional
            Each row's partition (seen in fit); without it the pooled model.
            Raw rows of a model fitted from a formula with ``partitions=``
            carry their partitions' column.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        self._check_fitted()
        if partitions is None:
            partitions = raw_labels(getattr(self, "design_spec_", None), X, "partitions")
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=SPARSE_FORMATS)
        if partitions is None:
            return X @ np.asarray(self.coef_).T + self.intercept_
        X = as_dense(X)  # one model per row
        labels = np.asarray(partitions)
        index = np.searchsorted(self.partitions_, labels)
        index = np.clip(index, 0, len(self.partitions_) - 1)
        if not np.array_equal(self.partitions_[index], labels):
            raise ValueError("partitions contains labels not seen in fit.")
        coef = self.partition_coef_[index]
        if self._y_1d:
            return np.einsum("nk,nk->n", X, coef) + self.partition_intercept_[index]
        return np.einsum("nk,ntk->nt", X, coef) + self.partition_intercept_[index]

    def score(self, X, y, sample_weight=None, partitions=None):
        """R² of :meth:`predict` with each row's partition model.

        A model fitted with ``partitions`` is scored with its rows'
        partitions (route them with ``set_score_request(partitions=True)``
        in cross-validation): the pooled model's score would rank the
        grouped model by another model's fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        partitions : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return self._structured_score(X, y, sample_weight, "partitions", partitions)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
