"""One-shot debiased lasso over partitions: a regressor and a classifier."""

from __future__ import annotations

import itertools
from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from scipy import stats as distributions
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    validate_data,
)
from ..solvers._one_shot import (
    OneShotSettings,
    combine_partitions,
    fit_partition,
    map_partitions,
    split_columns,
)
from ..io import iter_chunks
from ._base import rollback_on_error
from ._chunked import ChunkLabels

__all__ = ["DebiasedDistributedLasso", "DebiasedDistributedLogisticRegression"]

#: Automatic contiguous splits keep at least this many rows per partition.
MIN_ROWS_PER_SPLIT = 10

_COMMON_DOC = """
    method : {"debiased", "naive", "naive_unregularized"}, default="debiased"
        ``"debiased"``: average the debiased local fits; ``"naive"``: average
        the local lasso fits; ``"naive_unregularized"``: average the local
        unpenalized fits.
    nodewise : {"local", "split"}, default="local"
        How Theta, the approximate inverse Hessian, is built. ``"local"``
        (Lee et al.): every partition runs the p nodewise lassos on its own
        rows and sends its debiased estimate; works with ``partial_fit``.
        ``"split"`` (statsmodels' scheme): partition k of m runs the nodewise
        lassos of the k-th block of ``ceil(p / m)`` columns (blocks follow the
        sorted partition labels), p fits in all; ``fit`` and ``fit_chunks``
        only (not ``partial_fit``).
    alpha : float, array-like of shape (n_features,) or None, default=None
        Penalty of the local fits (all positive or all zero). ``None``:
        ``sigma_k * s_kj * sqrt(2 log p / W_k)`` in partition k, with ``s_kj``
        the standard deviation of column j, ``W_k`` the partition's weight
        and ``sigma_k`` its noise level (scaled lasso for gaussian,
        ``sqrt(mean y)`` for poisson, ``sqrt(ybar (1 - ybar))`` for binomial);
        ``log p`` is floored at ``log 2``.
    nodewise_alpha : float, array-like of shape (n_features,) or None, default=None
        Penalty of the nodewise lassos; entry k penalizes column k. ``None``:
        ``t_j t_k sqrt(2 log p / W_k)`` in the regression of column j, with
        ``t`` the standard deviations of the Hessian-weighted columns.
    threshold : "auto", float or array-like of shape (n_features,), default="auto"
        Debiased coefficients below it in absolute value are set to zero.
        ``"auto"``: ``2 sqrt(log p) * SE_j``, i.e. ``2 sigma sqrt(log p / N)``
        for standardized columns; ``0`` for the naive methods.
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    n_partitions : int, default=1
        Without ``partitions`` labels, the rows are cut into this many
        contiguous blocks of near-equal size (:func:`numpy.array_split`), fewer
        when needed to keep at least 10 rows per block.
    tol : float, default=1e-10
        Tolerance of the coordinate descent (scikit-learn's duality-gap
        criterion) and of the proximal Newton steps.
    max_iter : int, default=10000
        Maximum coordinate descent sweeps per lasso.
    n_jobs : int or None, default=None
        Partitions are mapped through joblib with this many workers, under
        whatever backend :func:`joblib.parallel_config` selects (loky,
        threading, dask). Results do not depend on it."""

_COMMON_ATTRIBUTES = """
    coef_ : ndarray of shape (n_features,)
        Coefficients after the hard threshold.
    intercept_ : float
        Intercept, moved with the coefficients by one Newton step at fixed
        slopes: ``b0_bar - center' (coef_ - b_bar)``.
    debiased_coef_ : ndarray of shape (n_features,)
        Coefficients before the threshold (the naive average for the naive
        methods).
    threshold_ : ndarray of shape (n_features,)
        Thresholds applied.
    approx_inv_cov_ : ndarray of shape (n_features, n_features) or None
        Theta, the approximate inverse Hessian of the mean loss (the
        ``W_k``-weighted mean of the partitions' in ``local`` mode).
    covariance_ : ndarray of shape (n_features, n_features) or None
        Covariance of ``debiased_coef_``: ``sum_k (W_k / W)^2 Theta_k S_k
        Theta_k' / W_k`` (``local``) or ``Theta S Theta' / W`` (``split``),
        ``S`` the mean outer product of the scores at the local fits.
    standard_errors_ : ndarray of shape (n_features,) or None
        Square roots of the diagonal of ``covariance_``.
    partition_results_ : list of PartitionResult
        What each partition sent, in sorted label order (arrival order for
        ``partial_fit``).
    n_partitions_ : int
        Number of partitions seen.
    n_iter_ : int
        Largest number of iterations of a local fit (coordinate descent
        sweeps for gaussian, proximal Newton steps otherwise).
    sigma_ : float
        Pooled noise level of the default penalties (nan when ``alpha`` is given).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined when X has feature names that are all strings."""


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


