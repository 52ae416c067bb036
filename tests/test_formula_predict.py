"""A formula-fitted estimator's own predict/score/get_prediction take raw frames.

The frozen encoding travels with the estimator as ``design_spec_`` (the
protocol of ``skbigreg.base._design``): statsmodels' formula models do the
same with ``results.predict(new_df)`` and ``results.get_prediction(new_df)``,
the references here.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score

from skbigreg.formula import design, feols, glm, iv, logit, ols, predict

smf = pytest.importorskip("statsmodels.formula.api")
sm = pytest.importorskip("statsmodels.api")

RTOL = 1e-10
FORMULA = "y ~ np.log(x) + C(g, Treatment(reference='b')) + center(x) + z:x"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n = 500
    df = pd.DataFrame({"x": rng.uniform(1, 3, n), "z": rng.normal(size=n),
                       "g": rng.choice(["a", "b", "c"], n), "firm": rng.integers(0, 8, n)})
    df["y"] = (np.log(df.x) + (df.g == "c") + 0.5 * df.z * df.x + 0.2 * df.firm
               + rng.normal(size=n))
    df["count"] = rng.poisson(np.exp(0.3 * df.z + 0.2 * (df.g == "c")))
    df["bought"] = (rng.random(n) < 1 / (1 + np.exp(-df.z))).astype(float)
    df["instrument"] = df.z + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def new():
    """Raw rows: extra columns and a shuffled order are allowed."""
    return pd.DataFrame({"g": ["c", "a", "b", "a"], "unused": ["p", "q", "r", "s"],
                         "z": [0.1, -1.2, 2.0, 0.0], "x": [1.5, 2.5, 1.1, 2.9]},
                        index=[10, 11, 12, 13])


def _equal_frames(ours, theirs, rtol=RTOL):
    assert list(ours.columns) == list(theirs.columns)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=rtol,
                               atol=rtol * np.abs(theirs.to_numpy()).max())


def test_predict_and_get_prediction_on_raw_frames_equal_statsmodels(data, new):
    model = ols(FORMULA, data, chunk_rows=60)
    theirs = smf.ols(FORMULA, data).fit()
    np.testing.assert_allclose(model.predict(new), theirs.predict(new), rtol=RTOL)
    for alpha in (0.05, 0.2):
        ours = model.results().get_prediction(new).summary_frame(alpha=alpha)
        reference = theirs.get_prediction(new).summary_frame(alpha=alpha)
        _equal_frames(ours, reference)
        assert list(ours.index) == list(new.index)
    # the design itself is still the design
    np.testing.assert_array_equal(model.predict(design(model, new)), model.predict(new))
    np.testing.assert_array_equal(model.predict(new), predict(model, new))
    # score on raw rows is R² of the raw-row predictions
    assert model.score(data, data["y"]) == pytest.approx(
        r2_score(data["y"], theirs.predict(data)), rel=RTOL)


def test_robust_prediction_intervals_equal_statsmodels(data, new):
    model = ols(FORMULA, data, cov_type="HC1", chunk_rows=60)
    theirs = smf.ols(FORMULA, data).fit(cov_type="HC1")
    _equal_frames(model.results().get_prediction(new).summary_frame(),
                  theirs.get_prediction(new).summary_frame())


def test_pickled_model_keeps_the_spec_and_clone_drops_it(data, new):
    model = ols(FORMULA, data, chunk_rows=60)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(new), model.predict(new))
    _equal_frames(copy.results().get_prediction(new).summary_frame(),
                  model.results().get_prediction(new).summary_frame(), rtol=0)
    fresh = clone(model)
    assert not hasattr(fresh, "design_spec_")
    # a refit on a design forgets the formula's encoding
    refit = clone(model).fit(design(model, data), data["y"])
    assert not hasattr(refit, "design_spec_")
    with pytest.raises(ValueError, match="feature names"):
        refit.predict(new[["x", "z", "g"]])


def test_raw_rows_missing_a_column_or_with_an_unseen_level_are_refused(data, new):
    model = ols(FORMULA, data, chunk_rows=60)
    with pytest.raises(ValueError, match=r"names the column 'z', which the data does not have"):
        model.predict(new.drop(columns="z"))
    with pytest.raises(ValueError, match=r"names the column 'z'"):
        model.results().get_prediction(new.drop(columns="z"))
    with pytest.raises(ValueError, match=r"Column 'g' has the level 'd', which is not among"):
        model.predict(new.assign(g=["a", "d", "b", "c"]))
    with pytest.raises(ValueError, match=r"Column 'x' has 1 missing value"):
        model.results().get_prediction(new.assign(x=[1.0, np.nan, 2.0, 2.0]))


def test_polars_and_arrow_raw_frames(data, new):
    polars = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    model = ols(FORMULA, data, chunk_rows=60)
    expected = model.predict(new)
    np.testing.assert_allclose(model.predict(polars.from_pandas(new)), expected, rtol=RTOL)
    np.testing.assert_allclose(model.predict(pa.Table.from_pandas(new, preserve_index=False)),
                               expected, rtol=RTOL)


def test_glm_and_logit_predict_raw_frames_as_statsmodels(data, new):
    formula = "count ~ z + C(g) + np.log(x)"
    model = glm(formula, data, family="poisson", chunk_rows=70)
    theirs = smf.glm(formula, data, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(model.predict(new), theirs.predict(new), rtol=1e-8)
    ours = model.results().get_prediction(new).summary_frame()
    reference = theirs.get_prediction(new).summary_frame()
    np.testing.assert_allclose(ours.to_numpy(), reference[ours.columns].to_numpy(), rtol=1e-7)
    binary = logit("bought ~ z + g", data, chunk_rows=70)
    reference = smf.logit("bought ~ z + g", data).fit(disp=0, tol=1e-12).predict(new)
    np.testing.assert_allclose(binary.predict_proba(new)[:, 1], reference, rtol=1e-7)


def test_absorbed_effects_and_iv_read_their_columns_from_raw_frames(data, new):
    model = feols("y ~ x + z | firm", data, chunk_rows=80)
    rows = new.assign(firm=[0, 3, 7, 99])  # 99: a level not seen in fit gets intercept_
    np.testing.assert_array_equal(model.predict(rows), predict(model, rows))
    effects = model.effects().reindex(rows["firm"]).to_numpy()
    by_hand = rows[["x", "z"]].to_numpy() @ model.coef_ + np.where(
        np.isnan(effects), model.intercept_, effects)
    np.testing.assert_allclose(model.predict(rows), by_hand, rtol=RTOL)
    assert model.score(data, data["y"]) == pytest.approx(
        r2_score(data["y"], predict(model, data)), rel=RTOL)
    with pytest.raises(ValueError, match=r"entities='firm' names the column 'firm'"):
        predict(model, new)
    two_stage = iv("y ~ x | z ~ instrument", data, chunk_rows=80)
    np.testing.assert_array_equal(two_stage.predict(new.assign(instrument=0.0)),
                                  predict(two_stage, new.assign(instrument=0.0)))


def test_grouped_and_penalized_estimators_through_fit_formula(data, new):
    """One model per partition equals statsmodels on each partition's rows."""
    from skbigreg.formula import fit_formula
    from skbigreg.linear_model import CumulativeElasticNet, GroupedLinearRegression

    formula = "y ~ np.log(x) + z + g"
    sites = data.assign(site=np.where(data["firm"] < 4, "north", "south"))
    model = fit_formula(GroupedLinearRegression(), formula, sites, partitions="site",
                        chunk_rows=45)
    rows = new.assign(site=["south", "north", "north", "south"])
    expected = np.empty(len(rows))
    for site in ("north", "south"):
        theirs = smf.ols(formula, sites[sites["site"] == site]).fit()
        mine = rows["site"].to_numpy() == site
        expected[mine] = theirs.predict(rows[mine])
        subset = model.partitions_.tolist().index(site)
        np.testing.assert_allclose(model.partition_coef_[subset],
                                   theirs.params[model.feature_names_in_].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-9)
    assert model.score(sites, sites["y"]) == pytest.approx(
        r2_score(sites["y"], model.predict(sites)), rel=RTOL)
    net = fit_formula(CumulativeElasticNet(alpha=0.01, l1_ratio=0.5), formula, data)
    np.testing.assert_allclose(net.predict(new), net.predict(design(net, new)), rtol=RTOL)
