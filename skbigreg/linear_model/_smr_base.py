"""Shared machinery of the SMR estimators: passes, iterations, partial_fit, inference.

# beta^(t+1) = argmax_beta sum_k n_k loglik(ybar_k; h(x*_k' beta)),  x*_k built at beta^(t)

The row passes are in :mod:`skbigreg.passes`, the representatives and the
iteration in :mod:`skbigreg.solvers._representatives` and
:mod:`skbigreg.solvers._smr`; the class here holds parameters and fitted
state and turns chunks into passes. The public estimators are in
:mod:`skbigreg.linear_model._smr`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, check_random_state

from .._compat import (
    _num_samples,
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from ..inference import RegressionResults
from ..parallel import single_blas_thread
from ..passes import (
    BlockCentres,
    PartitionSpec,
    RepresentativeTask,
    inside_domain,
    memory_tasks,
    partition_labels,
    representative_pass,
    summarise_task,
    with_kept_boxes,
)
from ..solvers._representatives import SIGN_SPLITS
from ..solvers._smr import (
    SMRSettings,
    linearised_root,
    rebuilt_representatives,
    smr_inference,
    smr_iterations,
    solve_on_representatives,
)
from ..base import (
    ChunkLabels,
    check_labels,
    check_weights,
    design_rows,
    fit_source,
    rollback_on_error,
    target_name,
    with_design_spec,
)


@dataclass(frozen=True)
class _Config:
    """Everything a pass needs besides the rows (fixed for a fit)."""

    settings: SMRSettings
    spec: PartitionSpec
    fit_intercept: bool
    n_jobs: object

    def run_pass(self, tasks, beta, information=True, sign_split=None):
        """Merged representatives of ``tasks`` at ``beta`` (None: mean ones)."""
        s = self.settings
        return representative_pass(
            tasks, beta, s.family, s.link, self.spec, self.fit_intercept,
            s.sign_split if sign_split is None else sign_split, self.n_jobs, information,
        )

    def summarise(self, task, beta):
        s = self.settings
        return summarise_task(task, beta, s.family, s.link, self.spec, self.fit_intercept)


def _smr_results(params, cov, names, reps, rank, fit_intercept, model, method, extra,
                 target, scale, link=None):
    """The one results type, built from an SMR fit (model-based z inference); with
    ``link``, predictions are of the mean, through it, as a GLM's."""
    nobs = float(reps.weight.sum())
    return RegressionResults(
        params=params, cov=cov, names=names, cov_type="nonrobust", nobs=nobs,
        df_model=float(rank - fit_intercept), df_resid=nobs - rank, ssr=np.nan, tss=np.nan,
        has_intercept=fit_intercept, use_t=False, df_inference=nobs - rank, target=target,
        model=model, method=method, wald_f=True, fit_statistics=extra, scale=scale, link=link,
        title="Score-Matching Representative GLM Results",
    )