def _streamable(estimator):
    """``partial_fit`` exists unless the debiased method shares nodewise columns."""
    if estimator.method == "debiased" and estimator.nodewise == "split":
        raise AttributeError(
            "partial_fit needs nodewise='local': nodewise='split' shares the "
            "columns among partitions, so it needs every partition up front (use fit)."
        )
    return True


_NO_PARTITION = object()  # before the first run


def _partitions(source, labels, gather=True):
    """``(label, (X, y, sample_weight))`` per partition, its rows gathered across chunks.

    Partitions are the runs of equal ``partitions`` labels, or the non-empty
    chunks (labelled 0, 1, ...) when the chunks carry none (``labels``, a
    :class:`ChunkLabels`, checks that they all do or none do). A label
    coming back after another partition began raises ``ValueError``.
    ``gather=False`` yields ``(label, None)``: the labels alone, checked.
    """
    finished, current, pieces = set(), _NO_PARTITION, []
    for label, rows in _chunk_runs(source, labels):
        if label != current:
            if label in finished:
                raise ValueError(
                    f"The rows of partition {label!r} are not contiguous in the files "
                    "or chunks: sort the rows by the partition label, or give each "
                    "partition its own file."
                )
            if current is not _NO_PARTITION:
                yield current, _concatenate(pieces) if gather else None
                finished.add(current)
            current, pieces = label, []
        if gather:
            pieces.append(rows)
    if current is not _NO_PARTITION:
        yield current, _concatenate(pieces) if gather else None


def _chunk_runs(source, labels):
    """Every run of equal partition labels of every non-empty chunk, in order."""
    position = 0
    for chunk in source:
        labels.check(chunk)
        if chunk.n_rows:
            yield from _runs(chunk, position)
            position += 1


def _runs(chunk, position):
    """``(label, (X, y, sample_weight))`` for each run of equal partition labels."""
    labels = chunk.label("partitions")
    if labels is None:
        yield position, (chunk.X, chunk.y, chunk.sample_weight)
        return
    labels = np.asarray(labels)
    edges = [0, *(np.flatnonzero(labels[1:] != labels[:-1]) + 1), len(labels)]
    for start, stop in itertools.pairwise(edges):
        rows = slice(start, stop)
        weight = None if chunk.sample_weight is None else chunk.sample_weight[rows]
        label = labels[start]
        yield label.item() if isinstance(label, np.generic) else label, (
            _take(chunk.X, rows), _take(chunk.y, rows), weight)


def _share_columns(n_features, share):
    """Nodewise columns of a partition: its block when ``share`` is ``(index,
    n_partitions)`` (``nodewise="split"``), else all of them."""
    if share is None:
        return np.arange(n_features)
    index, n_partitions = share
    return split_columns(n_features, n_partitions, index)


def _take(data, rows):
    return data.iloc[rows] if hasattr(data, "iloc") else data[rows]


def _concatenate(pieces):
    """One partition's ``(X, y, sample_weight)`` from its pieces (DataFrames stay DataFrames)."""
    if len(pieces) == 1:
        return pieces[0]
    Xs, ys, weights = zip(*pieces)
    if all(isinstance(X, pd.DataFrame) for X in Xs):
        X = pd.concat(Xs, ignore_index=True)
    else:
        X = np.concatenate([np.asarray(X) for X in Xs])
    y = np.concatenate([np.asarray(v) for v in ys])
    weight = None
    if any(w is not None for w in weights):
        weight = np.concatenate([
            np.ones(len(v)) if w is None else np.asarray(w, dtype=np.float64)
            for v, w in zip(ys, weights)
        ])
    return X, y, weight


