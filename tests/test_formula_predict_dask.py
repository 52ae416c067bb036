"""A formula fit predicts a Dask DataFrame of raw rows lazily, partition by partition.

Each partition is encoded with the frozen ``design_spec_`` on the worker; the
oracle is the same estimator's prediction on the pandas frame in memory
(which test_formula_predict checks against statsmodels), and statsmodels'
formula prediction directly for OLS. Partitions are uneven and one is empty.
"""

import numpy as np
import pandas as pd
import pytest

from skbigreg.formula import feols, fit_formula, glm, iv, logit, ols, predict
from skbigreg.io import is_dask_collection

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
smf = pytest.importorskip("statsmodels.formula.api")

FORMULA = "y ~ np.log(x) + C(g, Treatment(reference='b')) + center(x) + z:x"
EXACT = 1e-12


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({"x": rng.uniform(1, 3, n), "z": rng.normal(size=n),
                       "g": rng.choice(["a", "b", "c"], n), "firm": rng.integers(0, 6, n),
                       "site": rng.choice(["north", "south"], n)})
    df["y"] = np.log(df.x) + (df.g == "c") + 0.5 * df.z * df.x + 0.3 * df.firm + rng.normal(size=n)
    df["count"] = rng.poisson(np.exp(0.3 * df.z))
    df["bought"] = (rng.random(n) < 1 / (1 + np.exp(-df.z))).astype(float)
    df["instrument"] = df.z + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def new(data):
    """Raw rows in a shuffled order with a non-default index and an unused column."""
    rows = data.drop(columns=["y", "count", "bought"]).sample(frac=0.3, random_state=1)
    return rows.assign(unused="u").set_index(rows.index + 1000)


def _lazy(frame):
    """Uneven partitions, the first emptied by a filter (a common shape of real frames)."""
    ddf = dd.from_pandas(frame.sort_values("x"), npartitions=4, sort=False)
    return ddf[ddf["x"] > frame["x"].sort_values().iloc[len(frame) // 4]]


def _kept(frame):
    return frame[frame["x"] > frame["x"].sort_values().iloc[len(frame) // 4]]


def _assert_same(lazy, expected, index):
    assert is_dask_collection(lazy)
    computed = lazy.compute()
    assert computed.index.equals(index)
    values = computed.to_numpy()
    np.testing.assert_allclose(values, expected, rtol=EXACT, atol=EXACT * np.abs(expected).max())


def test_ols_predicts_raw_dask_rows_as_in_memory_and_statsmodels(client, data, new):
    model = ols(FORMULA, data, chunk_rows=70)
    lazy = model.predict(_lazy(new))
    rows = _kept(new).sort_values("x")
    assert lazy.npartitions == 4
    _assert_same(lazy, model.predict(rows), rows.index)
    theirs = smf.ols(FORMULA, data).fit().predict(rows)
    np.testing.assert_allclose(lazy.compute().to_numpy(), theirs.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(predict(model, _lazy(new)).compute(), model.predict(rows), rtol=EXACT)


def test_glm_and_logit_methods_on_raw_dask_rows(client, data, new):
    poisson = glm("count ~ z + g", data, family="poisson", chunk_rows=90)
    rows = _kept(new).sort_values("x")
    _assert_same(poisson.predict(_lazy(new)), poisson.predict(rows), rows.index)
    model = logit("bought ~ z + np.log(x) + g", data, chunk_rows=90)
    _assert_same(model.predict_proba(_lazy(new)), model.predict_proba(rows), rows.index)
    _assert_same(model.decision_function(_lazy(new)), model.decision_function(rows), rows.index)
    labels = model.predict(_lazy(new)).compute()
    np.testing.assert_array_equal(labels.to_numpy(), model.predict(rows))
    assert labels.dtype == model.classes_.dtype


def test_labels_come_from_each_partitions_columns(client, data, new):
    """Absorbed effects, IV and per-partition models read their columns per partition."""
    from skbigreg.linear_model import GroupedLinearRegression

    unseen = new.assign(firm=np.where(np.arange(len(new)) % 7 == 0, 99, new["firm"]))
    rows = _kept(unseen).sort_values("x")
    effects = feols("y ~ x + z | firm", data, chunk_rows=80)
    _assert_same(effects.predict(_lazy(unseen)), effects.predict(rows), rows.index)
    two_stage = iv("y ~ x | z ~ instrument", data, chunk_rows=80)
    _assert_same(two_stage.predict(_lazy(new)), two_stage.predict(_kept(new).sort_values("x")),
                 _kept(new).sort_values("x").index)
    grouped = fit_formula(GroupedLinearRegression(), "y ~ np.log(x) + z + g", data,
                          partitions="site", chunk_rows=45)
    rows = _kept(new).sort_values("x")
    _assert_same(grouped.predict(_lazy(new)), grouped.predict(rows), rows.index)


def test_bad_raw_dask_rows_fail_as_in_memory(data, new):
    model = ols(FORMULA, data, chunk_rows=70)
    with pytest.raises(ValueError, match="names the column 'z'"):
        model.predict(dd.from_pandas(new.drop(columns="z"), npartitions=2, sort=False))  # now, not lazily
    effects = feols("y ~ x + z | firm", data, chunk_rows=80)
    with pytest.raises(ValueError, match="entities='firm' names the column 'firm'"):
        effects.predict(dd.from_pandas(new.drop(columns="firm"), npartitions=2, sort=False))
    with pytest.raises(ValueError, match="reads entities of a Dask DataFrame of raw rows"):
        effects.predict(dd.from_pandas(new, npartitions=2, sort=False), entities=new["firm"])
    late = new.copy()
    late.iloc[-1, late.columns.get_loc("g")] = "d"  # a level in the last partition only
    lazy = model.predict(dd.from_pandas(late, npartitions=3, sort=False))
    with pytest.raises(ValueError) as in_memory:
        model.predict(late)
    with pytest.raises(ValueError, match="'d'") as computed:
        lazy.compute(scheduler="sync")
    assert str(computed.value) == str(in_memory.value)


def test_the_lazy_prediction_is_of_the_model_as_it_was(data, new):
    model = ols(FORMULA, data, chunk_rows=70)
    expected = model.predict(new)
    lazy = model.predict(dd.from_pandas(new, npartitions=2, sort=False))
    model.partial_fit(model.design_spec_.transform(data), 2 * data["y"])  # the model moves on
    np.testing.assert_allclose(lazy.compute(scheduler="sync"), expected, rtol=EXACT)
