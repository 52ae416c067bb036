"""Exact GLMs fitted by streamed IRLS: one pass over the chunks per iteration."""

from __future__ import annotations

import warnings
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
    validate_data,
)
from ..exceptions import MissingPassError, SeparationWarning
from ..glm import FAMILIES, get_family_link
from ..inference import RegressionResults, small_sample_factor, target_name
from ..inference._covariance import (
    design_bread,
    residual_variance,
    to_reported,
    warn_if_no_residual_dof,
)
from ..io import iter_chunks
from ..parallel import map_reduce
from ..solvers import solve_least_squares
from ..solvers._irls_streamed import irls_pass


def _chunk_pass(item, coef, intercept, family, link, fit_intercept):
    """Worker: the :class:`IRLSPass` of one validated ``(X, y, w, clusters)`` chunk."""
    X, y, w, clusters = item
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return irls_pass(X, y, w, coef, intercept, family, link, fit_intercept, clusters)


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
    The map of a pass is the module-level
    :func:`skbigreg.solvers._irls_streamed.irls_pass`, so it runs on any
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
        self._reset()
        name = target_name(y)
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=True)
        clusters = self._check_clusters(clusters, len(X))
        self._iterate(lambda coef, b0: self._map(X, y, sample_weight, clusters, coef, b0))
        self.target_name_ = name  # y's name, for the summaries
        return self

    def fit_chunks(self, chunks):
        """Fit from a re-iterable chunk source: one pass over it per iteration.

        Parameters
        ----------
        chunks : list of chunks or callable
            Anything :func:`skbigreg.io.iter_chunks` reads; a one-shot
            generator is refused at the second pass.

        Returns
        -------
        self
        """
        source = iter_chunks(chunks)
        self._reset()
        family, link = self._family_link()
        first = [True]

        def validated():
            for chunk in source:
                X, y, w = self._validate(chunk.X, chunk.y, chunk.sample_weight, first[0])
                first[0] = False
                yield X, y, w, self._check_clusters(chunk.label("clusters"), len(X))

        def one_pass(coef, intercept):
            return map_reduce(
                _chunk_pass, validated(), self.n_jobs, coef=coef, intercept=intercept,
                family=family, link=link, fit_intercept=self.fit_intercept,
            )

        return self._iterate(one_pass)

    def _reset(self):
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)

    def _validate(self, X, y, sample_weight, reset):
        X, y = validate_data(self, X, column_or_1d(y, warn=True), reset=reset,
                             dtype=np.float64, y_numeric=True)
        self._check_y(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        return X, y, sample_weight

    def _check_y(self, y):
        self._family_link()[0].check_y(y)

    def _check_clusters(self, clusters, n):
        if clusters is None:
            return None
        clusters = np.asarray(clusters)
        if clusters.shape != (n,):
            raise ValueError(f"clusters has shape {clusters.shape}; expected ({n},).")
        return clusters

    def _family_link(self):
        return get_family_link(self.family, self.link)

    def _map(self, X, y, w, clusters, coef, intercept):
        family, link = self._family_link()
        return _chunk_pass((X, y, w, clusters), coef, intercept, family, link, self.fit_intercept)

    def _iterate(self, one_pass):
        """Fisher scoring, one pass per step; stops at the documented criterion."""
        coef = intercept = None
        converged, previous = False, np.inf
        for n_pass in range(1, self.max_iter + 2):  # the start pass, then max_iter
            stats = one_pass(coef, intercept)
            if stats.gram.weight_sum <= 0:
                break
            solution = solve_least_squares(stats.gram, self.fit_intercept)
            step = np.append(solution.intercept[0], solution.coef[:, 0])
            if coef is not None:
                # this pass was made at (intercept, coef): keep its statistics
                self._store(stats, solution, coef, intercept, n_pass)
                current = np.append(intercept, coef)
                scale = max(1.0, np.max(np.abs(current)))
                size = np.max(np.abs(step - current))
                if size <= self.tol * scale:
                    converged = True
                    break
                if stats.n_saturated and size > 0.5 * previous:
                    break  # separation: steps no longer shrink, the MLE is at infinity
                previous = size
            intercept, coef = float(step[0]), step[1:]
        if not hasattr(self, "pass_stats_"):
            raise ValueError("IRLS could not start: every row has a zero weight.")
        self._warn(stats, converged)
        return self

    def _store(self, stats, solution, coef, intercept, n_pass):
        self.pass_stats_, self._solution = stats, solution
        self.coef_, self.intercept_ = coef, intercept
        self.n_iter_ = n_pass
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
        # statsmodels' scale: Pearson chi2 / df_resid, 1 without a dispersion
        scale = residual_variance(stats.pearson, n - p) if family.has_dispersion else 1.0
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
        params = np.append(self.intercept_, self.coef_) if self.fit_intercept else self.coef_.copy()
        fit_statistics = (
            ("Deviance:", f"{stats.deviance:.6g}"),
            ("Pearson chi2:", f"{stats.pearson:.4g}"),
            ("Scale:", f"{scale:.4g}"),
            ("No. Iterations:", self.n_iter_),
        )
        return RegressionResults(
            params=params, cov=cov, names=names, cov_type=cov_type, nobs=n,
            df_model=p - int(self.fit_intercept), df_resid=n - p, ssr=stats.deviance,
            tss=np.nan, has_intercept=self.fit_intercept, use_t=False,
            df_inference=float(n - p), n_clusters=n_clusters,
            target=getattr(self, "target_name_", "y"), scale=scale,
            model=f"GLM ({family.name}, {link.name})", method="IRLS (streamed)",
            title="Cumulative GLM (IRLS) Results", wald_f=True, fit_statistics=fit_statistics,
        )

    def summary(self, cov_type=None, alpha=0.05):
        """Text summary of :meth:`results`."""
        return self.results(cov_type).summary(alpha)

    def _linear_predictor(self, X):
        check_is_fitted(self, "pass_stats_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_

    def predict(self, X):
        """Predicted mean ``h(b0 + X b)``."""
        return self._family_link()[1].inverse(self._linear_predictor(X))

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
        ``classes_[1]`` is the event. :meth:`fit_chunks` needs labels 0/1.
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
        classes = np.unique(column_or_1d(y, warn=True))
        if len(classes) != 2:
            raise ValueError(f"Binary regression needs 2 classes; got {len(classes)} class.")
        self._reset()
        self.classes_ = classes
        X, y_encoded = validate_data(self, X, column_or_1d(y), reset=True, dtype=np.float64)
        y_encoded = (np.asarray(y_encoded) == classes[1]).astype(np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        clusters = self._check_clusters(clusters, len(X))
        self._iterate(lambda coef, b0: self._map(X, y_encoded, sample_weight, clusters, coef, b0))
        self.target_name_ = target_name(y)  # y's name, for the summaries
        return self

    def fit_chunks(self, chunks):
        """Fit from a re-iterable chunk source with labels 0/1 (one pass per iteration)."""
        super().fit_chunks(chunks)
        self.classes_ = np.array([0, 1])
        return self

    def _check_y(self, y):
        other = np.unique(y[(y != 0) & (y != 1)])
        if other.size:
            shown = ", ".join(f"{value:g}" for value in other[:10]) + (" ..." if other.size > 10 else "")
            raise ValueError(
                "fit_chunks needs the target coded 0/1 (1 = the event), but the target "
                f"holds other values: {shown}. Recode the target column to 0/1 (1 where "
                "the event happened), or fit in-memory rows with fit, which takes any two labels."
            )

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2)."""
        eta = self._linear_predictor(X)
        _, link = self._family_link()
        return np.column_stack([link.inverse_complement(eta), link.inverse(eta)])

    def decision_function(self, X):
        """The linear predictor ``b0 + X b``."""
        return self._linear_predictor(X)

    def predict(self, X):
        """The more probable class."""
        event = self.predict_proba(X)[:, 1] > 0.5
        return self.classes_[event.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
