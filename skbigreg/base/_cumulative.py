"""What every estimator solved from merged statistics shares.

One path for a chunk, whichever way it arrives (``fit``, ``partial_fit``,
``fit_chunks``, a worker): its row labels are checked against the labels the
estimator reads and against the earlier chunks (:func:`check_labels`), its
rows validated (:func:`validate_chunk`), and it is mapped to
:class:`~skbigreg.stats.ChunkStatistics`, which merge with ``+``. Every
update is all or nothing (:func:`rollback_on_error`); the model is solved
once the statistics are merged.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted

from .._compat import _fit_context, _num_samples, validate_data
from ..exceptions import MissingPassError
from ..parallel import single_blas_thread, spark_map_reduce
from ..io import check_cluster_columns, check_labels, cluster_columns, refuse_unread
from ..stats import (ChunkStatistics, accumulator_for, cluster_statistics, decode_statistics,
                     encode_statistics, label_kind)
from ._design import design_rows, partitionwise, raw_labels
from ._rows import SPARSE_FORMATS, check_weight_sum, log_weight_sum, rows_differ, target_name, validate_chunk
from ._source import fit_source
from ._state import PRIVATE_STATE, reset, rollback_on_error
from ._worker_maps import estimator_scores, estimator_statistics


# Fitted attributes set by merging chunks (validation, statistics, second
# pass), never by the solve: reading one that is absent does not solve.
_STATISTICS_NAMES = (
    "stats_", "cluster_stats_", "n_samples_seen_", "n_features_in_", "feature_names_in_",
    "log_weight_sum_", "target_name_", "score_pass_", "cluster_score_sums_",
)


class CumulativeMixin:
    """Statistics accumulation shared by the cumulative estimators.

    Subclasses define ``_solve()`` (statistics -> ``coef_``, ``intercept_``)
    and declare:

    - ``_label_names``: the row labels ``partial_fit`` and ``fit_chunks``
      read (``"clusters"``, ``"partitions"``, ``"groups"``, ``"entities"``,
      ``"periods"``);
      a chunk carrying any other label is refused;
    - ``_single_target``: whether ``y`` must be one column (given 2-D, it
      is flattened with scikit-learn's ``DataConversionWarning``);
    - ``_extra_attribute``: the fitted attribute holding the statistics the
      estimator keeps per label besides the totals (per fold, per level,
      per partition), returned by its ``_map_chunk``; None if none
      (``_extra_required = False``: kept only when the chunks carry
      ``_extra_label``, and ``_map_chunk`` returns None without it).

    Estimators with a second pass (scores at the final coefficients, for
    HC and some cluster-robust errors) define ``_needs_second_pass()`` and
    ``partial_fit_scores``, which ``fit`` and ``fit_chunks`` call on every
    chunk again with the labels named in ``_score_label_names``.
    """

    _label_names = ()
    _multiway_clusters = False  # whether 2-D clusters (multi-way clustering) are read
    _extra_label = None  # the label keying _extra_attribute's statistics, if any
    _score_label_names = ()
    _single_target = False
    _extra_attribute = None
    _extra_required = True  # False: the label-keyed statistics exist only when labelled

    # -- state ----------------------------------------------------------------
    def _is_first_call(self):
        return not hasattr(self, "stats_")

    def _reset(self):
        reset(self)

    def _check_fitted(self):
        check_is_fitted(self, "stats_")

    def _required_labels(self):
        """Labels every chunk must carry (clusters for cluster-robust errors, periods
        for Driscoll-Kraay)."""
        needs = {"cluster": ("clusters",), "driscoll-kraay": ("periods",)}
        return needs.get(getattr(self, "cov_type", None), ())

    # -- one chunk -------------------------------------------------------------
    def _check_labels(self, labels, n_rows, first):
        """Check a chunk's labels (see :func:`check_labels`) and remember their kinds.

        2-D ``clusters`` (multi-way, where the estimator reads them) are
        checked column by column; every column keeps its kind and the number
        of columns stays from chunk to chunk. Checked multi-way clusters are
        a tuple of 1-D label arrays.
        """
        owner = type(self).__name__
        refuse_unread(owner, labels, self._label_names)
        columns = cluster_columns(labels.get("clusters"))
        self._check_cluster_ways(owner, columns, labels.get("clusters"), first)
        if columns is not None:  # the first column stands for the label in the kinds
            labels = {**labels, "clusters": columns[0][1]}
        checked = self._check_row_labels(owner, labels, n_rows, first)
        if columns is not None:
            known = None if first else self._cluster_kinds_
            checked["clusters"], self._cluster_kinds_ = check_cluster_columns(
                columns, n_rows, known)
        return checked

    def _check_cluster_ways(self, owner, columns, clusters, first):
        """Refuse 2-D clusters where they are not read, or a changed number of columns."""
        ways = 0 if clusters is None else (1 if columns is None else len(columns))
        if columns is not None and not self._multiway_clusters:
            raise ValueError(
                f"{owner} takes one cluster label per row; clusters has {ways} columns "
                "(multi-way clustering is offered by CumulativeLinearRegression, "
                "CumulativeIVRegression and CumulativeFixedEffectsRegression)."
            )
        before = getattr(self, "_cluster_ways_", 0)
        if not first and ways and before and ways != before:
            raise ValueError(
                f"clusters has {ways} column(s) in this chunk and had {before} in the "
                "earlier ones; give the same cluster columns with every chunk."
            )
        if first:
            self._cluster_ways_ = ways

    def _check_row_labels(self, owner, labels, n_rows, first):
        given = {name: labels.get(name) for name in self._label_names}
        if first:
            missing = [name for name in self._required_labels() if given[name] is None]
            if missing:
                raise ValueError(
                    f"{owner} with cov_type={getattr(self, 'cov_type', None)!r} needs "
                    f"{missing[0]} labels with every chunk: fit(..., {missing[0]}=labels)."
                )
        checked, self._label_kinds = check_labels(
            owner, given, n_rows, None if first else self._label_kinds
        )
        return checked

    def _chunk_part(self, X, y, sample_weight, labels, reset):
        """Validate one chunk's rows and map them to :class:`ChunkStatistics` (no solve).

        ``labels`` are checked labels by name. Returns the statistics and
        whether ``y`` was 1-D.
        """
        if reset:
            self.target_name_ = target_name(y)  # y's name, for the summaries
        if self._single_target:
            y = column_or_1d(y, warn=True)
        X, y, sample_weight, y_1d = validate_chunk(self, X, y, sample_weight, reset)
        stats, extra = self._map_chunk(X, y, sample_weight, labels)
        clusters = labels.get("clusters")
        if clusters is not None:
            clusters = cluster_statistics(X, y, clusters, sample_weight)
        return ChunkStatistics(stats, clusters, extra, log_weight_sum(sample_weight)), y_1d

    def _map_chunk(self, X, y, sample_weight, labels):
        """Hook: the chunk's statistics and any extra (label-keyed) statistics."""
        return accumulator_for(self.solver).from_arrays(X, y, sample_weight), None

    def _fit(self, X, y, sample_weight=None, **labels):
        """``fit``: reset, one chunk, and the second pass when the errors need it.

        All or nothing: a failure leaves the previous fit in place.
        """
        with rollback_on_error(self):
            self._reset()
            self._accumulate(X, y, sample_weight, **labels)
            self._solve_merged()  # now, so a singular design warns in fit
            if self._needs_second_pass():
                self.partial_fit_scores(X, y, sample_weight, **{
                    name: labels.get(name) for name in self._score_label_names})
        return self

    def _accumulate(self, X, y, sample_weight=None, **labels):
        """Validate a chunk and merge its statistics; all or nothing.

        The solve is deferred (see :meth:`_defer_solve`): a loop of
        ``partial_fit`` calls costs one solve, when the fit is read. An
        empty chunk after the first is checked (feature count and names)
        and adds nothing.
        """
        with rollback_on_error(self):
            first = self._is_first_call()
            n_rows = _num_samples(X)
            checked = self._check_labels(labels, n_rows, first)
            if n_rows == 0 and not first:
                validate_chunk(self, X, y, sample_weight, reset=False)
                return self
            # One BLAS thread, as fit_chunks maps: on a chunk the map's products
            # are cache-sized, and a second thread only contends for the core.
            with single_blas_thread():
                part, y_1d = self._chunk_part(X, y, sample_weight, checked, reset=first)
            self._add(part, y_1d if first else self._y_1d)
            self._defer_solve()
        return self

    def _add(self, part, y_1d):
        """Merge ``part`` into the fitted statistics (the first part becomes them)."""
        if self._is_first_call():
            self._y_1d = y_1d
            self.log_weight_sum_ = part.log_weight_sum
            self.stats_ = part.stats
            if part.clusters is not None:
                self.cluster_stats_ = part.clusters
            if self._extra_attribute is not None and part.extra is not None:
                setattr(self, self._extra_attribute, part.extra)
        else:
            known = self.log_weight_sum_ is not None and part.log_weight_sum is not None
            self.log_weight_sum_ = self.log_weight_sum_ + part.log_weight_sum if known else None
            self.stats_ = self.stats_ + part.stats
            if part.clusters is not None:
                self.cluster_stats_ = self.cluster_stats_ + part.clusters
            if self._extra_attribute is not None and part.extra is not None:
                name = self._extra_attribute
                setattr(self, name, getattr(self, name) + part.extra)
        self.n_samples_seen_ = self.stats_.n_rows
        self._after_update()

    # -- the solve, deferred until the fit is read ---------------------------------
    def _solve_merged(self):
        """Solve the merged statistics now, recording which attributes the solve sets."""
        check_weight_sum(self.stats_)
        self._forget_solution()
        before = set(vars(self))
        with single_blas_thread():
            self._solve()
        self._solution_names = tuple(sorted(set(vars(self)) - before))

    def _defer_solve(self):
        """The statistics changed: drop the solution; the next read of it solves.

        The weights are checked now (a chunk that leaves no positive weight
        is refused by the call that gave it); the attributes the last solve
        set are removed, so reading any of them (``coef_``, ``alpha_``,
        ``results()`` ...) goes through :meth:`__getattr__`, which solves the
        merged statistics once. A stale solution is never read.
        """
        check_weight_sum(self.stats_)
        self._forget_solution()
        self._unsolved = True

    def _statistics_names(self):
        """Fitted attributes the chunks set, not the solve (some are optional)."""
        return _STATISTICS_NAMES + (self._extra_attribute,)

    def _forget_solution(self):
        for name in vars(self).pop("_solution_names", ()):
            vars(self).pop(name, None)
        vars(self).pop("_unsolved", None)

    def __getattr__(self, name):
        # Called only for an attribute that is not there: after partial_fit
        # the solution is, until something reads it (a fitted attribute, or
        # the private solution results() reads; other probes, such as
        # scikit-learn's for its own private names, do not solve).
        solved = (name.endswith("_") and not name.startswith("_")) or name in PRIVATE_STATE
        if solved and name not in self._statistics_names() and vars(self).get("_unsolved"):
            self._solve_merged()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _after_update(self):
        """Hook: invalidate anything that depended on the previous statistics."""
        for name in ("score_pass_", "cluster_score_sums_"):
            vars(self).pop(name, None)

    # -- a chunk source ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks, n_jobs=None):
        """Fit from a chunk source: merge every chunk's statistics, solve once.

        The result equals ``fit`` on all rows. Every chunk is validated as by
        ``partial_fit`` (rows, and labels against the first chunk's); empty
        chunks add nothing. Solving once, at the end, spares per-chunk solves
        and their false rank-deficiency warnings (a level not seen yet).
        Estimators whose errors need a second pass (HC types, some
        cluster-robust errors) make it over the source at the final
        coefficients, so the source must be re-iterable then. A fit that
        fails leaves the estimator exactly as it was before the call.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads: a list of
            ``(X, y)`` tuples or of dicts (``{"X": X, "y": y,
            "sample_weight": w, "clusters": labels, ...}``), a callable
            returning a fresh iterator of them, or a file source from
            :func:`skbigreg.io.read_files`. A Spark source
            (:func:`skbigreg.io.read_spark`) is mapped on its executors:
            only statistics reach this process.
        n_jobs : int, optional
            Map chunks to statistics with joblib workers where the estimator
            supports it (``None``: in this process, with bounded memory).

        Returns
        -------
        self
        """
        return fit_source(self, chunks, lambda source: self._fit_passes(source, n_jobs))

    def _fit_passes(self, source, n_jobs):
        """Map and merge every chunk, solve once; then the second pass if needed."""
        merged, y_1d = self._merge_source(source, n_jobs)
        self._add(merged, y_1d)
        self._solve_merged()
        if self._needs_second_pass():
            for chunk in source:
                self.partial_fit_scores(chunk.X, chunk.y, chunk.sample_weight,
                                        **self._labels_of(chunk))

    def _fit_spark(self, source):
        """Fit a Spark source: the estimator's own map run on the executors.

        Each partition is mapped by :func:`estimator_statistics` (this
        estimator's chunk map, shipped with its parameters) and only the
        statistics, encoded as plain arrays, reach the driver; a second pass
        ships the fitted estimator and maps :func:`estimator_scores`.
        """
        codec = {"encode": encode_statistics, "decode": decode_statistics}
        refuse_unread(type(self).__name__, source.labels, self._label_names)
        merged = spark_map_reduce(estimator_statistics, source, estimator=clone(self), **codec)
        self._set_statistics(merged, True, source.feature_names)
        self.target_name_ = source.target
        if self._needs_second_pass():
            labels = tuple(name for name in self._score_label_names if name in source.labels)
            self.score_pass_ = spark_map_reduce(estimator_scores, source, labels=labels,
                                                estimator=self, **codec)

    def _labels_of(self, chunk):
        return {name: chunk.label(name) for name in self._score_label_names}

    def _merge_source(self, source, n_jobs):
        """Every chunk of ``source`` mapped and merged, unsolved; and y's dimension."""
        merged, y_1d, empty = None, None, []
        for chunk in source:
            first = merged is None
            if first and chunk.n_rows == 0:
                empty.append(chunk)  # checked once the first rows fix the features
                continue
            checked = self._check_labels(chunk.labels, chunk.n_rows, first)
            if chunk.n_rows == 0:
                validate_chunk(self, chunk.X, chunk.y, chunk.sample_weight, reset=False)
                continue
            part, one_d = self._chunk_part(chunk.X, chunk.y, chunk.sample_weight,
                                           checked, reset=first)
            merged, y_1d = (part, one_d) if first else (merged + part, y_1d)
        if merged is None:
            raise ValueError("The chunk source produced no rows.")
        for chunk in empty:
            validate_chunk(self, chunk.X, chunk.y, chunk.sample_weight, reset=False)
        return merged, y_1d

    def _needs_second_pass(self, cov_type=None):
        """Hook: whether ``cov_type``'s errors need a pass of scores."""
        return False

    def _checked_score_pass(self):
        """The second pass (``score_pass_``), once it is proven to have seen the fit's rows.

        The pass gathers its rows' own statistics; they must equal the fit's
        (counts exactly; weights, means and co-moments to 1e-10 of their
        scale), so feeding a chunk twice and another not at all is caught.
        """
        seen = getattr(self, "score_pass_", None)
        if seen is None:
            raise MissingPassError(
                "These standard errors need a second pass over the data at the final "
                f"coefficients: it has seen 0 of {self.stats_.n_rows} rows. Call "
                "partial_fit_scores on every chunk again (fit and fit_chunks make it "
                "themselves)."
            )
        problem = rows_differ(self.stats_, seen.stats)
        if problem:
            raise MissingPassError(
                f"The second pass did not see the rows of the fit ({problem}): call "
                "partial_fit_scores once on every chunk given to fit/partial_fit, "
                "after the last partial_fit."
            )
        return seen

    # -- prediction --------------------------------------------------------------
    @partitionwise
    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The design; or, for a model fitted from a formula, a frame of
            raw rows (made into the design by its ``design_spec_``).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        self._check_fitted()
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=SPARSE_FORMATS)
        return X @ np.asarray(self.coef_).T + self.intercept_

    def _structured_score(self, X, y, sample_weight, name, labels):
        """R² of ``predict(X, name=labels)``: each row scored with its level's model.

        A model fitted with ``name`` labels is not scored without them (the
        pooled prediction would rank it by another model's fit).
        """
        self._check_fitted()
        if labels is None:  # raw rows of a formula fit carry their labels
            labels = raw_labels(getattr(self, "design_spec_", None), X, name)
        if labels is None and self._label_kinds.get(name) is not None:
            raise ValueError(
                f"This model was fitted with {name}: score(X, y, {name}=...) scores "
                f"each row with its own level's model (in cross-validation, route "
                f"them with set_score_request({name}=True))."
            )
        return r2_score(y, self.predict(X, **{name: labels}), sample_weight=sample_weight)

    def _set_coef(self, coef, intercept):
        """Store ``coef`` (K, T) and ``intercept`` (T,) in scikit-learn's shapes."""
        coef = coef.T
        if self._y_1d:
            coef, intercept = coef[0], float(intercept[0])
        self.coef_ = coef
        self.intercept_ = intercept

    def __sklearn_tags__(self):
        # Every least-squares map reads scipy.sparse chunks (see validate_chunk).
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- statistics from elsewhere -------------------------------------------------
    def merge(self, other):
        """A new fitted estimator on the union of both estimators' rows.

        Both must have the same parameters, features and row labels; the
        result is identical (to rounding) to fitting on all rows at once.
        Label-keyed statistics (per cluster, per fold, per level, per
        partition) are merged with the totals.
        """
        self._check_fitted()
        other._check_fitted()
        if type(self) is not type(other) or self.get_params() != other.get_params():
            raise ValueError("Cannot merge estimators with different parameters (or types).")
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
        kinds = [getattr(est, "_label_kinds", {}) for est in (self, other)]
        if kinds[0] != kinds[1]:
            raise ValueError(
                f"Cannot merge fits with different row labels: {kinds[0]} and {kinds[1]}."
            )
        ways = [_cluster_dimensions(est) for est in (self, other)]
        if ways[0] != ways[1] or (ways[0] > 1 and self._cluster_kinds_ != other._cluster_kinds_):
            raise ValueError(
                f"Cannot merge fits with {ways[0]} and {ways[1]} cluster columns "
                "(or columns of different types)."
            )
        merged = type(self)(**self.get_params())
        merged._label_kinds = dict(kinds[0])
        for name in ("_cluster_ways_", "_cluster_kinds_"):  # what later chunks are checked by
            if name in vars(self):
                setattr(merged, name, getattr(self, name))
        merged.target_name_ = getattr(self, "target_name_", "y")
        merged.n_features_in_ = self.n_features_in_
        if names[0] is not None:
            merged.feature_names_in_ = names[0]
        merged._add(self._statistics(), self._y_1d)
        merged._add(other._statistics(), self._y_1d)
        merged._solve_merged()
        return merged

    def _statistics(self):
        """The fitted statistics as one :class:`ChunkStatistics`."""
        extra = None if self._extra_attribute is None else getattr(self, self._extra_attribute, None)
        return ChunkStatistics(self.stats_, getattr(self, "cluster_stats_", None), extra,
                               self.log_weight_sum_)

    @classmethod
    def _from_statistics(cls, stats, feature_names, params, clusters=None, extra=None):
        """A fitted estimator of class ``cls`` from statistics gathered elsewhere."""
        if "solver" in cls().get_params():
            params.setdefault("solver", "qr" if hasattr(stats, "r") else "gram")
        estimator = cls(**params)
        estimator._validate_params()
        if cls._extra_attribute is not None and cls._extra_required and extra is None:
            raise ValueError(
                f"{cls.__name__}.from_statistics needs {cls._extra_attribute[:-1]}=: the "
                "statistics it keeps per fold, level or partition, gathered with the totals."
            )
        return estimator._set_statistics(
            ChunkStatistics(stats, clusters, extra), stats.n_targets == 1, feature_names
        )

    def _set_statistics(self, part, y_1d, feature_names):
        """Become the fit of ``part`` (a :class:`ChunkStatistics`) and solve.

        The row labels the statistics were gathered with are read off them,
        so a later ``partial_fit`` must give the same labels.
        """
        self._reset()
        self._label_kinds = {name: None for name in self._label_names}
        if part.clusters is not None and hasattr(part.clusters, "ways"):
            kinds = tuple(label_kind(grouped.labels) for way, grouped in
                          zip(part.clusters.ways, part.clusters.grouped) if len(way) == 1)
            self._label_kinds["clusters"] = kinds[0]
            self._cluster_ways_, self._cluster_kinds_ = len(kinds), kinds
        elif part.clusters is not None:
            self._label_kinds["clusters"] = label_kind(part.clusters.labels)
            self._cluster_ways_ = 1
        if self._extra_label is not None and part.extra is not None:
            self._label_kinds[self._extra_label] = label_kind(part.extra.labels)
        self.n_features_in_ = part.stats.n_features
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self._add(part, y_1d)
        self._solve_merged()
        return self


def _cluster_dimensions(estimator):
    """Cluster columns of a fit: 0 without clusters, 1 one-way, ``D`` multi-way."""
    stats = getattr(estimator, "cluster_stats_", None)
    return 0 if stats is None else getattr(stats, "n_dimensions", 1)
