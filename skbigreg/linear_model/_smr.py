"""Score-matching representative (SMR) GLMs on partitioned data (Li & Yang).

# beta^(t+1) = argmax_beta sum_k n_k loglik(ybar_k; h(x*_k' beta)),  x*_k built at beta^(t)

Each block of rows becomes one weighted representative row; only
representatives reach the coordinator, which fits a small weighted GLM on
them. ``method="mr"`` stops at the mean representatives; ``"smr"``
(default) iterates ``n_iter`` times from there. The shared fitting
machinery is :class:`skbigreg.linear_model._smr_base._BaseSMR`.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from .._compat import StrOptions, _fit_context
from ..glm import FAMILIES, LINKS, get_family_link
from ..base import binary_classes, encode_binary, rollback_on_error, partitionwise
from ._smr_base import _BaseSMR

__all__ = ["SMRGLM", "SMRLogisticRegression", "SMRPoissonRegressor"]


class SMRLogisticRegression(ClassifierMixin, _BaseSMR):
    """Binary logistic regression from score-matching representatives of blocks.

    Maximises the weighted log-likelihood of the representatives,
    ``sum_k n_k [ybar_k log p(x*_k) + (1 - ybar_k) log(1 - p(x*_k))]`` with
    ``p(x) = 1 / (1 + exp(-x' beta))``, where the representative
    ``x*_k`` of block ``k`` carries the block's score
    ``sum_{i in k} w_i (y_i - p(x_i)) x_i`` at the previous estimate
    (SMR), or is the block mean (MR).

    Parameters
    ----------
    method : {"smr", "mr"}, default="smr"
        Score-matching representatives iterated ``n_iter`` times from the
        start, or mean representatives only.
    n_iter : int, default=3
        SMR iterations T (each a pass over the rows).
    init : "mr" or array-like of shape (n_features + 1,), default="mr"
        Start of the SMR iterations: the MR estimate, or given coefficients
        (intercept first when ``fit_intercept``).
    sign_split : {"auto", "hull", "no_root"}, default="auto"
        Which blocks are split by the sign of their residuals (see Notes):
        those without a usable root of the scalar equation (``"no_root"``,
        the rule that reproduces the paper's tables), also those whose
        representative leaves the block's bounding box (``"hull"``), or,
        per iteration, ``"hull"`` when its fit is predicted to shrink the
        distance to the full-data MLE at least twofold and ``"no_root"``
        otherwise (``"auto"``; one extra ``p x p`` product per pass).
    partition : {"grid", "kmeans", "subset_kmeans", "none"}, default="grid"
        How blocks are cut (inside each natural partition): equal-depth grid
        of ``n_bins`` quantile bins per covariate; k-means with
        ``n_clusters``; k-means centres from ``subset_size`` random rows
        (scikit-learn's MiniBatchKMeans) with every row assigned to its
        nearest centre; or the natural partitions alone.
    n_bins : int, default=4
        m, bins per covariate of the grid.
    n_clusters : int, default=1000
        K for the k-means partitions (capped at the rows of each partition).
    subset_size : int, default=100_000
        Rows used to find the centres under ``"subset_kmeans"``.
    fit_intercept : bool, default=True
    tol : float, default=1e-10
        Convergence tolerance of IRLS on the representatives.
    max_iter : int, default=100
        IRLS iterations on the representatives.
    n_jobs : int, default=None
        Parallel block sums through joblib (any backend).
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means partitions.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    representatives_ : Representatives
        The weighted rows the final fit used (design rows with the
        intercept coordinate first, mean responses, weights, block ids,
        kinds): what a coordinator receives.
    n_iter_ : int
        SMR iterations done (0 for MR).
    sign_splits_ : list of str
        After :meth:`fit` or :meth:`fit_chunks`: the sign-split rule of each
        SMR iteration (``"hull"`` or ``"no_root"``).
    cov_params_ : ndarray of shape (n_params, n_params)
        Covariance of ``(intercept, coef)`` from the representatives' information.
    bse_ : ndarray of shape (n_params,)
        Standard errors, intercept first.
    rank_ : int
        Numerical rank of the representatives' design; below the parameter
        count a :class:`~skbigreg.exceptions.CollinearityWarning` is given
        (see :meth:`results`).
    dispersion_ : float
    n_chunks_seen_ : int
        Chunks seen by :meth:`partial_fit`.
    chunk_sums_ : list of ChunkSums
        After :meth:`partial_fit` under SMR: each chunk's piece sums and
        information at the estimate of its last pass (see there).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    SMRGLM : the same for other families and links.
    sklearn.linear_model.LogisticRegression : the full-data fit in memory.

    Notes
    -----
    Li and Yang, *Score-matching representative approach for big data
    analysis with generalized linear models*.

    Blocks and partitions: with ``partitions=`` each natural block (site,
    file, month) is cut by ``partition`` on its own rows; without, the whole
    data are cut. ``"grid"`` makes up to ``n_bins**n_features`` cells (empty
    ones dropped, so never more blocks than rows); k-means caps K at the
    rows. On tiny data the default still gives a defined fit: a block whose
    rows share one covariate pattern (a block of one row, say) is
    represented by its mean point, which carries its score exactly, and a
    representative fit with fewer rows than parameters takes the
    minimum-norm step.

    Sign split: a block whose scalar equation has no root (or whose root
    makes ``x*`` explode) is split by the sign of ``e_i``, one
    representative per piece (kind ``"split"``); a piece that still has no
    root is represented by its mean point (kind ``"fallback"``). Under
    ``"hull"`` a block whose representative leaves its bounding box (on the
    coordinates that vary in the block) is split too, when both pieces have
    a root. Near the full-data MLE a block's residual sum is noise and most
    representatives leave their blocks (11,868 of 16,384 on the paper's
    BETA design); they inflate the representatives' information, so each
    step moves by ``I_R^-1 s`` instead of ``I^-1 s`` and SMR stalls
    (factor 0.98-1.00 per iteration; BETA, N = 10^6, quartile grid: 1.74e-3
    RMSE of the slopes from the full-data MLE after T = 3, MR 1.89e-3). The
    pieces lie near their blocks' means (factor 0.05; 2e-7 after T = 3), but
    miss the spread of the rows inside the blocks: on coarse blocks the step
    overshoots. ``"auto"`` computes the factor (the spectral radius of
    ``1 - I_R^-1 I``, with ``I`` the rows' information the nodes send) and
    splits by the box when it is below 0.5. Every representative but a
    fallback carries its block's score, so the full-data MLE is a fixed
    point under any rule.

    Standard errors: under SMR, ``cov_params_`` is ``dispersion_`` times the
    inverse of the rows' expected information ``sum_i w_i nu_i h'_i x_i x_i'``,
    summed by the nodes in the last pass (p x p numbers each), so at the
    coefficients that pass was made at (one iteration before the final
    ones): the full-data model-based (Fisher) errors up to that last step.
    The information of the fit on the representatives themselves is not
    used for SMR: representatives outside their blocks inflate it, and
    sign-split pieces miss the spread inside them.
    After ``partial_fit`` under SMR it is the sum of each chunk's rows'
    information taken at the coefficients of that chunk's last pass. Under
    MR there is no such pass and the representatives' information is used:
    it ignores the covariate spread inside blocks, so the errors are too
    large when blocks are wide, and exact when blocks are made of identical
    covariate patterns. ``dispersion_`` is 1 for binomial and Poisson;
    otherwise the row Pearson statistic over the weight sum minus the
    parameter count, taken at the coefficients of the last pass (one extra
    pass under MR).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import SMRLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20000, 2))
    >>> y = rng.random(20000) < 1 / (1 + np.exp(-(X @ [1.0, -1.0])))
    >>> model = SMRLogisticRegression().fit(X, y)
    >>> np.round(model.coef_, 1)
    array([[ 1., -1.]])
    >>> len(model.representatives_.y) < 100
    True
    """

    def _family_link(self):
        return get_family_link("binomial", "logit")

    def _encode_y(self, y, first_call):
        check_classification_targets(y)
        if first_call and not getattr(self, "_classes_given", False):
            y_type = type_of_target(y, input_name="y")
            if y_type != "binary":
                raise ValueError(
                    f"Only binary classification is supported. The type of the target is {y_type}."
                )
            self.classes_ = np.unique(y)
        binary_classes(self.classes_, type(self).__name__)
        return encode_binary(y, self.classes_)

    def fit_chunks(self, chunks, classes=None):
        """Fit from a re-iterable chunk source, one pass per SMR iteration.

        As :meth:`SMRGLM.fit_chunks`; ``classes`` (the two labels) is needed
        unless the first chunk holds both.

        Parameters
        ----------
        chunks : iterable of chunks or callable
        classes : array-like of shape (2,), optional

        Returns
        -------
        self
        """
        # the snapshot is taken before the given classes are set
        with rollback_on_error(self), self._given_classes(classes, reset=True):
            return super().fit_chunks(chunks)

    @contextmanager
    def _given_classes(self, classes, reset):
        if classes is not None and (reset or not hasattr(self, "coef_")):
            self.classes_ = binary_classes(classes, type(self).__name__)
            self._classes_given = True
        try:
            yield
        finally:
            vars(self).pop("_classes_given", None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, partitions=None, classes=None):
        """Add one chunk as new blocks, built at the current estimate, and refit.

        As :meth:`SMRGLM.partial_fit`; ``classes`` (the two labels) is
        needed on the first call unless that chunk holds both.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        partitions : array-like of shape (n_samples,), optional
        classes : array-like of shape (2,), optional

        Returns
        -------
        self
        """
        with rollback_on_error(self), self._given_classes(classes, reset=False):
            self._partial_fit(X, y, sample_weight, partitions)
        return self

    def _set_coef(self, coef):
        slope = coef[1:] if self.fit_intercept else coef
        self.coef_ = slope.reshape(1, -1)
        self.intercept_ = np.array([coef[0] if self.fit_intercept else 0.0])

    @partitionwise
    def decision_function(self, X):
        """Linear predictor ``X coef_' + intercept_`` (log-odds of ``classes_[1]``)."""
        return self._linear_predictor(X)

    @partitionwise
    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = LINKS["logit"].inverse(self.decision_function(X))
        return np.column_stack([1 - p, p])

    @partitionwise
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        eta = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0, eta), -np.logaddexp(0, -eta)])

    @partitionwise
    def predict(self, X):
        """The class with the larger probability."""
        eta = self.decision_function(X)
        return self.classes_[(eta > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


# The parameters and fitted attributes SMRGLM and SMRPoissonRegressor share;
# ``{see}`` points to the partial_fit that documents ``chunk_sums_``.
_REGRESSOR_PARAMETERS = """method, n_iter, init, sign_split, partition, n_bins, n_clusters, \
subset_size, fit_intercept, tol, max_iter, n_jobs, random_state
        As :class:`SMRLogisticRegression`."""
_REGRESSOR_ATTRIBUTES = """coef_ : ndarray of shape (n_features,)
    intercept_ : float
    representatives_ : Representatives
    n_iter_ : int
    cov_params_ : ndarray of shape (n_params, n_params)
    bse_ : ndarray of shape (n_params,)
    rank_ : int
    dispersion_ : float
    n_chunks_seen_ : int
    chunk_sums_ : list of ChunkSums
        After :meth:`partial_fit` under SMR ({see}).
    n_features_in_ : int
    feature_names_in_ : ndarray of str"""


class _SMRRegressor(RegressorMixin, _BaseSMR):
    """A GLM regressor predicting the mean ``h(x' beta)``."""

    def _encode_y(self, y, first_call):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            y = y.ravel()
        self._family_link()[0].check_y(y)
        return y

    def _set_coef(self, coef):
        self.coef_ = coef[1:] if self.fit_intercept else coef
        self.intercept_ = float(coef[0]) if self.fit_intercept else 0.0

    @partitionwise
    def predict(self, X):
        """Predicted mean ``h(X coef_ + intercept_)``."""
        return self._family_link()[1].inverse(self._linear_predictor(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self._family_link()[0].name in (
            "poisson", "gamma", "inverse_gaussian",
        )
        return tags


class SMRGLM(_SMRRegressor):
    """A GLM of any family and link from score-matching representatives of blocks.

    Maximises the weighted log-likelihood of the representatives,
    ``sum_k n_k loglik(ybar_k; h(x*_k' beta))``, where ``x*_k`` carries the
    score ``sum_{i in k} w_i (y_i - h(eta_i)) nu(eta_i) x_i`` of block ``k``
    at the previous estimate (SMR), or is the block mean (MR);
    ``nu = h' / V(h)``.

    Parameters
    ----------
    family : {"gaussian", "binomial", "poisson", "gamma", "inverse_gaussian"}, \
            default="gaussian"
        Binomial responses are proportions in [0, 1] (``sample_weight``
        then counts trials).
    link : str or None, default=None
        The family's default when None: identity, logit, log, inverse
        (Gamma, 1/mu) and inverse_squared (1/mu², inverse Gaussian).
        Binomial also takes probit, cloglog, loglog and cauchit.
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    SMRLogisticRegression : the binary classifier.
    SMRPoissonRegressor : ``SMRGLM(family="poisson")``.
    statsmodels.genmod.generalized_linear_model.GLM : the full-data fit in memory.

    Notes
    -----
    Partitions, the sign split and the meaning of the standard errors are as
    in :class:`SMRLogisticRegression` (see its Notes and the user guide).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import SMRGLM
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20000, 2))
    >>> y = rng.random(20000) < 1 - np.exp(-np.exp(X @ [0.5, -0.5]))
    >>> model = SMRGLM(family="binomial", link="cloglog").fit(X, y)
    >>> np.round(model.coef_, 1)
    array([ 0.5, -0.5])
    """

    _parameter_constraints: dict = {
        **_BaseSMR._parameter_constraints,
        "family": [StrOptions(set(FAMILIES))],
        "link": [None, StrOptions(set(LINKS))],
    }

    def __init__(
        self,
        family="gaussian",
        link=None,
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
        super().__init__(
            method=method, n_iter=n_iter, init=init, sign_split=sign_split,
            partition=partition, n_bins=n_bins,
            n_clusters=n_clusters, subset_size=subset_size, fit_intercept=fit_intercept,
            tol=tol, max_iter=max_iter, n_jobs=n_jobs, random_state=random_state,
        )
        self.family = family
        self.link = link

    def _family_link(self):
        return get_family_link(self.family, self.link)


class SMRPoissonRegressor(_SMRRegressor):
    """Poisson regression with a log link from score-matching representatives.

    ``SMRGLM(family="poisson", link="log")``: maximises
    ``sum_k n_k (ybar_k x*_k' beta - exp(x*_k' beta))`` over the
    representatives.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    SMRGLM : any family and link.
    sklearn.linear_model.PoissonRegressor : the full-data (penalised) fit in memory.

    Notes
    -----
    A steep inverse link slows SMR: the paper reports a larger error for
    Poisson than for logistic on the same partition; a finer partition or
    more iterations help.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.linear_model import SMRPoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20000, 2))
    >>> y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.2]))
    >>> np.round(SMRPoissonRegressor().fit(X, y).coef_, 1)
    array([ 0.5, -0.2])
    """

    def _family_link(self):
        return get_family_link("poisson", "log")


for _cls, _see in ((SMRGLM, "see there"), (SMRPoissonRegressor, "see :meth:`SMRGLM.partial_fit`")):
    _cls.__doc__ = _cls.__doc__.replace("{parameters}", _REGRESSOR_PARAMETERS).replace(
        "{attributes}", _REGRESSOR_ATTRIBUTES.replace("{see}", _see)
    )
