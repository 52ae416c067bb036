"""Cumulative (row-wise) ordinary and weighted least squares."""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._compat import Interval, StrOptions, _fit_context, _num_samples
from ..exceptions import MissingPassError
from ..base import (
    partitionwise,
    ChunkSpec,
    CumulativeMixin,
    chunk_statistics,
    linear_chunk_statistics,
    rollback_on_error,
    validate_chunk,
    with_design_spec,
)
from ..inference import COV_TYPES, LEVERAGE_COV_TYPES, PANEL_COV_TYPES, regression_results
from ..io import check_labels, iter_chunks, refuse_unread
from ..parallel import (
    dask_map_reduce,
    dask_partitions,
    is_dask_collection,
    map_reduce,
    single_blas_thread,
    spark_map_reduce,
)
from ..passes import (
    pushdown_period_sums,
    pushdown_score_pass,
    pushdown_statistics,
    score_pass_statistics,
)
from ..solvers import solve_least_squares
from ..stats import ClusterSums, LeverageOuterProducts, decode_statistics, encode_statistics


def _chunk_score_pass(chunk, **kwargs):
    """:func:`~skbigreg.passes.score_pass_statistics` of a :class:`~skbigreg.io.Chunk`."""
    X = np.asarray(chunk.X, dtype=np.float64)
    return score_pass_statistics(X, chunk.y, chunk.sample_weight, **kwargs)


