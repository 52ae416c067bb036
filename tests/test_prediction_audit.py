"""``results().get_prediction(X).summary_frame()`` of every estimator that reports inference.

OLS/WLS and GLM predictions are tested against statsmodels elsewhere
(test_hc23_prediction.py, test_glm_irls.py). Here: IV (the closed form
``x0' V x0`` with linearmodels' covariance), grouped subsets (statsmodels
on the subset's rows), SMR (statsmodels' GLM prediction at the model's
parameters and ``cov_params``), and the models that refuse with a reason
(absorbed effects, the debiased lasso).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as distributions

from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    DebiasedDistributedLasso,
    GroupedLinearRegression,
    SMRLogisticRegression,
)

iv_model = pytest.importorskip("linearmodels.iv")


def _iv_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    z, u, exog = rng.normal(size=(3, n))
    x = z + u + rng.normal(size=n)
    y = 1.0 + 0.5 * x - exog + u + rng.normal(size=n)
    return pd.DataFrame({"y": y, "exog": exog, "x": x, "z": z,
                         "firm": rng.integers(0, 30, n)})


@pytest.mark.parametrize("cov_type", ["nonrobust", "cluster"])
def test_iv_prediction_is_the_closed_form_with_linearmodels_cov(cov_type):
    data = _iv_data()
    model = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type=cov_type)
    for s in range(0, len(data), 100):
        part = data.iloc[s:s + 100]
        model.partial_fit(part[["exog", "x", "z"]], part.y, clusters=part.firm)
    kwargs = {"cov_type": "unadjusted"} if cov_type == "nonrobust" else {
        "cov_type": "clustered", "clusters": data.firm}
    ref = iv_model.IV2SLS(data.y, sm.add_constant(data[["exog"]]), data[["x"]], data[["z"]]) \
        .fit(debiased=True, **kwargs)
    new = pd.DataFrame({"exog": [0.0, 1.0, -2.0], "x": [0.5, 2.0, 1.0]}, index=[7, 8, 9])
    frame = model.results().get_prediction(new).summary_frame(alpha=0.1)
    x0 = sm.add_constant(new)[["const", "exog", "x"]].to_numpy()
    params = ref.params[["const", "exog", "x"]].to_numpy()
    cov = ref.cov.loc[["const", "exog", "x"], ["const", "exog", "x"]].to_numpy()
    mean, se = x0 @ params, np.sqrt(np.einsum("ij,jk,ik->i", x0, cov, x0))
    np.testing.assert_allclose(frame["mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(frame["mean_se"], se, rtol=1e-10)
    # intervals: t(n - k) for nonrobust (statsmodels' convention), normal for cluster
    s2 = float(ref.resids @ ref.resids) / (len(data) - 3)
    q = (distributions.t.ppf(0.95, len(data) - 3) if cov_type == "nonrobust"
         else distributions.norm.ppf(0.95))
    np.testing.assert_allclose(frame["mean_ci_lower"], mean - q * se, rtol=1e-10)
    np.testing.assert_allclose(frame["obs_ci_upper"], mean + q * np.sqrt(se**2 + s2), rtol=1e-10)
    assert list(frame.index) == [7, 8, 9]
    # the excluded instrument is not a regressor: a clear error names the columns
    with pytest.raises(ValueError, match="fitted on"):
        model.results().get_prediction(new.assign(z=0.0))


def test_grouped_subset_prediction_equals_statsmodels_on_its_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(900, 2))
    parts = rng.integers(0, 5, 900)
    w = rng.uniform(0.5, 2.0, 900)
    y = 1.0 + X @ [1.0, -1.0] + parts + rng.normal(size=900)
    est = GroupedLinearRegression().fit(X, y, w, partitions=parts)
    rows = np.isin(parts, [1, 3])
    ref = sm.WLS(y[rows], sm.add_constant(X[rows]), weights=w[rows]).fit()
    new = rng.normal(size=(4, 2))
    expected = ref.get_prediction(sm.add_constant(new)).summary_frame(0.05)
    found = est.subset([1, 3]).results().get_prediction(new).summary_frame(0.05)
    np.testing.assert_allclose(found.to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_smr_prediction_is_statsmodels_glm_prediction_at_its_cov_params():
    from statsmodels.genmod.generalized_linear_model import GLMResults

    rng = np.random.default_rng(2)
    X = rng.normal(size=(20_000, 2))
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5])))).astype(float)
    model = SMRLogisticRegression().fit(X, y)
    res = model.results()
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial())
    oracle = GLMResults(glm, res.params.to_numpy(), res.cov_params().to_numpy(), 1.0)
    new = rng.normal(size=(5, 2))
    expected = oracle.get_prediction(sm.add_constant(new)).summary_frame(alpha=0.05)
    found = res.get_prediction(new).summary_frame(alpha=0.05)
    assert list(found.columns) == list(expected.columns)  # the mean's columns only
    np.testing.assert_allclose(found.to_numpy(), expected.to_numpy(), rtol=1e-10)
    assert ((found["mean"] > 0) & (found["mean"] < 1)).all()


def test_fixed_effects_prediction_is_refused_with_the_reason():
    rng = np.random.default_rng(3)
    person = np.repeat(np.arange(50), 4)
    X = rng.normal(size=(200, 1))
    y = 2.0 * X[:, 0] + rng.normal(size=50)[person] + rng.normal(size=200)
    res = CumulativeFixedEffectsRegression().fit(X, y, entities=person).results()
    with pytest.raises(ValueError, match="needs its level's effect"):
        res.get_prediction(X[:3])
    # what it points to works: x'b differences by t_test
    assert np.isfinite(res.t_test("x0 = 2").pvalue).all()


def test_debiased_prediction_is_refused_with_the_reason():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 4))
    y = X @ [1.0, 0.0, -1.0, 0.0] + rng.normal(size=600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = DebiasedDistributedLasso().fit(X, y, partitions=np.arange(600) % 3)
    with pytest.raises(ValueError, match="debiases the slopes only"):
        est.results().get_prediction(X[:2])
