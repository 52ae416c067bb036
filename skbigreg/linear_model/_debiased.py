"""One-shot debiased lasso over partitions: a regressor and a classifier.

The shared fitting machinery (validation, partitions, fitted attributes) is
:class:`~skbigreg.linear_model._debiased_base.BaseDebiasedDistributed`; the
inference both report is :class:`DebiasedInferenceMixin`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._compat import StrOptions, _fit_context
from ..inference import RegressionResults
from ..base import binary_classes, encode_binary, partitionwise
from ._debiased_base import BaseDebiasedDistributed, streamable

__all__ = ["DebiasedDistributedLasso", "DebiasedDistributedLogisticRegression"]

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
    debiased_intercept_ : float
        The intercept that goes with ``debiased_coef_`` (``const`` in
        :meth:`results`).
    threshold_ : ndarray of shape (n_features,)
        Thresholds applied.
    approx_inv_cov_ : ndarray of shape (n_features, n_features) or None
        Theta, the approximate inverse Hessian of the mean loss (the
        ``W_k``-weighted mean of the partitions' in ``local`` mode).
    covariance_ : ndarray of shape (n_features, n_features) or None
        Covariance of ``debiased_coef_``: ``sum_k (W_k / W)^2 Theta_k S_k
        Theta_k' / W_k`` (``local``) or ``Theta S Theta' / W`` (``split``),
        ``S`` the mean outer product of the scores at the local fits.
    bse_ : ndarray of shape (n_features,) or None
        Standard errors of ``debiased_coef_``: square roots of the diagonal
        of ``covariance_`` (see :meth:`results`).
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


#: The one covariance of the debiased coefficients (White's HC1 when unpenalized).
COV_TYPE = "HC1"


def debiased_results(estimator):
    """The :class:`~skbigreg.inference.RegressionResults` of a debiased fit.

    ``params`` are the debiased coefficients (before thresholding), after
    ``const``, the intercept that goes with them; the one-shot method
    debiases the slopes only, so the intercept's row and column of the
    covariance are NaN.
    """
    est = estimator
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(est.n_features_in_)]
    names = (["const"] if est.fit_intercept else []) + [str(n) for n in names]
    params, cov = est.debiased_coef_, est.covariance_
    if est.fit_intercept:
        params = np.r_[est.debiased_intercept_, params]
        cov = np.pad(cov, ((1, 0), (1, 0)), constant_values=np.nan)
    nobs = float(sum(r.weight for r in est.partition_results_))
    df_resid = nobs - len(params)
    return RegressionResults(
        params=params, cov=cov, names=names, cov_type=COV_TYPE, nobs=nobs,
        df_model=float(est.n_features_in_), df_resid=df_resid, ssr=np.nan, tss=np.nan,
        has_intercept=bool(est.fit_intercept), use_t=False, df_inference=df_resid,
        target="y", model=f"Lasso ({est._family()})", method="One-shot debiased",
        wald_f=True,
        no_prediction=(
            "The one-shot debiased lasso has no predicted means with standard errors: it "
            "debiases the slopes only (the intercept has none) and estimates no residual "
            "variance for observation intervals. Use predict(X) for point predictions, "
            "or t_test for a linear combination of the slopes."
        ),
        fit_statistics=(("Partitions:", f"{est.n_partitions_}"),
                        ("Nodewise:", est.nodewise),
                        ("Noise level (sigma):", f"{est.sigma_:.4g}")),
    )


class DebiasedInferenceMixin:
    """``results()`` and the tables of a fitted debiased estimator."""

    def results(self, cov_type=None):
        """Inference on the debiased coefficients (before thresholding).

        Parameters
        ----------
        cov_type : {None, "HC1"}, default=None
            The one covariance: the sandwich ``Theta S Theta' / W`` with the
            HC1 degrees-of-freedom factor (White's HC1 when unpenalized).

        Returns
        -------
        RegressionResults
            ``const`` first (its standard error is NaN: the method debiases
            the slopes only), then the features; normal reference distribution.
        """
        check_is_fitted(self, "coef_")
        if cov_type not in (None, COV_TYPE):
            raise ValueError(
                f"cov_type must be None or {COV_TYPE!r} (the debiased lasso's sandwich); "
                f"got {cov_type!r}."
            )
        if self.covariance_ is None:
            raise ValueError(
                f"Standard errors exist for method='debiased' only (method={self.method!r})."
            )
        return debiased_results(self)

    def conf_int(self, alpha=0.05):
        """Wald confidence intervals of ``results().params``, shape (n_params, 2)."""
        return self.results().conf_int(alpha)

    def summary_frame(self, alpha=0.05):
        """The coefficient table of :meth:`results`, with the thresholded coefficients."""
        frame = self.results().summary_frame(alpha)
        thresholded = np.r_[self.intercept_, self.coef_] if self.fit_intercept else self.coef_
        return frame.assign(thresholded=thresholded)

    def summary(self, alpha=0.05):
        """:meth:`results` as a :class:`~skbigreg.inference.Summary` (text, HTML)."""
        return self.results().summary(alpha, title="Debiased Distributed Lasso Results")


class DebiasedDistributedLasso(DebiasedInferenceMixin, RegressorMixin,
                               BaseDebiasedDistributed):
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
    >>> res = est.results()                 # const, then the 20 features
    >>> res.names[:3], res.conf_int(alpha=0.05).shape
    (['const', 'x0', 'x1'], (21, 2))
    """

    _parameter_constraints: dict = {
        **BaseDebiasedDistributed._parameter_constraints,
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

    @available_if(streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Add one partition (the chunk) and update the estimate.

        Available with ``nodewise="local"`` or a naive method. A chunk that
        fails leaves the estimator as it was. After the first call, a chunk
        with no rows or only rows of zero weight is a no-op (its feature
        count is still checked).

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

    @partitionwise
    def predict(self, X):
        """Mean response: ``X coef_ + intercept_`` (gaussian) or its exp (poisson)."""
        eta = self._linear_predictor(X)
        return np.exp(eta) if self.family == "poisson" else eta


class DebiasedDistributedLogisticRegression(DebiasedInferenceMixin, ClassifierMixin,
                                            BaseDebiasedDistributed):
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
            self.classes_ = binary_classes(y if classes is None else classes,
                                           type(self).__name__)
        return encode_binary(y, self.classes_)

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

    def _validate(self, X, y, sample_weight, first, **check):
        X, y, w = super()._validate(X, y, sample_weight, first, **check)
        if len(y):
            check_classification_targets(y)
        return X, y, w

    @available_if(streamable)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Add one partition (the chunk) and update the estimate.

        As :meth:`DebiasedDistributedLasso.partial_fit`.

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

    @partitionwise
    def decision_function(self, X):
        """Log-odds of ``classes_[1]``."""
        return self._linear_predictor(X)

    @partitionwise
    def predict_proba(self, X):
        """Probabilities of ``classes_``, shape (n_samples, 2)."""
        prob = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - prob, prob])

    @partitionwise
    def predict(self, X):
        """The more probable class."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]


for _cls in (DebiasedDistributedLasso, DebiasedDistributedLogisticRegression):
    _cls.__doc__ = _cls.__doc__.replace("    {common}", _COMMON_DOC.strip("\n")).replace(
        "    {attributes}", _COMMON_ATTRIBUTES.strip("\n")
    )
