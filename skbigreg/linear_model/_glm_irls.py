"""Exact GLMs fitted by streamed IRLS: one pass over the chunks per iteration."""

from __future__ import annotations

import warnings
from dataclasses import replace
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from .._compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _num_samples,
    validate_data,
)
from ..exceptions import MissingPassError, SeparationWarning
from ..glm import FAMILIES, get_family_link
from ..inference import RegressionResults, small_sample_factor, target_name
from ..inference._covariance import (
    design_bread,
    to_reported,
    warn_if_no_residual_dof,
)
from ..inference._likelihood import glm_likelihood
from ..io import refuse_unread
from ..parallel import map_reduce, single_blas_thread, spark_map_reduce
from ..passes import PushdownIRLS, irls_chunk_pass, subsample_start
from ..passes._irls import START_ROWS
from ..stats import decode_statistics, encode_statistics
from ..solvers import ScoringSettings, ScoringState, identified_columns, scoring_step
from ..solvers._irls_streamed import (
    CONTINUE,
    CONVERGED,
    glm_scale,
    likely_last,
    select_columns,
)
from ..base import (
    partitionwise,
    ChunkLabels,
    binary_classes,
    fit_source,
    check_label,
    design_rows,
    encode_binary,
    reset,
    rollback_on_error,
    with_design_spec,
)


def _chunk_irls_pass(chunk, *, estimator, **pass_args):
    """One IRLS pass over a :class:`~skbigreg.io.Chunk`, validated as ``fit_chunks`` does.

    Module-level, so a Spark executor runs it; ``estimator`` (fitted up to
    its features and classes) validates the rows and encodes the target.
    """
    X, y, w = estimator._validate(chunk.X, chunk.y, chunk.sample_weight, reset=False)
    clusters = estimator._check_clusters(chunk.label("clusters"), len(X))
    return irls_chunk_pass((X, y, w, clusters), **pass_args)