class _BaseDebiasedDistributed(BaseEstimator):
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

    def __init__(
        self,
        *,
        method="debiased",
        nodewise="local",
        alpha=None,
        nodewise_alpha=None,
        threshold="auto",
        fit_intercept=True,
        n_partitions=1,
        tol=1e-10,
        max_iter=10000,
        n_jobs=None,
    ):
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

    # -- data ----------------------------------------------------------------
    def _validate(self, X, y, sample_weight, first):
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64, y_numeric=False)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        return X, y, w

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

    def _partition_rows(self, partitions, n_samples):
        """``[(label, row indices)]`` in sorted label order."""
        if partitions is None:
            count = max(1, min(self.n_partitions, n_samples // MIN_ROWS_PER_SPLIT))
            return list(enumerate(np.array_split(np.arange(n_samples), count)))
        partitions = np.asarray(partitions)
        if partitions.shape != (n_samples,):
            raise ValueError(
                f"partitions has shape {partitions.shape}; expected ({n_samples},)."
            )
        labels, inverse = np.unique(partitions, return_inverse=True)
        return [(lab, np.flatnonzero(inverse == i)) for i, lab in enumerate(labels.tolist())]

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

    # -- fitting -------------------------------------------------------------
    def _reset(self):
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)

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
            Frequency weights.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, partitions, sample_weight)

    def _fit(self, X, y, partitions, sample_weight, classes=None):
        self._reset()
        X, y, w = self._validate(X, y, sample_weight, first=True)
        y = self._encode_target(y, first=True, classes=classes)
        settings = self._settings(X.shape[1])
        blocks = self._partition_rows(partitions, X.shape[0])
        p = X.shape[1]
        split = self.nodewise == "split"
        tasks = [
            self._task(X[rows], y[rows], w[rows], label, settings,
                       _share_columns(p, (index, len(blocks)) if split else None))
            for index, (label, rows) in enumerate(blocks)
        ]
        self._set_fitted(map_partitions(tasks, self.n_jobs), settings)
        return self

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first = not hasattr(self, "partition_results_")
        with rollback_on_error(self):
            previous = [] if first else self.partition_results_
            task = self._rows_task(X, y, sample_weight, len(previous), first, classes)
            self._set_fitted(previous + [fit_partition(**task)], task["settings"])
        return self

    def _rows_task(self, X, y, sample_weight, label, first, classes, share=None):
        """Validate one partition's rows: its :func:`fit_partition` task.

        ``share`` is ``(index, n_partitions)`` for ``nodewise="split"``: the
        partition's block of nodewise columns; None: all columns.
        """
        X, y, w = self._validate(X, y, sample_weight, first=first)
        y = self._encode_target(y, first=first, classes=classes)
        p = X.shape[1]
        return self._task(X, y, w, label, self._settings(p), _share_columns(p, share))

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
            ``(X, y)``, ``(X, y, sample_weight)`` or ``(X, y, sample_weight,
            {"partitions": labels})`` tuples, a callable returning a fresh
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
        >>> chunks = [(X[i:i + 300], y[i:i + 300], None, {"partitions": site[i:i + 300]})
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
        source = iter_chunks(chunks)
        split = self.method == "debiased" and self.nodewise == "split"
        order = self._first_pass(source, split)
        with rollback_on_error(self):
            self._reset()
            results, batch = [], []
            size = effective_n_jobs(self.n_jobs)
            for label, (X, y, w) in _partitions(source, ChunkLabels(self, ("partitions",))):
                if order is not None and label not in order:
                    raise ValueError(
                        f"Partition {label!r} was not in the first pass over the chunk "
                        "source: it must give the same rows on every pass."
                    )
                share = (order[label], len(order)) if split else None
                first = not results and not batch
                batch.append(self._rows_task(X, y, w, label, first, classes, share))
                if len(batch) == size:
                    results += map_partitions(batch, self.n_jobs)
                    batch = []
            results += map_partitions(batch, self.n_jobs)
            if not results:
                raise ValueError("The chunk source produced no rows.")
            if order is not None and len(results) != len(order):
                raise ValueError(
                    "The chunk source gave fewer partitions than on its first pass: it "
                    "must give the same rows on every pass."
                )
            results.sort(key=lambda result: result.label)  # as fit: sorted label order
            self._set_fitted(results, self._settings(self.n_features_in_))
        return self

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
        labels = ChunkLabels(self, ("partitions",))
        found = sorted(label for label, _ in _partitions(source, labels, gather=False))
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
        if not results:
            raise ValueError("fit_results needs at least one PartitionResult.")
        p = len(results[0].coef)
        if any(len(r.coef) != p for r in results):
            raise ValueError(
                f"PartitionResults have different feature counts: "
                f"{sorted({len(r.coef) for r in results})}."
            )
        if self.method == "debiased":
            if self.nodewise == "local":
                missing = [r.label for r in results if r.debiased_coef is None]
                what = 'nodewise="local" debiased estimates'
            else:
                missing = [r.label for r in results if r.score_outer is None]
                what = 'nodewise="split" shares'
            if missing:
                raise ValueError(
                    f"PartitionResults {missing} are not {what}: compute them with an "
                    "estimator of the same method and nodewise."
                )
            if self.nodewise == "split":
                covered = np.sort(np.concatenate([r.nodewise.columns for r in results]))
                if not np.array_equal(covered, np.arange(p)):
                    raise ValueError(
                        "The sites' nodewise columns do not cover every column exactly "
                        "once: give each site its own index= out of the same n_partitions=."
                    )
        self._reset()
        self.n_features_in_ = p
        self._set_classes(classes)
        self._set_fitted(results, self._settings(p))
        return self

    def _set_classes(self, classes):
        """Hook: the classifier's labels when fitted from results."""

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
        self.threshold_ = threshold
        self.coef_ = coef
        self.intercept_ = fit.intercept - float(fit.center @ (coef - fit.coef))
        self.approx_inv_cov_ = fit.approx_inv_cov
        self.covariance_ = fit.coef_cov
        self.standard_errors_ = se
        self.sigma_ = fit.sigma

    # -- prediction and inference ----------------------------------------------
    def _linear_predictor(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_

    def _check_inference(self):
        check_is_fitted(self, "coef_")
        if self.covariance_ is None:
            raise ValueError(
                f"Standard errors exist for method='debiased' only (method={self.method!r})."
            )

    def conf_int(self, level=0.95):
        """Wald confidence intervals of ``debiased_coef_``, shape (n_features, 2)."""
        self._check_inference()
        z = distributions.norm.ppf(0.5 + level / 2)
        return np.column_stack(
            [self.debiased_coef_ - z * self.standard_errors_,
             self.debiased_coef_ + z * self.standard_errors_]
        )

    def summary_frame(self, level=0.95):
        """The coefficient table (debiased, before thresholding) as a DataFrame."""
        self._check_inference()
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        low, high = self.conf_int(level).T
        with np.errstate(divide="ignore", invalid="ignore"):
            zvalues = self.debiased_coef_ / self.standard_errors_
        tail = (1 - level) / 2
        return pd.DataFrame(
            {
                "coef": self.debiased_coef_,
                "std err": self.standard_errors_,
                "z": zvalues,
                "P>|z|": 2 * distributions.norm.sf(np.abs(zvalues)),
                f"[{tail:g}": low,
                f"{1 - tail:g}]": high,
                "thresholded": self.coef_,
            },
            index=pd.Index([str(n) for n in names]),
        )

    def summary(self, level=0.95):
        """Text table: the fit, then the coefficients with standard errors."""
        frame = self.summary_frame(level)
        n_obs = sum(r.weight for r in self.partition_results_)
        width = 78
        header = [
            ("Family:", self._family()),
            ("Method:", f"{self.method} (nodewise={self.nodewise})"),
            ("Partitions:", f"{self.n_partitions_}"),
            ("No. Observations:", f"{n_obs:g}"),
            ("Intercept:", f"{self.intercept_:.4g}" if self.fit_intercept else "none"),
            ("Noise level (sigma):", f"{self.sigma_:.4g}"),
        ]
        lines = ["Debiased Distributed Lasso Results".center(width), "=" * width]
        lines += [f"{k:<22}{v:>30}" for k, v in header]
        lines.append("=" * width)
        lines.append(frame.to_string(float_format=lambda v: f"{v:.4g}"))
        lines.append("=" * width)
        lines.append(
            "Standard errors: sandwich Theta S Theta' / N of the debiased "
            "coefficients (before thresholding); normal reference distribution."
        )
        return "\n".join(lines)


class DebiasedDistributedLasso(RegressorMixin, _BaseDebiasedDistributed):
    r"""One-shot debiased lasso over data partitions (gaussian or poisson GLM).

    Each partition k (a machine, a file, a site) solves

    .. math::

        \hat b_k = \arg\min_{b_0, b}\ \frac{1}{W_k} \sum_{i \in k} w_i\,
        \ell(y_i, b_0 + x_i^\top b) + \sum_j \alpha_j |b_j|

    and debiases it with an approximate inverse Hessian
    :math:`\hat\Theta` from nodewise lassos,
    :math:`\hat d_k = \hat b_k - \hat\Theta \nabla L_k(\hat b_k)`;
    the partitions are averaged with weights :math:`W_k / W` and the result
    hard-thresholded (Lee, Liu, Sun & Taylor, 2017). The loss is
    :math:`\ell = (y - \eta)^2/2` (gaussian) or :math:`e^\eta - y\eta`
    (poisson, log link).

    Read more in the :ref:`User Guide <debiased_lasso>`.

    Parameters
    ----------
    family : {"gaussian", "poisson"}, default="gaussian"
        Distribution of y (identity or log link).
    {common}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    DebiasedDistributedLogisticRegression : The binomial (logit) sibling.
    sklearn.linear_model.Lasso : The full-data lasso.

    Notes
    -----
    Partitions are weighted by their total sample weight ``W_k``: with equal
    sizes this is the plain average of Lee et al. and statsmodels'
    ``DistributedModel``; with ``alpha=0`` the result is the size-weighted
    mean of the local least-squares fits. The gradient is that of the mean
    loss with unit scale (statsmodels divides it by each partition's
    residual variance, which leaves bias unless sigma is 1), and nothing
    depends on the order partitions arrive in.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import DebiasedDistributedLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 20))
    >>> y = 2 * X[:, 0] - X[:, 1] + rng.standard_normal(2000)
    >>> est = DebiasedDistributedLasso().fit(X, y, partitions=np.arange(2000) % 4)
    >>> np.flatnonzero(est.coef_).tolist()
    [0, 1]
    >>> np.round(est.coef_[:2], 1).tolist()
    [2.0, -1.0]
    >>> est.conf_int().shape
    (20, 2)
    """

    _parameter_constraints: dict = {
        **_BaseDebiasedDistributed._parameter_constraints,
        "family": [StrOptions({"gaussian", "poisson"})],
    }

    def __init__(
        self,
        *,
        family="gaussian",
        method="debiased",
        nodewise="local",
        alpha=None,
        nodewise_alpha=None,
        threshold="auto",
        fit_intercept=True,
        n_partitions=1,
        tol=1e-10,
        max_iter=10000,
        n_jobs=None,
    ):
        super().__init__(
            method=method, nodewise=nodewise, alpha=alpha, nodewise_alpha=nodewise_alpha,
            threshold=threshold, fit_intercept=fit_intercept, n_partitions=n_partitions,
            tol=tol, max_iter=max_iter, n_jobs=n_jobs,
        )
        self.family = family

    def _family(self):
        return self.family

    def _encode_target(self, y, first, classes=None):
        y = np.asarray(y, dtype=np.float64)
        if self.family == "poisson" and np.any(y < 0):
            raise ValueError("family='poisson' needs non-negative y.")
        return y

    def _check_partition(self, y, w, label):
        if self.family == "poisson" and not np.any(w[y > 0] > 0):
            raise ValueError(
                f"Partition {label!r} has only zero counts; a local poisson fit "
                "has no finite intercept there."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.family == "poisson"
        return tags

    @available_if(_streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Add one partition (the chunk) and update the estimate.

        Available with ``nodewise="local"`` or a naive method. A chunk that
        fails leaves the estimator as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Mean response: ``X coef_ + intercept_`` (gaussian) or its exp (poisson)."""
        eta = self._linear_predictor(X)
        return np.exp(eta) if self.family == "poisson" else eta


class DebiasedDistributedLogisticRegression(ClassifierMixin, _BaseDebiasedDistributed):
    r"""One-shot debiased l1-penalized logistic regression over data partitions.

    The binomial (logit) member of :class:`DebiasedDistributedLasso`: each
    partition solves

    .. math::

        \hat b_k = \arg\min_{b_0, b}\ \frac{1}{W_k} \sum_{i \in k} w_i
        \left[\log(1 + e^{\eta_i}) - y_i \eta_i\right] + \sum_j \alpha_j |b_j|,
        \quad \eta_i = b_0 + x_i^\top b,

    is debiased with nodewise lassos on the Hessian-weighted design
    :math:`\sqrt{\mu_i(1-\mu_i)}\, x_i`, and the partitions are averaged
    with weights :math:`W_k / W`, then hard-thresholded.

    Read more in the :ref:`User Guide <debiased_lasso>`.

    Parameters
    ----------
    {common}

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; the second is coded 1.
    {attributes}

    See Also
    --------
    DebiasedDistributedLasso : Gaussian and poisson regression.
    sklearn.linear_model.LogisticRegression : The full-data fit.

    Notes
    -----
    Binary targets only. Every partition must contain both classes (a local
    logistic fit on one class has no finite intercept).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import DebiasedDistributedLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4000, 10))
    >>> y = rng.random(4000) < 1 / (1 + np.exp(-(1.5 * X[:, 0] - X[:, 1])))
    >>> clf = DebiasedDistributedLogisticRegression(n_partitions=4).fit(X, y)
    >>> clf.classes_.tolist()
    [False, True]
    >>> np.flatnonzero(clf.coef_).tolist()
    [0, 1]
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def _family(self):
        return "binomial"

    def _encode_target(self, y, first, classes=None):
        if first:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.size != 2:
                raise ValueError(
                    "Only binary classification is supported. "
                    f"{type(self).__name__} needs exactly 2 classes; got {labels.size} "
                    f"class(es): {labels.tolist()}."
                )
            self.classes_ = labels
        unknown = ~np.isin(y, self.classes_)
        if np.any(unknown):
            raise ValueError(
                f"y has labels {np.unique(np.asarray(y)[unknown]).tolist()} not in "
                f"classes_ {self.classes_.tolist()}."
            )
        return (np.asarray(y) == self.classes_[1]).astype(np.float64)

    def _set_classes(self, classes):
        if classes is None:
            raise ValueError("fit_results needs classes= (the two labels) for a classifier.")
        self._encode_target(np.asarray(classes), first=True, classes=classes)

    def _check_partition(self, y, w, label):
        if not (np.any(w[y == 1] > 0) and np.any(w[y == 0] > 0)):
            raise ValueError(
                f"Partition {label!r} contains a single class (counting rows of "
                "positive weight); every partition needs both classes."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _validate(self, X, y, sample_weight, first):
        X, y, w = super()._validate(X, y, sample_weight, first)
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y)
        return X, y, w

    @available_if(_streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Add one partition (the chunk) and update the estimate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (2,), default=None
            Both class labels; needed on the first call unless the first chunk
            holds both.

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight, classes=classes)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks, classes=None):
        """Fit from a chunk source, one partition in memory at a time.

        As :meth:`DebiasedDistributedLasso.fit_chunks`: ``partitions``
        labels, contiguous in the source, or each chunk a partition.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
        classes : array-like of shape (2,), default=None
            Both class labels; without them, those of the first partition
            (every partition must hold both).

        Returns
        -------
        self : object

        Examples
        --------
        >>> import numpy as np
        >>> from skbigreg.linear_model import DebiasedDistributedLogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((4000, 10))
        >>> y = rng.random(4000) < 1 / (1 + np.exp(-(1.5 * X[:, 0] - X[:, 1])))
        >>> chunks = [(X[i:i + 1000], y[i:i + 1000]) for i in range(0, 4000, 1000)]
        >>> clf = DebiasedDistributedLogisticRegression().fit_chunks(chunks)
        >>> clf.n_partitions_, np.flatnonzero(clf.coef_).tolist()
        (4, [0, 1])
        """
        return self._fit_chunks(chunks, classes)

    def decision_function(self, X):
        """Log-odds of ``classes_[1]``."""
        return self._linear_predictor(X)

    def predict_proba(self, X):
        """Probabilities of ``classes_``, shape (n_samples, 2)."""
        prob = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - prob, prob])

    def predict(self, X):
        """The more probable class."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]


for _cls in (DebiasedDistributedLasso, DebiasedDistributedLogisticRegression):
    _cls.__doc__ = _cls.__doc__.replace("    {common}", _COMMON_DOC.strip("\n")).replace(
        "    {attributes}", _COMMON_ATTRIBUTES.strip("\n")
    )