class _BaseSMR(BaseEstimator):
    """Shared machinery: passes, SMR iterations, partial_fit, inference."""

    _parameter_constraints: dict = {
        "method": [StrOptions({"smr", "mr"})],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "init": [StrOptions({"mr"}), "array-like"],
        "sign_split": [StrOptions(set(SIGN_SPLITS))],
        "partition": [StrOptions({"grid", "kmeans", "subset_kmeans", "none"})],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "subset_size": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        method="smr",
        n_iter=3,
        init="mr",
        sign_split="auto",
        partition="grid",
        n_bins=4,
        n_clusters=1000,
        subset_size=100_000,
        fit_intercept=True,
        tol=1e-10,
        max_iter=100,
        n_jobs=None,
        random_state=None,
    ):
        self.method = method
        self.n_iter = n_iter
        self.init = init
        self.sign_split = sign_split
        self.partition = partition
        self.n_bins = n_bins
        self.n_clusters = n_clusters
        self.subset_size = subset_size
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- hooks for subclasses ----------------------------------------------------
    def _family_link(self):
        raise NotImplementedError

    def _encode_y(self, y, first_call):
        """Validated float responses; sets ``classes_`` for classifiers."""
        raise NotImplementedError

    # -- configuration -----------------------------------------------------------
    def _config(self):
        family, link = self._family_link()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        spec = PartitionSpec(self.partition, self.n_bins, self.n_clusters, self.subset_size, seed)
        settings = SMRSettings(family, link, self.sign_split, self.tol, self.max_iter)
        return _Config(settings, spec, self.fit_intercept, self.n_jobs)

    def _init_coef(self, n_params):
        if isinstance(self.init, str):
            return None
        coef = np.asarray(self.init, dtype=float).ravel()
        if coef.shape != (n_params,) or not np.all(np.isfinite(coef)):
            raise ValueError(
                f"init must be 'mr' or {n_params} finite numbers (intercept first when "
                f"fit_intercept=True); got shape {coef.shape}."
            )
        return coef

    def _validate(self, X, y, sample_weight, reset, only_data=True, new_classes=None):
        """Validated rows; a chunk among others (``only_data=False``) may be
        empty or weigh nothing (its rows are then absent from the fit).

        ``new_classes`` (default ``reset``) says whether a classifier reads
        ``classes_`` off this chunk's labels; an empty chunk never does.
        """
        if reset:
            self.target_name_ = target_name(y)  # y's name, for the summaries
        X, y = validate_data(
            self, X, y, reset=reset, dtype=np.float64, y_numeric=not is_classifier(self),
            ensure_min_samples=1 if only_data else 0,
        )
        new_classes = reset if new_classes is None else new_classes
        y = self._encode_y(y, new_classes) if y.size else np.zeros(0)
        weight = check_weights(sample_weight, X)
        weight = np.ones(X.shape[0]) if weight is None else weight
        if only_data and not weight.sum() > 0:
            raise ValueError("Every sample weight is zero: at least one non-zero weight "
                             "is needed.")
        return X, y, weight

    # -- fitting -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, partitions=None):
        """Fit on in-memory rows, cut into blocks within the natural ``partitions``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Frequency weights (an integer weight acts as repeated rows).
        partitions : array-like of shape (n_samples,), optional
            Natural block labels (site, file, month); each is refined by
            ``partition`` on its own rows.

        Returns
        -------
        self
        """
        X, y, weight = self._validate(X, y, sample_weight, reset=True)
        vars(self).pop("chunk_sums_", None)
        with single_blas_thread():  # every BLAS call of a pass is a few ms: see _blas
            self._fit_memory(X, y, weight, partitions)
        return self

    def _fit_memory(self, X, y, weight, partitions):
        config = self._config()
        given, self._label_kinds = check_labels(
            type(self).__name__, {"partitions": partitions}, X.shape[0])
        labels = partition_labels(X, config.spec, weight, given.get("partitions"))
        # the blocks are cut: the tasks can hold the design rows and the
        # blocks' bounding boxes, built once for all passes rather than per pass
        if config.fit_intercept:
            X = np.column_stack([np.ones(X.shape[0]), X])
        hull = self.method == "smr" and config.settings.sign_split in ("hull", "auto")
        tasks = memory_tasks(X, y, weight, labels, config.n_jobs, boxes=hull)
        solution, rules = self._iterate(lambda: tasks, replace(config, fit_intercept=False))
        self._store(solution, rules, config)

    def fit_chunks(self, chunks):
        """Fit from a re-iterable chunk source, one pass per SMR iteration.

        Each chunk is a node: it is cut into blocks on its own rows (within
        its ``partitions`` labels when the chunk carries them), and each pass
        recomputes its blocks' sums at the current coefficients. ``n_iter``
        SMR iterations make ``1 + n_iter`` passes (plus one for the
        dispersion of Gaussian, Gamma and inverse Gaussian families under
        ``method="mr"``). Chunks without rows, or whose weights are all
        zero, add nothing. The call is all-or-nothing: when any chunk fails
        validation (on any pass), the estimator is left exactly as before.

        Parameters
        ----------
        chunks : iterable of chunks or callable
            Anything :func:`skbigreg.io.iter_chunks` reads: a list of
            ``(X, y)`` tuples or dicts ``{"X": X, "y": y, "sample_weight": w,
            "partitions": labels}``, or a callable returning a fresh
            iterator of them. A one-shot generator fails on the second pass.

        Returns
        -------
        self
        """
        self._validate_params()
        keep = ("classes_",) if getattr(self, "_classes_given", False) else ()
        return fit_source(self, chunks, self._fit_passes, keep)

    def _fit_passes(self, source):
        """The MR pass, then one pass per SMR iteration, over ``source``."""
        config = self._config()
        centres = {}  # a chunk's k-means centres, cut on the first pass only
        # and its blocks' bounding boxes, when the sign split reads them
        hull = self.method == "smr" and config.settings.sign_split in ("hull", "auto")
        boxes = {} if hull else None
        with single_blas_thread():
            solution, rules = self._iterate(
                lambda: self._stream_tasks(source, config, centres, boxes), config)
        self._store(solution, rules, config)

    def _stream_tasks(self, source, config, centres, boxes=None):
        """One task per chunk that holds weight; each is validated on every pass.

        Under a k-means partition each chunk is clustered once, on the first
        pass; ``centres`` keeps its centres (``K x d`` numbers per chunk) and
        later passes assign its rows to them, giving the same blocks. A dict
        ``boxes`` keeps each chunk's blocks' bounding boxes the same way.
        """
        spec = config.spec
        index, total = 0, 0.0
        labels = ChunkLabels(self, ("partitions",))
        for chunk in source:
            partitions = labels.check(chunk).get("partitions")
            X, y, weight = self._validate(
                chunk.X, chunk.y, chunk.sample_weight, reset=not hasattr(self, "n_features_in_"),
                only_data=False, new_classes=not hasattr(self, "classes_"),
            )
            if not weight.sum() > 0:
                continue
            total += weight.sum()
            if spec.scheme in ("kmeans", "subset_kmeans") and index not in centres:
                centres[index] = BlockCentres.fit(X, spec, weight, partitions)
            task = RepresentativeTask(X, y, weight, index, partitions=partitions,
                                      centres=centres.get(index))
            if boxes is not None:
                task = with_kept_boxes(task, spec, config.fit_intercept, boxes)
            yield task
            index += 1
        if not total > 0:
            raise ValueError("Every sample weight of the chunks is zero: there is nothing "
                             "to fit (at least one non-zero weight is needed).")
        self._label_kinds = labels.kinds

    def _iterate(self, make_tasks, config):
        """The MR fit, then ``n_iter`` SMR passes from it (or from ``init``).

        ``n_iter=0`` returns the MR fit. The representatives of the result
        carry the row Pearson sum the dispersion needs (one more pass when
        they are mean representatives of a family with a dispersion).
        """
        settings = config.settings
        first = solve_on_representatives(config.run_pass(make_tasks(), None), settings)
        n_iter, start = 0, first.coef
        if self.method == "smr":
            n_iter, given = self.n_iter, self._init_coef(first.coef.size)
            start = first.coef if given is None else given

        def represent(beta, last):
            # the rows' information (for standard errors) from the last pass only
            return config.run_pass(make_tasks(), beta, information=last)

        solution, rules = smr_iterations(represent, first, start, n_iter, settings)
        return self._with_pearson(solution, make_tasks, config), rules

    @staticmethod
    def _with_pearson(solution, make_tasks, config):
        reps = solution.representatives
        if not config.settings.family.has_dispersion or np.isfinite(reps.pearson):
            return solution
        # only the rows' Pearson sum is used
        pearson = config.run_pass(make_tasks(), solution.coef, sign_split="no_root").pearson
        return replace(solution, representatives=replace(reps, pearson=pearson))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, partitions=None):
        """Add one chunk as new blocks and refit on all representatives so far.

        The chunk is cut into blocks (within ``partitions`` when given).
        Under ``method="mr"`` its mean representatives join the earlier
        ones and the GLM is refitted. Under ``"smr"`` the chunk's rows are
        summed ``n_iter`` times (at least once), each time at the current
        estimate: per sign piece of each block, the sums of
        :func:`~skbigreg.passes.block_sums` and the
        expected information ``I = sum w_i nu_i h'_i x_i x_i'``
        (``chunk_sums_``, kept after the rows are gone). Every earlier
        chunk's piece scores are carried to a new ``beta`` to first order,
        ``S(beta) = S(beta_c) - I (beta - beta_c)``; the estimate moves to
        the root of the summed linearised score, every chunk's
        representatives are rebuilt there from its carried sums, and the
        GLM is refitted on them (which returns that root up to rounding).
        On the first call this is Newton's method on the chunk's own rows,
        started at its MR fit (or ``init``): the chunk's MLE. Measured on
        the paper's mzNormal logistic set-up, five chunks of 20,000 rows:
        0.11e-3 RMSE of the slopes from the full-data MLE (MR: 15.4e-3;
        keeping earlier chunks' representatives as built: 22.6e-3). The
        error is second order in how far the estimate moved since a chunk
        was seen. Memory: ``2 K (p^2 + 4p + 8)`` numbers per chunk of
        ``K`` blocks. A chunk that fails validation leaves the estimator
        exactly as it was; after the first call, a chunk without rows of
        positive weight adds nothing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        partitions : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        with rollback_on_error(self), single_blas_thread():
            self._partial_fit(X, y, sample_weight, partitions)
        return self

    def _partial_fit(self, X, y, sample_weight, partitions):
        first_call = not hasattr(self, "coef_")
        # the one label check, against the earlier calls' labels
        labels, self._label_kinds = check_labels(
            type(self).__name__, {"partitions": partitions}, _num_samples(X),
            None if first_call else self._label_kinds)
        X, y, weight = self._validate(X, y, sample_weight, reset=first_call,
                                      only_data=first_call)
        partitions = labels.get("partitions")
        if not weight.sum() > 0:
            return  # rows of zero weight are absent from the fit
        vars(self).pop("sign_splits_", None)  # describes fit / fit_chunks only
        config = self._config()
        settings = config.settings
        source = 0 if first_call else self.n_chunks_seen_
        labels = partition_labels(X, config.spec, weight, partitions)
        task = RepresentativeTask(X, y, weight, source, labels)
        mean_reps = config.run_pass([task], None)
        if first_call:
            start = self._init_coef(mean_reps.X.shape[1])
            coef = solve_on_representatives(mean_reps, settings).coef if start is None else start
        else:
            coef = self._packed_coef()
        if self.method == "mr":
            old = None if first_call else self.representatives_
            reps = mean_reps if old is None else old + mean_reps
            if settings.family.has_dispersion:
                at = solve_on_representatives(reps, settings, coef).coef
                pearson = config.run_pass([task], at, sign_split="no_root").pearson
                mean_reps = replace(mean_reps, pearson=pearson)
                reps = mean_reps if old is None else old + mean_reps
            self._store(solve_on_representatives(reps, settings, coef), None, config, n_iter=0)
            return
        # SMR: the new chunk is summed from its rows at each iterate; every
        # chunk's scores are carried to the root of the linearised score
        # equation, where all representatives are rebuilt and refitted
        old = [] if first_call else self._earlier_chunks(coef, config)
        solution = None
        for _ in range(max(self.n_iter, 1)):
            chunks = [*old, config.summarise(task, coef)]
            target = inside_domain(linearised_root(chunks), coef, task, settings.link,
                                   config.fit_intercept)
            solution = solve_on_representatives(
                rebuilt_representatives(chunks, target, settings), settings, target
            )
            coef = solution.coef
        self.chunk_sums_ = chunks
        self._store(solution, None, config, n_iter=self.n_iter)

    def _earlier_chunks(self, coef, config):
        """Stored chunk sums; after :meth:`fit`, the representatives as rows."""
        if hasattr(self, "chunk_sums_"):
            return self.chunk_sums_
        # fitted by fit/fit_chunks (or as MR): each representative is a
        # one-row block, so it keeps its own score and information
        reps = self.representatives_
        task = RepresentativeTask(reps.X, reps.y, reps.weight, 0, np.arange(reps.y.size))
        return [replace(config, fit_intercept=False).summarise(task, coef)]

    # -- fitted state --------------------------------------------------------------
    def _store(self, solution, rules, config, n_iter=None):
        """Fitted attributes of ``solution``; ``rules`` are the sign splits of
        a fit's SMR steps (None after :meth:`partial_fit`)."""
        if not solution.converged:
            warnings.warn(
                "IRLS on the representatives did not converge; increase max_iter or "
                "check for separation.",
                ConvergenceWarning,
            )
        reps = solution.representatives
        inference = smr_inference(
            solution, config.settings.family.has_dispersion, self._param_names()
        )
        self.representatives_ = reps
        self.n_chunks_seen_ = int(reps.source.max()) + 1
        self.n_iter_ = len(rules) if n_iter is None else n_iter
        if rules is not None:
            self.sign_splits_ = rules
        self.dispersion_ = inference.dispersion
        self.rank_ = inference.rank
        self.cov_params_ = inference.cov_params
        self.bse_ = np.sqrt(np.clip(np.diag(self.cov_params_), 0, None))
        self._set_coef(solution.coef)

    def _packed_coef(self):
        coef = np.ravel(self.coef_)
        return np.concatenate([np.ravel(self.intercept_), coef]) if self.fit_intercept else coef

    def _linear_predictor(self, X):
        check_is_fitted(self)
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ np.ravel(self.coef_) + float(np.ravel(self.intercept_)[0])

    # -- inference -----------------------------------------------------------------
    def results(self, cov_type=None):
        """Model-based inference at the fitted coefficients (intercept ``const`` first).

        The covariance is ``cov_params_`` (see the class Notes for what it
        estimates); tests and intervals use the normal distribution, as
        statsmodels' ``GLM``.

        Parameters
        ----------
        cov_type : {None, "nonrobust"}
            Only the model-based covariance: representatives carry no
            per-row scores for a sandwich.

        Returns
        -------
        RegressionResults
        """
        check_is_fitted(self)
        if cov_type not in (None, "nonrobust"):
            raise ValueError(f"SMR estimators support cov_type='nonrobust' only; got {cov_type!r}.")
        family, link = self._family_link()
        reps = self.representatives_
        extra = (
            ("Family:", family.name),
            ("Link Function:", link.name),
            ("Representatives:", f"{reps.y.size}"),
            ("Blocks:", f"{reps.n_blocks}"),
            ("SMR iterations:", f"{self.n_iter_}"),
            ("Scale:", f"{self.dispersion_:.4g}"),
        )
        return with_design_spec(self, _smr_results(
            self._packed_coef(), self.cov_params_, self._param_names(), reps, self.rank_,
            self.fit_intercept, "GLM", self.method.upper(), extra,
            getattr(self, "target_name_", "y"), self.dispersion_, link,
        ))

    def summary_frame(self, alpha=0.05):
        """The coefficient table of :meth:`results` (z tests), as a DataFrame."""
        return self.results().summary_frame(alpha)

    def summary(self, alpha=0.05):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results().summary(alpha)

    def _param_names(self):
        names = getattr(self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)])
        return (["const"] if self.fit_intercept else []) + [str(n) for n in names]