class CumulativeGLM(RegressorMixin, BaseEstimator):
    """Generalised linear model, exact maximum likelihood by streamed IRLS.

    Maximises ``sum_i w_i log f(y_i; h(b0 + x_i' b))`` for an exponential
    family ``f`` and inverse link ``h`` by iteratively reweighted least
    squares: at the current coefficients one pass over the rows gathers the
    weighted Gram statistics of ``[X, z]`` with weights ``w h'(eta)^2 / V(mu)``
    and working response ``z = eta + (y - mu) / h'(eta)``, whose
    least-squares solution is the next iterate (a Fisher-scoring step). Each
    iteration is one streamed pass; passes merge chunk statistics by addition.

    Parameters
    ----------
    family : {"gaussian", "binomial", "poisson", "gamma", "inverse_gaussian"}, default="gaussian"
    link : str, default=None
        A link the family accepts (:mod:`skbigreg.glm`); None takes its
        default (canonical; logit for the binomial family).
    fit_intercept : bool, default=True
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
        Covariance of :meth:`results`, as statsmodels ``GLM``: the inverse
        expected (Fisher) information times the Pearson dispersion (families
        with a dispersion); sandwiches with the inverse *observed*
        information as bread (they differ for non-canonical links),
        scaled by ``n / (n - p)`` (HC1; statsmodels' GLM applies no factor to
        any HC type) and ``G/(G-1) (n-1)/(n-p)`` (cluster, needs
        ``clusters=``). Every type is gathered in the same passes.
    tol : float, default=1e-10
        Convergence: stop when a pass's step satisfies
        ``max |b_new - b| <= tol * max(1, max |b|)`` (intercept included); the
        reported coefficients are those the last pass was made at, so every
        statistic refers to them.
    max_iter : int, default=100
        Maximum number of IRLS iterations (passes after the starting pass).
    n_jobs : int, default=None
        Workers mapping the chunks of a pass in :meth:`fit_chunks` (joblib;
        any backend of :func:`joblib.parallel_config`, e.g. Dask).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Passes made, the starting pass included.
    deviance_ : float
    pass_stats_ : IRLSPass
        The statistics of the last pass.
    target_name_ : str
        Name of ``y`` in :meth:`fit` (a Series name), or ``"y"``.
    n_features_in_, feature_names_in_

    See Also
    --------
    CumulativeLogisticRegression : the binary classifier.

    Notes
    -----
    Sample weights are variance weights (statsmodels ``var_weights``). Rows
    fitted exactly at the boundary of the support (``V(mu) <= 1e-8`` and
    ``|y - mu| <= 1e-8``: separation in binary data) get weight 0; when such
    rows exist and the steps stop shrinking, iteration stops with a
    :class:`SeparationWarning`.
    Columns that the first pass's weighted Gram does not identify
    (constant, zero, duplicated or collinear columns, more columns than
    rows) are left out of the iteration with a :class:`CollinearityWarning`:
    coefficient 0 and standard error NaN, as R's ``glm``.
    :meth:`score` is D², the fraction of deviance explained, as
    scikit-learn's GLMs.
    The map of a pass is the module-level
    :func:`skbigreg.passes.irls_pass`, so it runs on any
    worker (joblib, Dask) and merges with ``+``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeGLM
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> y = rng.poisson(np.exp(0.5 + X @ [0.3, -0.2]))
    >>> chunks = [(X[i:i + 500], y[i:i + 500]) for i in range(0, 2000, 500)]
    >>> glm = CumulativeGLM(family="poisson").fit_chunks(chunks)
    >>> np.round(glm.coef_, 1)
    array([ 0.3, -0.2])
    >>> glm.n_iter_ <= 8
    True
    """

    _parameter_constraints: dict = {
        "family": [StrOptions(set(FAMILIES))],
        "link": [str, None],
        "fit_intercept": ["boolean"],
        "cov_type": [StrOptions({"nonrobust", "HC0", "HC1", "cluster"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, family="gaussian", link=None, fit_intercept=True,
                 cov_type="nonrobust", tol=1e-10, max_iter=100, n_jobs=None):
        self.family = family
        self.link = link
        self.fit_intercept = fit_intercept
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, clusters=None):
        """Fit on in-memory rows (every pass reads them again).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        clusters : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        with rollback_on_error(self):
            self._reset()
            name = target_name(y)
            self._begin(None, y)
            # the only data: all-zero weights are refused here, as scikit-learn does
            X, y, sample_weight = self._validate(X, y, sample_weight, reset=True, only=True)
            item = (X, y, sample_weight, self._check_clusters(clusters, len(X)))
            family, link = self._family_link()
            start = None
            if len(X) >= 4 * START_ROWS:  # else the start would cost a pass's share
                start = subsample_start(item, family, link, self.fit_intercept)
            self._iterate(lambda state, columns, complete: irls_chunk_pass(
                item, state.coef, state.intercept, family, link, self.fit_intercept, columns,
                complete), start)
            self.target_name_ = name  # y's name, for the summaries
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Fit from a re-iterable chunk source: one pass over it per iteration.

        All or nothing: a failed call leaves the estimator as it was. Chunks
        without rows are skipped; a chunk whose weights are all zero adds
        nothing (zero weight removes a row).

        Parameters
        ----------
        chunks : list of chunks or callable
            Anything :func:`skbigreg.io.iter_chunks` reads; a one-shot
            generator is refused at the second pass. A Spark source
            (:func:`skbigreg.io.read_spark`) has each pass mapped on its
            executors. A :class:`~skbigreg.io.SqlPushdown`
            (``read_sql(...).pushdown()``; logistic and Poisson regression
            with their canonical links) has the database compute each pass:
            one query per iteration, no row leaves it.

        Returns
        -------
        self
        """
        return self._fit_chunks(chunks, None)

    def _fit_chunks(self, chunks, classes):
        return fit_source(self, chunks, lambda source: self._fit_passes(source, classes),
                          engine_args=(classes,))

    def _fit_spark(self, source, classes=None):
        """Fisher scoring with each pass mapped on the Spark executors.

        Every pass ships the estimator (parameters, classes, features) and
        the current coefficients; the executors map their partitions to
        :class:`~skbigreg.stats.IRLSPass` statistics, the only thing that
        reaches the driver. The first pass starts from the family's means.
        """
        refuse_unread(type(self).__name__, source.labels, ("clusters",))
        self._begin(classes, None)
        self.n_features_in_ = len(source.features)
        self.feature_names_in_ = np.asarray(source.feature_names, dtype=object)
        family, link = self._family_link()

        def one_pass(state, columns, complete):
            return spark_map_reduce(
                _chunk_irls_pass, source, estimator=self, coef=state.coef,
                intercept=state.intercept, family=family, link=link,
                fit_intercept=self.fit_intercept, columns=columns, complete=complete,
                encode=encode_statistics, decode=decode_statistics,
            )

        self._iterate(one_pass)
        self.target_name_ = source.target

    def _fit_pushdown(self, pushdown, classes):
        """Fisher scoring with one query per step: the database computes each pass."""
        pushdown.require_labels(("clusters",), "GLM push-down fits")
        pushdown.refuse_multiway("GLM push-down fits")
        self._begin(classes, None)
        binary = hasattr(self, "classes_")
        if binary and not (np.array_equal(self.classes_, [0, 1])
                           and self.classes_.dtype.kind in "iu"):
            raise ValueError("A push-down logistic fit reads the target coded 0/1 (1 = the "
                             "event); classes= other than [0, 1] need the rows pulled.")
        family, link = self._family_link()
        one_pass = PushdownIRLS(pushdown, family, link, self.fit_intercept, binary)
        self.n_features_in_ = len(pushdown.feature_names)
        self.feature_names_in_ = np.asarray(pushdown.feature_names, dtype=object)
        self._iterate(one_pass)
        self.target_name_ = pushdown.target

    def _fit_passes(self, source, classes):
        """Fisher scoring with one pass over ``source`` per step."""
        self._begin(classes, None)
        family, link = self._family_link()

        def one_pass(state, columns, complete):
            return map_reduce(
                irls_chunk_pass, self._validated(source), self.n_jobs, coef=state.coef,
                intercept=state.intercept, family=family, link=link,
                fit_intercept=self.fit_intercept, columns=columns, complete=complete,
            )

        first = next(iter(self._validated(source)), None)
        start = None if first is None else subsample_start(first, family, link, self.fit_intercept)
        self._iterate(one_pass, start)

    def _validated(self, source):
        """The source's chunks as ``(X, y, w, clusters)``; the first resets the features.

        Row labels are checked as every estimator checks them (clusters are
        the only label read; others are refused rather than ignored).
        """
        labels = ChunkLabels(self, ("clusters",))
        for chunk in source:
            clusters = labels.check(chunk).get("clusters")
            if _num_samples(chunk.X) == 0:
                self._check_empty(chunk)
                continue
            first = not hasattr(self, "n_features_in_")
            X, y, w = self._validate(chunk.X, chunk.y, chunk.sample_weight, first)
            yield X, y, w, clusters

    def _check_empty(self, chunk):
        """A chunk without rows adds nothing, but its shape must still fit."""
        shape = np.shape(chunk.X)
        if len(shape) != 2:
            raise ValueError(f"A chunk's X must be 2-D; got an empty chunk of shape {shape}.")
        expected = getattr(self, "n_features_in_", shape[1])
        if shape[1] != expected:
            raise ValueError(
                f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                f"{expected} features as input (an empty chunk)."
            )
        if chunk.y is not None and _num_samples(chunk.y) != 0:
            raise ValueError(f"An empty chunk's X has 0 rows but y has {_num_samples(chunk.y)}.")

    def _reset(self):
        reset(self)

    def _begin(self, classes, y):
        """Hook: set what the target's encoding needs before the first chunk."""

    def _validate(self, X, y, sample_weight, reset, only=False):
        """Validated float rows; ``only`` when these rows are all the data."""
        X, y = validate_data(self, X, column_or_1d(y, warn=True), reset=reset,
                             dtype=np.float64, y_numeric=self._numeric_target)
        y = self._encode_target(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True, allow_all_zero_weights=not only)
        return X, y, sample_weight

    _numeric_target = True

    def _encode_target(self, y):
        self._family_link()[0].check_y(y)
        return y

    def _check_clusters(self, clusters, n):
        return None if clusters is None else check_label("clusters", clusters, n)[0]

    def _family_link(self):
        return get_family_link(self.family, self.link)

    def _iterate(self, one_pass, start=None):
        """Fisher scoring, one pass per step (:mod:`skbigreg.solvers._irls_streamed`).

        ``one_pass(state, columns, complete)`` gathers the merged pass at
        ``state`` over ``columns`` of X (None: all). The first pass decides
        which columns the data identify; the rest stay out of the iteration.
        Passes are light (the step's Gram only) until the iteration is about
        to end; the pass at the final coefficients is complete, made again
        when a light one turned out to be the last. ``start`` (intercept,
        then coefficients) is where the first pass is made, instead of the
        family's starting means.
        """
        # One BLAS thread, as the least-squares maps: a pass's products are
        # cache-sized and narrow, where a second thread only contends for the
        # core (n_jobs workers set their own limit inside the map).
        with single_blas_thread():
            stats, step = self._score(one_pass, start)
        if not hasattr(self, "pass_stats_"):
            raise ValueError("IRLS could not start: every row has a zero weight.")
        self._warn(stats, step is not None and step.status == CONVERGED)
        return self

    def _score(self, one_pass, start):
        """The scoring loop of :meth:`_iterate`; the last pass's statistics and step."""
        settings = ScoringSettings(self.fit_intercept, self.tol)
        state, columns, step = ScoringState(start), None, None
        previous = None  # (state, step) of the last pass made at coefficients
        while state.n_pass <= self.max_iter:  # the start pass, then max_iter
            last_allowed = state.n_pass == self.max_iter
            stats = one_pass(state, columns, last_allowed or likely_last(state, settings))
            if stats.gram.weight_sum <= 0:
                # every row saturated: the fit is the previous pass's
                if previous is not None:
                    self._store(one_pass(previous[0], columns, True), previous[1].solution,
                                previous[0], columns)
                break
            if state.n_pass == 0:
                names = getattr(self, "feature_names_in_", None)
                columns = identified_columns(stats.gram, self.fit_intercept, names)
                if columns is not None:
                    stats = replace(stats, gram=select_columns(stats.gram, columns))
                    if state.params is not None:  # a start fitted on a subsample
                        state = ScoringState(np.append(state.params[0], state.coef[columns]))
            step = scoring_step(stats, state, settings)
            ends = step.status != CONTINUE or last_allowed
            if state.params is not None and ends:
                if not stats.complete:
                    stats = one_pass(state, columns, True)
                # this pass was made at state.params: keep its statistics
                self._store(stats, step.solution, state, columns)
            if ends:
                break
            if state.params is not None:
                previous = (state, step)
            state = step.state
        return stats, step

    def _store(self, stats, solution, state, columns):
        self.pass_stats_, self._solution, self._columns = stats, solution, columns
        if columns is None:
            self.coef_ = state.coef
        else:
            self.coef_ = np.zeros(self.n_features_in_)
            self.coef_[columns] = state.coef
        self.intercept_ = state.intercept
        self.n_iter_ = state.n_pass + 1
        self.deviance_ = stats.deviance

    def _warn(self, stats, converged):
        if stats.n_saturated:
            warnings.warn(
                f"{stats.n_saturated} rows have fitted means at the boundary of the "
                f"{self._family_link()[0].name} support: the data are (quasi-)separated and the MLE "
                "does not exist or sits at infinity; coefficients and errors are not "
                "meaningful.",
                SeparationWarning,
                stacklevel=4,
            )
        elif not converged:
            warnings.warn(
                f"IRLS did not converge in max_iter={self.max_iter} passes (tol={self.tol}).",
                ConvergenceWarning,
                stacklevel=4,
            )

    # -- inference ----------------------------------------------------------------
    def results(self, cov_type=None):
        """Inference at the fitted coefficients (intercept first), as statsmodels ``GLM``.

        Returns
        -------
        RegressionResults
        """
        check_is_fitted(self, "pass_stats_")
        cov_type = self.cov_type if cov_type is None else cov_type
        stats, solution = self.pass_stats_, self._solution
        gram = stats.gram
        bread = to_reported(design_bread(solution, gram), solution, gram)
        n, p = int(gram.n_rows), len(bread)
        family, link = self._family_link()
        warn_if_no_residual_dof(n, p)
        scale = glm_scale(family, stats.pearson, n - p)  # statsmodels' scale
        n_clusters = None
        if cov_type == "nonrobust":
            cov = bread * scale
        elif cov_type in ("HC0", "HC1", "cluster"):
            bread = np.linalg.inv(stats.observed.matrix)
            meat = stats.meat.matrix
            if cov_type == "cluster":
                if stats.cluster_sums is None:
                    raise MissingPassError("Cluster-robust errors need clusters= in fit.")
                sums = stats.cluster_sums.sums
                n_clusters, meat = len(sums), sums.T @ sums
            cov = bread @ meat @ bread * small_sample_factor(cov_type, n, p, n_clusters)
        else:
            raise ValueError(f"Unknown cov_type {cov_type!r}.")
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        names = (["const"] if self.fit_intercept else []) + [str(name) for name in names]
        params, cov = self._with_dropped_columns(cov)
        fit_statistics = (
            ("Deviance:", f"{stats.deviance:.6g}"),
            ("Pearson chi2:", f"{stats.pearson:.4g}"),
            ("Scale:", f"{scale:.4g}"),
            ("No. Iterations:", self.n_iter_),
        )
        return with_design_spec(self, RegressionResults(
            params=params, cov=cov, names=names, cov_type=cov_type, nobs=n,
            df_model=p - int(self.fit_intercept), df_resid=n - p, ssr=stats.deviance,
            tss=np.nan, has_intercept=self.fit_intercept, use_t=False,
            # statsmodels: cluster-robust tests have G - 1 denominator degrees of freedom
            df_inference=float(n - p if n_clusters is None else n_clusters - 1),
            n_clusters=n_clusters,
            target=getattr(self, "target_name_", "y"), scale=scale,
            model=f"GLM ({family.name}, {link.name})", method="IRLS (streamed)",
            title="Cumulative GLM (IRLS) Results", wald_f=True, fit_statistics=fit_statistics,
            link=link,
            likelihood=partial(glm_likelihood, family.name, link.name == "identity",
                               stats.likelihood, stats.deviance, scale),
        ))

    def _with_dropped_columns(self, cov):
        """Parameters (intercept first) and their covariance, NaN for dropped columns."""
        params = np.append(self.intercept_, self.coef_) if self.fit_intercept else self.coef_.copy()
        if self._columns is None:
            return params, cov
        fitted = np.concatenate([[0], 1 + self._columns]) if self.fit_intercept else self._columns
        full = np.full((len(params), len(params)), np.nan)
        full[np.ix_(fitted, fitted)] = cov
        return params, full

    def summary(self, cov_type=None, alpha=0.05):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results(cov_type).summary(alpha)

    def _linear_predictor(self, X):
        check_is_fitted(self, "pass_stats_")
        X = design_rows(getattr(self, "design_spec_", None), X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_

    @partitionwise
    def predict(self, X):
        """Predicted mean ``h(b0 + X b)``."""
        return self._family_link()[1].inverse(self._linear_predictor(X))

    def score(self, X, y, sample_weight=None):
        """D², the fraction of deviance explained, as scikit-learn's GLMs.

        # D² = 1 - sum w d(y, mu_hat) / sum w d(y, y_bar_w)

        ``d`` is the family's unit deviance and ``y_bar_w`` the weighted
        mean of ``y``: the D² of :func:`sklearn.metrics.d2_tweedie_score`
        (R² for the Gaussian family).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        mu = self.predict(X)
        y = column_or_1d(y, warn=True).astype(np.float64)
        weight = _check_sample_weight(sample_weight, mu)
        family = self._family_link()[0]
        family.check_y(y)
        null = np.full_like(y, np.average(y, weights=weight))
        return 1.0 - (weight @ family.unit_deviance(y, mu)) / (weight @ family.unit_deviance(y, null))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        family = getattr(self, "family", "binomial")
        tags.target_tags.positive_only = family in ("poisson", "gamma", "inverse_gaussian")
        return tags


class CumulativeLogisticRegression(ClassifierMixin, CumulativeGLM):
    """Binary regression (logistic by default) by exact streamed IRLS.

    Maximises ``sum_i w_i [y_i log p_i + (1 - y_i) log(1 - p_i)]`` with
    ``p_i = h(b0 + x_i' b)``; ``h`` is the logistic function (``link="logit"``)
    or the normal CDF (``link="probit"``, probit regression), or any binomial
    link of :mod:`skbigreg.glm`. No penalty: this is the MLE that statsmodels
    ``Logit``/``Probit`` compute, one streamed pass per IRLS iteration (see
    :class:`CumulativeGLM` for convergence, covariance types and separation).

    Parameters
    ----------
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default="logit"
    fit_intercept : bool, default=True
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
    tol : float, default=1e-10
    max_iter : int, default=100
    n_jobs : int, default=None

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``classes_[1]`` is the event: the sorted labels after :meth:`fit`, the
        ``classes`` argument of :meth:`fit_chunks` (default ``[0, 1]``).
    coef_, intercept_, n_iter_, deviance_, pass_stats_, n_features_in_

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5000, 2))
    >>> y = rng.random(5000) < 1 / (1 + np.exp(-(0.5 + X @ [1.0, -1.0])))
    >>> clf = CumulativeLogisticRegression().fit(X, y)
    >>> np.round(clf.coef_, 1)
    array([ 1., -1.])
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in CumulativeGLM._parameter_constraints.items() if k != "family"},
        "link": [StrOptions({"logit", "probit", "cloglog", "loglog", "cauchit"})],
    }

    def __init__(self, *, link="logit", fit_intercept=True, cov_type="nonrobust",
                 tol=1e-10, max_iter=100, n_jobs=None):
        self.link = link
        self.fit_intercept = fit_intercept
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    def _family_link(self):
        return get_family_link("binomial", self.link)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, clusters=None):
        """Fit on in-memory rows with any two class labels.

        Returns
        -------
        self
        """
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported. The type of the target "
                f"is {y_type}."
            )
        return super().fit(X, y, sample_weight, clusters)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks, classes=None):
        """Fit from a re-iterable chunk source (one pass per iteration).

        Parameters
        ----------
        chunks : list of chunks or callable
            Anything :func:`skbigreg.io.iter_chunks` reads.
        classes : array-like of shape (2,), optional
            The two labels, the event second (e.g. ``["no", "yes"]``); by
            default the target must be coded 0/1 (1 = the event). A label
            outside ``classes`` raises ``ValueError``.

        Returns
        -------
        self
        """
        return self._fit_chunks(chunks, classes)

    def _begin(self, classes, y):
        if y is not None:
            classes = np.unique(column_or_1d(y, warn=True))
        elif classes is None:
            classes = np.array([0, 1])
        self.classes_ = binary_classes(classes, type(self).__name__)

    _numeric_target = False

    def _encode_target(self, y):
        """1.0 where ``y`` is the event ``classes_[1]``, 0.0 where it is ``classes_[0]``."""
        try:
            return encode_binary(y, self.classes_)
        except ValueError as error:  # say how fit_chunks learns the labels
            if not (np.array_equal(self.classes_, [0, 1]) and self.classes_.dtype.kind in "iu"):
                raise
            raise ValueError(
                "fit_chunks needs the target coded 0/1 (1 = the event) unless classes= names "
                f"the two labels: {error} Recode the target to 0/1, or pass "
                "classes=[negative, event]."
            ) from None

    @partitionwise
    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2)."""
        eta = self._linear_predictor(X)
        _, link = self._family_link()
        return np.column_stack([link.inverse_complement(eta), link.inverse(eta)])

    @partitionwise
    def decision_function(self, X):
        """The linear predictor ``b0 + X b``."""
        return self._linear_predictor(X)

    @partitionwise
    def predict(self, X):
        """The more probable class."""
        event = self.predict_proba(X)[:, 1] > 0.5
        return self.classes_[event.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
