"""What the one-shot debiased regressor and classifier share: partitions in, one fit out.

The map (a partition's rows to its ``PartitionResult``) is
:mod:`skbigreg.passes`; gathering a partition's rows across chunks is
:func:`skbigreg.io.iter_partitions`; the combination is
:func:`skbigreg.solvers.combine_partitions`. This module validates, routes
the partitions and sets the fitted attributes.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._compat import (
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from ..io import check_label, iter_partitions
from ..passes import fit_partition, map_partition_stream, map_partitions
from ..solvers import (
    OneShotSettings,
    check_partition_results,
    combine_partitions,
    split_columns,
)
from ..base import ChunkLabels, check_weights, design_rows, fit_source, reset, rollback_on_error

#: Automatic contiguous splits keep at least this many rows per partition.
MIN_ROWS_PER_SPLIT = 10

def _penalty_vector(value, n_features, name, mixed_zeros=False):
    if value is None:
        return None
    vec = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_features,)).copy()
    if not np.all(np.isfinite(vec)) or np.any(vec < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    if not mixed_zeros and np.any(vec == 0) and np.any(vec > 0):
        raise ValueError(
            f"{name} mixes zero and positive entries; give all positive entries "
            "(a small value leaves a coefficient nearly unpenalized) or all zeros."
        )
    return vec


def streamable(estimator):
    """``partial_fit`` exists unless the debiased method shares nodewise columns."""
    if estimator.method == "debiased" and estimator.nodewise == "split":
        raise AttributeError(
            "partial_fit needs nodewise='local': nodewise='split' shares the "
            "columns among partitions, so it needs every partition up front (use fit)."
        )
    return True


def _share_columns(n_features, share):
    """Nodewise columns of a partition: its block when ``share`` is ``(index,
    n_partitions)`` (``nodewise="split"``), else all of them."""
    if share is None:
        return np.arange(n_features)
    index, n_partitions = share
    return split_columns(n_features, n_partitions, index)


class BaseDebiasedDistributed(BaseEstimator):
    """The estimator shared by the regressor and the classifier."""

    _parameter_constraints: dict = {
        "method": [StrOptions({"debiased", "naive", "naive_unregularized"})],
        "nodewise": [StrOptions({"local", "split"})],
        "alpha": [None, Interval(Real, 0, None, closed="left"), "array-like"],
        "nodewise_alpha": [None, Interval(Real, 0, None, closed="left"), "array-like"],
        "threshold": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left"), "array-like"],
        "fit_intercept": ["boolean"],
        "n_partitions": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
    }

    def __init__(self, *, method="debiased", nodewise="local", alpha=None,
                 nodewise_alpha=None, threshold="auto", fit_intercept=True, n_partitions=1,
                 tol=1e-10, max_iter=10000, n_jobs=None):
        self.method = method
        self.nodewise = nodewise
        self.alpha = alpha
        self.nodewise_alpha = nodewise_alpha
        self.threshold = threshold
        self.fit_intercept = fit_intercept
        self.n_partitions = n_partitions
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    # -- hooks --------------------------------------------------------------
    def _family(self):
        raise NotImplementedError

    def _encode_target(self, y, first, classes=None):
        """Validated numeric target; sets label attributes on the first call."""
        return y

    def _check_partition(self, y, w, label):
        """Raise if a partition cannot be fitted (beyond its size)."""

    def _set_classes(self, classes):
        """Hook: the classifier's labels when fitted from results."""

    # -- data ----------------------------------------------------------------
    def _validate(self, X, y, sample_weight, first, **check):
        # all-zero weights are rows removed: the callers decide (a partition is
        # dropped, unless it is the only data)
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64, y_numeric=False,
                             **check)
        w = check_weights(sample_weight, X)
        return X, y, np.ones(len(X)) if w is None else w

    def _settings(self, n_features):
        return OneShotSettings(
            family=self._family(),
            method=self.method,
            nodewise=self.nodewise,
            fit_intercept=bool(self.fit_intercept),
            alpha=_penalty_vector(self.alpha, n_features, "alpha"),
            nodewise_alpha=_penalty_vector(self.nodewise_alpha, n_features, "nodewise_alpha"),
            tol=float(self.tol),
            max_iter=int(self.max_iter),
        )

    def _partition_rows(self, partitions, w):
        """``[(label, row indices)]`` of the partitions with weight, in sorted label order."""
        n_samples = len(w)
        if partitions is None:
            count = max(1, min(self.n_partitions, n_samples // MIN_ROWS_PER_SPLIT))
            blocks = list(enumerate(np.array_split(np.arange(n_samples), count)))
        else:
            partitions, _ = check_label("partitions", partitions, n_samples)
            labels, inverse = np.unique(partitions, return_inverse=True)
            blocks = [(lab, np.flatnonzero(inverse == i))
                      for i, lab in enumerate(labels.tolist())]
        return [(label, rows) for label, rows in blocks if w[rows].sum() > 0]

    def _task(self, X, y, w, label, settings, columns):
        if X.shape[0] < 2:
            raise ValueError(
                f"Partition {label!r} has {X.shape[0]} row(s); every partition needs "
                "at least 2 rows (n_samples = 1 cannot be fitted)."
            )
        if not w.sum() > 0:
            raise ValueError(f"Partition {label!r} has zero total sample weight.")
        self._check_partition(y, w, label)
        if settings.method != "debiased":
            columns = None
        return {"X": X, "y": y, "w": w, "label": label, "settings": settings,
                "columns": columns}

    def _rows_task(self, X, y, sample_weight, label, first, classes, share=None, reset=None):
        """Validate one partition's rows: its :func:`~skbigreg.passes.fit_partition` task.

        ``share`` is ``(index, n_partitions)`` for ``nodewise="split"``: the
        partition's block of nodewise columns; None: all columns. ``reset``
        (default ``first``) resets the feature checks; ``first`` the target's.
        """
        X, y, w = self._validate(X, y, sample_weight, first if reset is None else reset)
        y = self._encode_target(y, first=first, classes=classes)
        p = X.shape[1]
        return self._task(X, y, w, label, self._settings(p), _share_columns(p, share))

    # -- fitting -------------------------------------------------------------
    def _reset(self):
        reset(self)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, partitions=None, sample_weight=None):
        """Fit on all partitions at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Target values (two class labels for the classifier).
        partitions : array-like of shape (n_samples,), default=None
            Partition label of each row (machines, files, sites). ``None``:
            ``n_partitions`` contiguous blocks.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights; a partition whose weights are all zero is
            dropped (zero weight = row removed).

        Returns
        -------
        self : object
        """
        with rollback_on_error(self):
            self._fit(X, y, partitions, sample_weight)
        return self

    def _fit(self, X, y, partitions, sample_weight, classes=None):
        self._reset()
        X, y, w = self._validate(X, y, sample_weight, first=True)
        if not w.sum() > 0:
            raise ValueError("Every sample weight is zero: there is nothing to fit.")
        y = self._encode_target(y, first=True, classes=classes)
        settings = self._settings(X.shape[1])
        blocks = self._partition_rows(partitions, w)
        p = X.shape[1]
        split = self.nodewise == "split"
        tasks = [
            self._task(X[rows], y[rows], w[rows], label, settings,
                       _share_columns(p, (index, len(blocks)) if split else None))
            for index, (label, rows) in enumerate(blocks)
        ]
        self._set_fitted(map_partitions(tasks, self.n_jobs), settings)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first = not hasattr(self, "partition_results_")
        with rollback_on_error(self):
            # after the first chunk, one with no rows or only rows of zero
            # weight adds nothing (its columns are still checked)
            X, y, w = self._validate(X, y, sample_weight, first,
                                     ensure_min_samples=1 if first else 0)
            if not w.sum() > 0:
                if first:
                    raise ValueError("Every sample weight is zero: there is nothing to fit.")
                return self
            y = self._encode_target(y, first=first, classes=classes)
            previous = [] if first else self.partition_results_
            p = X.shape[1]
            task = self._task(X, y, w, len(previous), self._settings(p), np.arange(p))
            self._set_fitted(previous + [fit_partition(**task)], task["settings"])
        return self

    # -- chunk sources -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a chunk source, one partition in memory at a time.

        With ``partitions`` labels on the chunks, each partition's rows must
        be contiguous in the source (one file per partition, or rows sorted
        by partition; a partition may span chunks and a chunk may hold
        several partitions): its rows are gathered across chunks and fitted,
        then dropped. Without labels each non-empty chunk is a partition,
        labelled by its position. The result equals ``fit`` on all rows with
        the same partition labels (``n_partitions`` is not used: the source
        fixes the partitions), and a failed fit leaves the estimator as it was.

        A re-iterable source with labels is read twice: a first pass finds
        the partition labels and checks contiguity before any fit (a label
        that comes back after another partition began raises ``ValueError``),
        a second fits. A one-shot generator is read once and checked as it
        streams, so a partition before the out-of-place rows may fail first
        (too few rows, say). ``nodewise="split"`` needs the first pass even
        without labels -- a partition's block of nodewise columns follows its
        position among the sorted labels of all partitions -- so it refuses
        a one-shot source.

        With ``n_jobs``, that many partitions are gathered, then fitted at once.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads -- a list of
            ``(X, y)`` tuples or dicts ``{"X": X, "y": y, "sample_weight": w,
            "partitions": labels}``, a callable returning a fresh
            iterator of them -- or a file source from
            :func:`skbigreg.io.read_files`. Chunks carrying ``clusters`` or
            ``groups`` labels are refused.

        Returns
        -------
        self : object

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import DebiasedDistributedLasso
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((2000, 20))
        >>> y = 2 * X[:, 0] - X[:, 1] + rng.standard_normal(2000)
        >>> site = np.repeat([0, 1, 2, 3], 500)  # contiguous partitions
        >>> chunks = [{"X": X[i:i + 300], "y": y[i:i + 300], "partitions": site[i:i + 300]}
        ...           for i in range(0, 2000, 300)]
        >>> est = DebiasedDistributedLasso().fit_chunks(chunks)
        >>> est.n_partitions_, np.flatnonzero(est.coef_).tolist()
        (4, [0, 1])
        >>> full = DebiasedDistributedLasso().fit(X, y, partitions=site)
        >>> bool(np.allclose(est.debiased_coef_, full.debiased_coef_, rtol=1e-10, atol=0))
        True
        """
        return self._fit_chunks(chunks)

    def _fit_chunks(self, chunks, classes=None):
        return fit_source(self, chunks, lambda source: self._fit_partitions(source, classes))

    def _fit_partitions(self, source, classes):
        """Gather, fit and combine the partitions of ``source``, one at a time."""
        split = self.method == "debiased" and self.nodewise == "split"
        order = self._first_pass(source, split)
        labels = ChunkLabels(self, ("partitions",))
        parts = iter_partitions(source, labels.check)
        tasks = self._chunk_tasks(parts, order if split else None, order, classes)
        results = map_partition_stream(tasks, self.n_jobs)
        if not results:
            raise ValueError("The chunk source produced no rows of positive weight "
                             "(it is empty, or every sample weight is zero).")
        if order is not None and len(results) != len(order):
            raise ValueError(
                "The chunk source gave fewer partitions than on its first pass: it "
                "must give the same rows on every pass."
            )
        results.sort(key=lambda result: result.label)  # as fit: sorted label order
        self._set_fitted(results, self._settings(self.n_features_in_))

    def _chunk_tasks(self, partitions, shares, order, classes):
        """The fit task of every weighted partition; weightless ones are checked, dropped.

        ``order`` holds the labels of the first pass (or None); ``shares`` is
        ``order`` in ``split`` mode, where a label's position fixes its columns.
        """
        reset, first = True, True
        for part in partitions:
            if order is not None and part.weight > 0 and part.label not in order:
                raise ValueError(
                    f"Partition {part.label!r} was not in the first pass over the chunk "
                    "source: it must give the same rows on every pass."
                )
            if not part.weight > 0:
                self._validate(part.X, part.y, part.sample_weight, reset)
                reset = False
                continue
            share = (shares[part.label], len(shares)) if shares is not None else None
            yield self._rows_task(part.X, part.y, part.sample_weight, part.label, first,
                                  classes, share, reset=reset)
            reset = first = False

    def _first_pass(self, source, split):
        """``{label: position among the sorted labels}``, contiguity checked, or None.

        A pass over a re-iterable source before any fit, so that rows that
        are not contiguous fail at once (not after the partitions before);
        ``nodewise="split"`` needs it: a partition's position fixes its columns.
        Skipped when it has nothing to do: ``local`` mode without labels.
        """
        if not source.reiterable:
            if split:
                raise ValueError(
                    'nodewise="split" reads the chunk source twice (a first pass finds '
                    "every partition, whose position fixes its nodewise columns): pass a "
                    "list of chunks or a callable returning a fresh iterator, or use "
                    'nodewise="local".'
                )
            return None
        if not split:
            first = next(iter(source), None)
            if first is None or first.label("partitions") is None:
                return None  # chunks as partitions: contiguous by construction
        check = ChunkLabels(self, ("partitions",)).check
        found = sorted(part.label for part in iter_partitions(source, check, gather=False)
                       if part.weight > 0)
        return {label: index for index, label in enumerate(found)}

    # -- sites that share results, not rows ------------------------------------
    def partition_result(self, X, y, sample_weight=None, *, label=0, index=None,
                         n_partitions=None, classes=None):
        """What one site computes and sends: its :class:`PartitionResult`.

        For data that may not leave its machine: each site calls this on its
        own rows with the same estimator parameters, ships the result (a
        picklable dataclass of p- and p x p-sized arrays, no rows), and the
        coordinator calls :meth:`fit_results`. The estimator is not changed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        label : object, default=0
            The partition's name in :attr:`partition_results_`.
        index, n_partitions : int, default=None
            ``nodewise="split"`` only: this site's position among the
            ``n_partitions`` sites, which fixes its share of the nodewise
            regressions (``fit`` splits the columns the same way).
        classes : array-like of shape (2,), default=None
            The classifier's two labels (needed when a site sees one class
            only in ``y``'s dtype; the same on every site).

        Returns
        -------
        PartitionResult

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import DebiasedDistributedLasso
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((1500, 10))
        >>> y = 2 * X[:, 0] - X[:, 1] + rng.standard_normal(1500)
        >>> site = np.repeat([0, 1, 2], 500)
        >>> est = DebiasedDistributedLasso()
        >>> results = [est.partition_result(X[site == k], y[site == k], label=k)
        ...            for k in range(3)]           # on each site, with its own rows
        >>> results[0].coef.shape                   # what travels: p- and p x p-sized arrays
        (10,)
        >>> est.fit_results(results).n_partitions_  # on the coordinator
        3
        """
        share = None
        if self.nodewise == "split" and self.method == "debiased":
            if index is None or n_partitions is None:
                raise ValueError(
                    'nodewise="split" divides the nodewise regressions among the sites: '
                    "pass index= and n_partitions= (or use nodewise=\"local\")."
                )
            if not 0 <= index < n_partitions:
                raise ValueError(f"index={index} is not in [0, n_partitions={n_partitions}).")
            share = (index, n_partitions)
        task = clone(self)._rows_task(X, y, sample_weight, label, True, classes, share)
        return fit_partition(**task)

    def fit_results(self, results, *, classes=None):
        """Combine :class:`PartitionResult` objects computed on the sites.

        Gives the same estimate as :meth:`fit` on the pooled rows with the
        same partitions (and the same ``index`` order in ``split`` mode).

        Parameters
        ----------
        results : iterable of PartitionResult
            One per site, from :meth:`partition_result` with these parameters.
        classes : array-like of shape (2,), default=None
            The classifier's labels (required for the classifier).

        Returns
        -------
        self : object

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import DebiasedDistributedLasso
        >>> rng = np.random.default_rng(1)
        >>> X = rng.standard_normal((1200, 8))
        >>> y = X[:, 0] - X[:, 2] + rng.standard_normal(1200)
        >>> site = np.repeat([0, 1], 600)
        >>> est = DebiasedDistributedLasso(nodewise="split")
        >>> results = [est.partition_result(X[site == k], y[site == k], label=k,
        ...                                 index=k, n_partitions=2) for k in range(2)]
        >>> pooled = DebiasedDistributedLasso(nodewise="split").fit(X, y, partitions=site)
        >>> bool(np.allclose(est.fit_results(results).coef_, pooled.coef_, rtol=1e-12, atol=0))
        True
        """
        self._validate_params()
        results = list(results)
        check_partition_results(results, self.method, self.nodewise)
        with rollback_on_error(self):
            self._reset()
            self.n_features_in_ = len(results[0].coef)
            self._set_classes(classes)
            self._set_fitted(results, self._settings(self.n_features_in_))
        return self

    def _thresholds(self, standard_errors, n_features):
        if isinstance(self.threshold, str):
            if standard_errors is None:
                return np.zeros(n_features)
            return 2.0 * np.sqrt(np.log(max(n_features, 2))) * standard_errors
        return _penalty_vector(self.threshold, n_features, "threshold", mixed_zeros=True)

    def _set_fitted(self, results, settings):
        fit = combine_partitions(results, settings)
        p = fit.coef.shape[0]
        se = None
        if fit.coef_cov is not None:
            se = np.sqrt(np.clip(np.diag(fit.coef_cov), 0.0, None))
        threshold = self._thresholds(se, p)
        coef = np.where(np.abs(fit.coef) < threshold, 0.0, fit.coef)
        self.partition_results_ = list(results)
        self.n_partitions_ = len(results)
        self.n_iter_ = max(r.n_iter for r in results)
        self.debiased_coef_ = fit.coef
        self.debiased_intercept_ = fit.intercept
        self.threshold_ = threshold
        self.coef_ = coef
        self.intercept_ = fit.intercept - float(fit.center @ (coef - fit.coef))
        self.approx_inv_cov_ = fit.approx_inv_cov
        self.covariance_ = fit.coef_cov
        self.bse_ = se
        self.sigma_ = fit.sigma

    # -- prediction ------------------------------------------------------------
    def _linear_predictor(self, X):
        check_is_fitted(self, "coef_")
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