class CumulativeLinearRegression(CumulativeMixin, RegressorMixin, BaseEstimator):
    """Exact OLS / WLS from chunks of rows, with streamed inference.

    Minimises ``sum_i w_i (y_i - b0 - x_i' b)^2`` from mergeable statistics of
    the rows -- weighted count, means and centred co-moments (``solver="gram"``)
    or the R factor of the centred design (``solver="qr"``) -- so the rows can
    arrive in chunks of any size, in any order, on any machine:
    ``b = Cxx^-1 Cxy`` and ``b0 = mean_y - mean_x' b``.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    solver : {"gram", "qr"}, default="gram"
        Accumulator. ``"gram"`` keeps centred cross-products (one BLAS
        ``syrk`` per chunk; fine unless the scaled design's condition number
        exceeds ~1e5, where a warning names ``"qr"``). ``"qr"`` keeps the R
        factor of the centred design (TSQR): about twice the digits on
        ill-conditioned designs, about twice the flops.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", "driscoll-kraay"}, \
            default="nonrobust"
        Covariance used by :meth:`results` and :meth:`summary` by default.
        ``"cluster"`` (CRV1, as Stata and R ``sandwich::vcovCL``) needs
        ``clusters=`` in ``fit``/``partial_fit``; per-cluster statistics are
        gathered in the same pass. ``clusters`` with two or more columns
        give Cameron-Gelbach-Miller multi-way CRV1, ``V_a + V_b - V_ab``
        (inclusion-exclusion for more), each term with its own ``G/(G-1)``
        as statsmodels (2-D ``groups``) and pyfixest (``CRV1: "a+b"``, its
        ``ssc(G_df="conventional")``; its ``feols`` default ``G_df="min"``
        scales every term by ``min G/(min G - 1)`` instead), without eigenvalue fix-up; tests use ``min G - 1``
        degrees of freedom. HC types need the residuals (HC2 and HC3
        also the leverages, from the same pass's statistics): in-memory
        ``fit`` and :meth:`fit_chunks` make the second pass themselves; after
        a ``partial_fit`` stream, call :meth:`partial_fit_scores` on the same
        chunks again. ``"driscoll-kraay"`` (panel HAC; needs ``periods=``)
        sums the scores ``w_i e_i u_i`` per period in that second pass and
        weights the period sums across periods by a Bartlett kernel, with
        statsmodels' ``hac-groupsum`` factor ``T/(T-1) (n-1)/(n-p)`` (``T``
        periods); tests use ``T - 1`` degrees of freedom.
    maxlags : int, default=None
        Largest lag between periods that the Driscoll-Kraay kernel weights,
        counted in the sorted distinct periods (below their number ``T``);
        None is linearmodels' rule ``floor(4 (T / 100)^(2/9))``.
        :meth:`results` can override it without another pass.
    weight_type : {"analytic", "frequency"}, default="analytic"
        How inference reads ``sample_weight``. ``"analytic"``: inverse-variance
        weights, degrees of freedom from the row count (statsmodels ``WLS``,
        Stata ``aweight``). ``"frequency"``: a weight counts that many rows,
        degrees of freedom from the weight sum (Stata ``fweight``).
        Coefficients do not depend on it.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    stats_ : GramStats or QRStats
        The merged statistics of every row seen.
    cluster_stats_ : GroupedGramStats or MultiwayGroupedStats
        Per-cluster statistics, present when ``clusters`` were given (for
        every dimension and intersection with multi-way clusters).
    score_pass_ : ChunkStatistics
        The second pass at the current coefficients, present after one:
        the sums of ``s_i s_i'`` over its rows (``s_i = w_i e_i u_i``), plain
        and divided by ``1 - h_i`` and ``(1 - h_i)^2`` (``h_i`` the leverage),
        in ``extra`` (a :class:`~skbigreg.stats.LeverageOuterProducts`), and
        the statistics of the rows it saw in ``stats``.
    log_weight_sum_ : float or None
        ``sum log w`` over the rows (0 unweighted), for the weighted Gaussian
        ``llf``; None for statistics gathered elsewhere.
    rank_ : int
        Rank of the (centred) design.
    condition_number_ : float
        Estimated condition number of the column-scaled cross-product matrix.
    n_samples_seen_ : int
        Rows seen (zero-weight rows included).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when ``X`` had string column names.
    target_name_ : str or tuple of str
        Name of ``y`` at the first fit (a Series name, DataFrame columns), or
        ``"y"``; the summaries' ``Dep. Variable``.

    See Also
    --------
    sklearn.linear_model.LinearRegression : the same coefficients in memory.
    statsmodels.regression.linear_model.WLS : the same inference in memory.

    Notes
    -----
    Collinear or constant columns give a :class:`~skbigreg.exceptions.CollinearityWarning`
    and the minimum-norm solution in column-scaled coordinates (never NaN);
    standard errors then use the pseudo-inverse, with rank-based degrees of
    freedom as statsmodels. Without an intercept R² is uncentred.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import CumulativeLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 2))
    >>> y = 1.0 + X @ [2.0, -3.0] + rng.normal(size=1000)
    >>> model = CumulativeLinearRegression()
    >>> for start in range(0, 1000, 250):
    ...     model = model.partial_fit(X[start:start + 250], y[start:start + 250])
    >>> np.round(model.coef_, 1)
    array([ 2., -3.])
    >>> round(float(model.intercept_), 1)
    1.0
    >>> res = model.results()
    >>> res.bse.round(3)
    const    0.031
    x0       0.030
    x1       0.032
    dtype: float64
    """

    _parameter_constraints: dict = {
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"gram", "qr"})],
        "cov_type": [StrOptions(set(COV_TYPES + PANEL_COV_TYPES))],
        "maxlags": [Interval(Integral, 0, None, closed="left"), None],
        "weight_type": [StrOptions({"analytic", "frequency"})],
    }

    def __init__(
        self,
        *,
        fit_intercept=True,
        solver="gram",
        cov_type="nonrobust",
        maxlags=None,
        weight_type="analytic",
    ):
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.cov_type = cov_type
        self.maxlags = maxlags
        self.weight_type = weight_type

    # -- first pass ---------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, clusters=None, periods=None):
        """Fit on in-memory rows (reset, then one chunk).

        With an HC or Driscoll-Kraay ``cov_type`` the second pass over ``X``
        is made here.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        clusters : array-like of shape (n_samples,) or (n_samples, n_dims), optional
            Cluster labels for cluster-robust inference; two or more columns
            (a 2-D array or a DataFrame) give multi-way clustering.
        periods : array-like of shape (n_samples,), optional
            Time period of each row (numbers or datetimes), for
            Driscoll-Kraay errors; the second pass sums the scores by period.

        Returns
        -------
        self
        """
        if is_dask_collection(X):
            if periods is not None or self.cov_type in PANEL_COV_TYPES:
                raise ValueError(
                    "Driscoll-Kraay errors (periods=) are not supported with Dask "
                    "collections; stream the partitions with fit_chunks instead."
                )
            with rollback_on_error(self):
                self._reset()
                return self._fit_dask(X, y, sample_weight, clusters)
        return self._fit(X, y, sample_weight, clusters=clusters, periods=periods)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, clusters=None, periods=None):
        """Merge one chunk of rows into the statistics; the fit is solved when next read.

        An empty chunk is a no-op. A chunk that fails validation (NaN, wrong
        feature count or names, negative weights) raises ``ValueError`` and
        leaves the estimator exactly as it was. Any earlier HC pass is
        discarded, since the coefficients change.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        clusters : array-like of shape (n_samples,) or (n_samples, n_dims), optional
        periods : array-like of shape (n_samples,), optional
            Checked here (every chunk or none, one kind); read by the second
            pass, :meth:`partial_fit_scores`.

        Returns
        -------
        self
        """
        return self._accumulate(X, y, sample_weight, clusters=clusters, periods=periods)

    _label_names = ("clusters", "periods")
    _score_label_names = ("periods",)
    _multiway_clusters = True

    def fit_chunks(self, chunks, n_jobs=None):
        """Fit from a chunk source, making the HC pass too when ``cov_type`` needs it.

        Parameters
        ----------
        chunks : iterable of chunks, callable or ChunkSource
            Anything :func:`skbigreg.io.iter_chunks` reads -- a list of
            ``(X, y)`` tuples or dicts ``{"X": X, "y": y, "sample_weight": w,
            "clusters": labels}``, a callable returning a fresh iterator of
            them -- or a file source from :func:`skbigreg.io.read_files`.
            HC and Driscoll-Kraay types iterate it twice (the latter reads
            the chunks' ``"periods"``), so a one-shot generator is refused
            for them. A chunk that fails leaves the estimator as it was
            before the call. A :class:`~skbigreg.io.SqlPushdown`
            (``read_sql(...).pushdown()``) has the database compute the
            statistics (and the HC pass): no row leaves it -- per cluster of
            each dimension and intersection for multi-way clusters
            (``read_sql(..., clusters=[...])``, one ``GROUPING SETS`` scan),
            and each period's score sums for Driscoll-Kraay errors
            (``periods=``). A :class:`~skbigreg.io.SparkSource` (:func:`~skbigreg.io.read_spark`)
            has the Spark executors map their partitions: only statistics
            reach the driver.
        n_jobs : int, optional
            Map chunks to statistics in parallel with joblib (any backend
            chosen with :func:`joblib.parallel_config`); the first chunk is
            read in this process to fix the features. ``None`` streams in
            this process with bounded memory.

        Returns
        -------
        self
        """
        return super().fit_chunks(chunks, n_jobs)

    def _fit_spark(self, source):
        """Partitions mapped to statistics on the Spark executors (and the HC pass).

        The fast map of :meth:`_merge_source` (no per-batch ``validate_data``)
        replaces the generic one of :class:`~skbigreg.base.CumulativeMixin`.
        """
        if self.cov_type in PANEL_COV_TYPES:
            raise ValueError("Driscoll-Kraay errors are not supported on a Spark source; "
                             "stream its rows with fit_chunks instead.")
        refuse_unread(type(self).__name__, source.labels, ("clusters",))
        codec = {"encode": encode_statistics, "decode": decode_statistics}
        spec = ChunkSpec(self.solver, len(source.features), 1, None,
                         source.clusters is not None)
        merged = spark_map_reduce(chunk_statistics, source, spec=spec, **codec)
        self._set_statistics(merged, True, source.feature_names)
        self.target_name_ = source.target
        if self._needs_second_pass():
            self.score_pass_ = spark_map_reduce(
                _chunk_score_pass, source, labels=(), solution=self._solution,
                stats=self.stats_, frequency=self.weight_type == "frequency", **codec)

    def _fit_pushdown(self, pushdown):
        """Statistics computed by the database (and the HC pass): only they travel.

        Multi-way clusters take one ``GROUPING SETS`` scan (each dimension
        and intersection); Driscoll-Kraay errors one ``GROUP BY`` the
        periods, after the HC pass, for the per-period score sums.
        """
        if self.solver != "gram":
            raise ValueError("A SQL push-down computes Gram statistics: use solver='gram', "
                             "or pull the rows (fit_chunks(read_sql(...))) for solver='qr'.")
        pushdown.require_labels(("clusters", "periods"), "Least-squares push-down fits")
        if self.cov_type in PANEL_COV_TYPES and pushdown.periods is None:
            raise ValueError(f"{type(self).__name__} with cov_type={self.cov_type!r} needs "
                             "periods labels: read_sql(..., periods=column).")
        self._set_statistics(pushdown_statistics(pushdown), True, pushdown.feature_names)
        self.target_name_ = pushdown.target
        if self._needs_second_pass():
            # HC0/HC1 of an unweighted fit need no leverages: a third of the sums
            leverage = self.cov_type in LEVERAGE_COV_TYPES or pushdown.weighted
            score_pass = pushdown_score_pass(
                pushdown, solution=self._solution, stats=self.stats_,
                frequency=self.weight_type == "frequency", leverage=leverage)
            if pushdown.periods is not None:
                score_pass = replace(score_pass, periods=pushdown_period_sums(
                    pushdown, solution=self._solution, stats=self.stats_))
            self.score_pass_ = score_pass

    def _merge_source(self, source, n_jobs):
        """The first chunk validated here; the others mapped by the module-level
        :func:`~skbigreg.base.chunk_statistics` (no per-chunk ``validate_data``),
        in this process or on joblib workers."""
        chunks = iter(source)
        for first in chunks:
            if first.n_rows:
                break
        else:
            raise ValueError("The chunk source produced no rows.")
        checked = self._check_labels(first.labels, first.n_rows, True)
        part, y_1d = self._chunk_part(first.X, first.y, first.sample_weight, checked,
                                      reset=True)
        spec = self._chunk_spec(part)
        del first, checked  # the rows are mapped: hold no chunk while streaming the rest
        # Labels are checked here, in order, before a worker maps the chunk.
        rest = (chunk for chunk in chunks
                if self._check_labels(chunk.labels, chunk.n_rows, False) is not None)
        if n_jobs in (None, 1):
            # One BLAS thread: the map's syrk works on cache-sized blocks, where
            # a second thread only contends with a file reader's decode threads.
            with single_blas_thread():
                others = map_reduce(chunk_statistics, rest, n_jobs=1, empty=None, spec=spec)
        else:
            others = map_reduce(chunk_statistics, rest, n_jobs=n_jobs, empty=None, spec=spec)
        return (part if others is None else part + others), y_1d

    def _chunk_spec(self, part):
        names = getattr(self, "feature_names_in_", None)
        return ChunkSpec(
            solver=self.solver,
            n_features=self.n_features_in_,
            n_targets=part.stats.n_targets,
            feature_names=None if names is None else tuple(str(n) for n in names),
            with_clusters=part.clusters is not None,
        )

    def _fit_dask(self, X, y, sample_weight, clusters):
        """Map Dask partitions to statistics on the workers; tree-reduce there."""
        names = list(map(str, X.columns)) if hasattr(X, "columns") else None
        n_features = len(names) if names is not None else X.shape[1]
        y_1d = getattr(y, "ndim", 1) == 1
        n_targets = 1 if y_1d else y.shape[1]
        spec = ChunkSpec(self.solver, n_features, n_targets,
                         None if names is None else tuple(names), clusters is not None)
        parts = dask_partitions(X, y, sample_weight, clusters)
        merged = dask_map_reduce(linear_chunk_statistics, parts, spec=spec)
        self._set_statistics(merged, y_1d, names)
        if self._needs_second_pass():
            self.score_pass_ = dask_map_reduce(
                score_pass_statistics, dask_partitions(X, y, sample_weight),
                solution=self._solution, stats=self.stats_,
                frequency=self.weight_type == "frequency",
            )
        return self

    def _solve(self):
        solution = solve_least_squares(self.stats_, self.fit_intercept)
        self._solution = solution
        self._set_coef(solution.coef, solution.intercept)
        self.rank_ = solution.rank + self.fit_intercept
        self.condition_number_ = solution.condition

    # -- second pass --------------------------------------------------------
    def _needs_second_pass(self, cov_type=None):
        cov_type = self.cov_type if cov_type is None else cov_type
        return cov_type in ("HC0", "HC1", "HC2", "HC3") + PANEL_COV_TYPES

    def partial_fit_scores(self, X, y, sample_weight=None, periods=None):
        """Second streamed pass for HC errors: one chunk at the current coefficients.

        It gathers the meats of HC0/HC1 and, from each row's leverage, of
        HC2/HC3 at once, so every HC type costs these two passes. With
        ``periods`` it also sums the scores per period, for Driscoll-Kraay
        errors (give them with every chunk of the pass).

        Call it on every chunk again after the last :meth:`partial_fit`. The
        pass also gathers its rows' own statistics, and :meth:`results` with
        an HC type checks that they equal the fit's (to 1e-10): a pass that
        saw other rows, or missed some, raises
        :class:`~skbigreg.exceptions.MissingPassError` instead of giving
        silently wrong errors.

        Returns
        -------
        self
        """
        self._check_fitted()
        with rollback_on_error(self):
            self._score_update(X, y, sample_weight, periods)
        return self

    def _score_update(self, X, y, sample_weight, periods=None):
        if periods is not None:  # the kind the first pass saw, if it saw periods
            kind = self._label_kinds.get("periods")
            periods = check_labels(type(self).__name__, {"periods": periods}, _num_samples(X),
                                   None if kind is None else {"periods": kind})[0]["periods"]
        X, y, sample_weight, _ = validate_chunk(self, X, y, sample_weight, reset=False)
        chunk = score_pass_statistics(X, y, sample_weight, solution=self._solution,
                                      stats=self.stats_,
                                      frequency=self.weight_type == "frequency",
                                      periods=periods)
        previous = getattr(self, "score_pass_", None)
        self.score_pass_ = chunk if previous is None else previous + chunk

    # -- results --------------------------------------------------------------
    def results(self, cov_type=None, target=0, use_t=None, maxlags=None):
        """Inference for one target: coefficients, errors, tests, R², F.

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", \
                "driscoll-kraay"}, optional
            Defaults to the ``cov_type`` parameter.
        target : int, default=0
            Which column of a multi-output ``y``.
        use_t : bool, optional
            Student t (True) or normal (False) reference distribution; by
            default t for nonrobust and normal for robust types (statsmodels'
            default). For cluster-robust errors t uses ``G - 1`` degrees of
            freedom (Stata's convention), for Driscoll-Kraay errors ``T - 1``
            (``T`` periods; Stata's ``xtscc``).
        maxlags : int, optional
            The Driscoll-Kraay kernel's largest lag; defaults to the
            ``maxlags`` parameter. No pass is needed to change it.

        Returns
        -------
        RegressionResults

        Examples
        --------
        Driscoll-Kraay errors of a panel streamed in chunks, its periods
        sent along with every chunk:

        >>> import numpy as np
        >>> from skbigreg.linear_model import CumulativeLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> year = np.repeat(np.arange(2000, 2020), 50)       # 20 periods of 50 rows
        >>> shock = rng.normal(size=20)[year - 2000]          # common to a period
        >>> X = rng.normal(size=(1000, 1)) + shock[:, None]
        >>> y = 1.0 + 2.0 * X[:, 0] + shock + rng.normal(size=1000)
        >>> chunks = [{"X": X[i:i + 100], "y": y[i:i + 100], "periods": year[i:i + 100]}
        ...           for i in range(0, 1000, 100)]
        >>> model = CumulativeLinearRegression(cov_type="driscoll-kraay").fit_chunks(chunks)
        >>> res = model.results()          # maxlags: floor(4 (20/100)^(2/9)) = 2
        >>> res.notes
        ('Driscoll-Kraay errors: Bartlett kernel over 20 periods, maxlags=2.',)
        >>> bool(res.bse["x0"] > model.results("HC1").bse["x0"])
        True
        """
        self._check_fitted()
        cov_type = self.cov_type if cov_type is None else cov_type
        hc_meat = period_sums = None
        if cov_type in PANEL_COV_TYPES:
            period_sums = self._period_sums(target)
        elif self._needs_second_pass(cov_type):
            hc_meat = self._hc_meat(target, cov_type)
        if cov_type == "cluster" and not hasattr(self, "cluster_stats_"):
            raise MissingPassError(
                "Cluster-robust errors need clusters= in fit/partial_fit."
            )
        names = getattr(self, "feature_names_in_", None)
        return with_design_spec(self, regression_results(
            self._solution,
            self.stats_,
            target=target,
            cov_type=cov_type,
            names=None if names is None else list(names),
            hc_meat=hc_meat,
            clusters=getattr(self, "cluster_stats_", None),
            weight_type=self.weight_type,
            use_t=use_t,
            target_name=getattr(self, "target_name_", "y"),
            # the Gaussian llf with analytic weights (statsmodels' WLS); unknown for
            # statistics built elsewhere and for frequency weights
            log_weight_sum=(self.log_weight_sum_ if self.weight_type == "analytic" else None),
            period_sums=period_sums,
            maxlags=self.maxlags if maxlags is None else maxlags,
        ))

    def _period_sums(self, target):
        """The second pass's per-period score sums of ``target`` (a ClusterSums)."""
        seen = self._checked_score_pass().periods
        if seen is None:
            raise MissingPassError(
                "Driscoll-Kraay errors need the scores summed by period: give periods= "
                "to fit/fit_chunks (or to partial_fit_scores on every chunk)."
            )
        size = seen.sums.shape[1] // self.stats_.n_targets
        return ClusterSums(seen.labels, seen.sums[:, target * size:(target + 1) * size])

    def _hc_meat(self, target, cov_type=None):
        seen = self._checked_score_pass().extra
        if not isinstance(seen, LeverageOuterProducts):  # an unweighted push-down HC0/HC1 pass
            if cov_type in LEVERAGE_COV_TYPES:
                raise MissingPassError(
                    f"cov_type={cov_type!r} needs the rows' leverages, which a push-down "
                    "gathers when the fit's cov_type is 'HC2' or 'HC3': fit again with it.")
            return seen
        if seen.frequency != (self.weight_type == "frequency"):
            raise MissingPassError(
                "The second pass was made for "
                f"{'frequency' if seen.frequency else 'analytic'} weights, but weight_type is "
                f"{self.weight_type!r}: call partial_fit_scores on every chunk again."
            )
        size = seen.matrix.shape[0] // self.stats_.n_targets
        block = slice(target * size, (target + 1) * size)
        return LeverageOuterProducts(seen.n_rows, seen.hc0[block, block], seen.hc2[block, block],
                                     seen.hc3[block, block], seen.n_unit_leverage, seen.frequency)

    def summary(self, cov_type=None, target=0, use_t=None, alpha=0.05, maxlags=None):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results(cov_type, target, use_t, maxlags).summary(alpha)

    # -- prediction and merging ----------------------------------------------
    @partitionwise
    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``."""
        self._check_fitted()
        if is_dask_collection(X):
            return _predict_dask(X, np.asarray(self.coef_), self.intercept_)
        return super().predict(X)

    def predict_chunks(self, chunks):
        """Predict a chunk source chunk by chunk (bounded memory).

        Parameters
        ----------
        chunks : chunk source
            Anything :func:`skbigreg.io.iter_chunks` reads, e.g.
            ``read_files(path, target=None, features=[...])``.

        Yields
        ------
        ndarray
            Predictions of one chunk.
        """
        for chunk in iter_chunks(chunks):
            yield self.predict(chunk.X)

    @classmethod
    def from_statistics(cls, stats, cluster_stats=None, feature_names=None, **params):
        """A fitted estimator from statistics gathered elsewhere.

        Parameters
        ----------
        stats : GramStats or QRStats
            E.g. the sum of ``GramStats.from_arrays`` computed on each site, or
            statistics read back with ``GramStats.load``.
        cluster_stats : GroupedGramStats, optional
        feature_names : sequence of str, optional
        **params
            Estimator parameters; ``solver`` is read off ``stats``.
        """
        return cls._from_statistics(stats, feature_names, params, clusters=cluster_stats)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _predict_rows(X, coef, intercept):
    return np.asarray(X, dtype=np.float64) @ coef.T + intercept


def _predict_dask(X, coef, intercept):
    """Predictions as a Dask collection of the same partitions (computed lazily)."""
    if hasattr(X, "map_partitions"):
        import pandas as pd

        if np.ndim(coef) == 1:
            meta = pd.Series(dtype=np.float64)
        else:
            meta = pd.DataFrame({i: pd.Series(dtype=np.float64) for i in range(len(coef))})
        return X.map_partitions(_predict_frame, coef, intercept, meta=meta)
    X = X.rechunk({1: -1})
    if np.ndim(coef) == 1:
        return X.map_blocks(_predict_rows, coef, intercept, drop_axis=1, dtype=np.float64)
    return X.map_blocks(_predict_rows, coef, intercept, chunks=(X.chunks[0], (len(coef),)), dtype=np.float64)


def _predict_frame(frame, coef, intercept):
    import pandas as pd

    values = _predict_rows(frame, coef, intercept)
    if values.ndim == 1:
        return pd.Series(values, index=frame.index)
    return pd.DataFrame(values, index=frame.index)
