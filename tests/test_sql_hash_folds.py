"""Cross-validation push-down without ``groups=``: each row's fold hashed in SQL.

The oracle is ``hash_folds`` run in Python on the rows the pull path reads
(``read_sql`` -> Arrow -> numpy), independent of the SQL code: the fold the
database computes for every row must equal it, on DuckDB and PostgreSQL,
for columns of every numeric type and values whose bits are awkward (0.0,
-0.0, subnormals, 1e308, 0.1, -3). Then the cross-validated estimators on
``read_sql(...).pushdown()`` equal their pulled fits to 1e-10 and a
scikit-learn ``Ridge`` refit on every fold. PostgreSQL tests need
SKBIGREG_PG_DSN (``.ci/start_postgres``); without it they are skipped.
"""

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error

from skbigreg.io import ColumnError, read_sql
from skbigreg.io._sql_hash import fold_ctes
from skbigreg.linear_model import (
    CumulativeElasticNetCV,
    CumulativeLassoCV,
    CumulativeRidgeCV,
)
from skbigreg.model_selection import hash_folds
from skbigreg.model_selection._folds import row_hash_spec

duckdb = pytest.importorskip("duckdb")

PG_DSN = os.environ.get("SKBIGREG_PG_DSN")
needs_postgres = pytest.mark.skipif(
    not PG_DSN, reason="no PostgreSQL server: set SKBIGREG_PG_DSN (.ci/start_postgres starts one)")

SPECIAL = np.array([0.0, -0.0, 1e-310, -1e-310, 5e-324, 1e308, -1e308, 0.1, -3.0, 1.5, 2.0**60])
ALPHAS = np.logspace(-3, 2, 6)
NUMERIC = ["d", "r", "i", "b"]


def _special_frame(n=400, seed=0):
    """Columns of each numeric type, full of awkward values, and a categorical one."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "d": np.where(rng.random(n) < 0.5, rng.choice(SPECIAL, n), rng.normal(size=n)),
        "r": rng.choice([0.1, -0.0, 3.25, 1e-30, 7.0], n).astype(np.float32),
        "i": rng.integers(-5, 5, n).astype(np.int32),
        "b": rng.choice([0, -3, 2**53 + 1, -(2**62)], n).astype(np.int64),
        "site": rng.choice(["north", "south", "east"], n),
        "y": np.where(rng.random(n) < 0.3, rng.choice(SPECIAL, n), rng.normal(size=n)),
    })


def _duckdb_table(frame, name="t"):
    connection = duckdb.connect()
    connection.register("frame_view", frame)
    # The frame's dtypes give DOUBLE, REAL, INTEGER, BIGINT and VARCHAR columns.
    connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame_view")
    connection.unregister("frame_view")
    return connection


def _postgres_table(frame, table):
    psycopg = pytest.importorskip("psycopg")
    pytest.importorskip("psycopg.sql")
    connection = psycopg.connect(PG_DSN, autocommit=True)
    types = {np.dtype(np.float64): "float8", np.dtype(np.float32): "float4",
             np.dtype(np.int32): "int4", np.dtype(np.int64): "int8"}
    names = [psycopg.sql.Identifier(c).as_string(connection) for c in frame.columns]
    columns = ", ".join(f'{name} {types.get(frame[c].dtype, "text")}'
                        for name, c in zip(names, frame.columns))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} ({columns})")
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([v.item() if hasattr(v, "item") else v for v in row])
    return connection


def _drop(connection, table):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    connection.close()


def _pulled_rows(source):
    """``[X, y]`` as the pull path reads it, whatever the chunking."""
    chunks = list(source)
    X = np.vstack([np.asarray(c.X, dtype=np.float64) for c in chunks])
    y = np.concatenate([np.asarray(c.y, dtype=np.float64).ravel() for c in chunks])
    return X, y


def _sql_rows_and_folds(source, n_splits, random_state):
    """Each row's ``z = [X, y]`` and the fold the database hashes it into."""
    pushdown = source.pushdown()
    d = len(pushdown.feature_names) + 1
    columns = [f"z{j}" for j in range(d)]
    spec = row_hash_spec(d, n_splits, random_state)
    table = pushdown.relation.run(
        "WITH " + pushdown._src() + ", " + fold_ctes(pushdown.relation.driver.name, columns, spec)
        + " SELECT " + ", ".join(columns) + ", g FROM keyed")
    z = np.column_stack([table.column(c).to_numpy() for c in columns]).astype(np.float64)
    return z, table.column("g").to_numpy().astype(np.int64)


def _by_bits(z):
    """Rows sorted by their IEEE-754 bit patterns (so -0.0 and 0.0 differ)."""
    bits = np.ascontiguousarray(z).view(np.uint64)
    return np.lexsort(bits.T[::-1])


def _check_sql_folds(source, seeds, splits):
    X, y = _pulled_rows(source)
    pulled = np.column_stack([X, y])
    order = _by_bits(pulled)
    for random_state in seeds:
        for n_splits in splits:
            z, fold = _sql_rows_and_folds(source, n_splits, random_state)
            mine = _by_bits(z)
            # The database's values are the pulled float64s, bit for bit ...
            np.testing.assert_array_equal(z[mine].view(np.uint64), pulled[order].view(np.uint64))
            # ... and every row's fold is the one hash_folds gives the pulled row.
            expected = hash_folds(X, y, n_splits, random_state)
            np.testing.assert_array_equal(fold[mine], expected[order])
            assert set(np.unique(fold)) <= set(range(n_splits))


def test_duckdb_fold_of_every_row_equals_hash_folds():
    frame = _special_frame()
    connection = _duckdb_table(frame)
    source = read_sql("t", connection, target="y", features=[*NUMERIC, "site"],
                      categorical=["site"], batch_rows=97)
    _check_sql_folds(source, seeds=[None, 0, 7, 2**63 + 5, 2**64 - 1], splits=range(2, 11))
    # the awkward values did reach the hash: -0.0, a subnormal, REAL 0.1 widened exactly
    X, _ = _pulled_rows(source)
    assert np.signbit(X[:, 0][X[:, 0] == 0]).any() and (X[:, 0] == 1e-310).any()
    assert (X[:, 1] == float(np.float32(0.1))).any()


@needs_postgres
def test_postgres_fold_of_every_row_equals_hash_folds():
    frame = _special_frame(seed=1)
    table = f"hash_special_{os.getpid()}"
    connection = _postgres_table(frame, table)
    try:
        source = read_sql(table, connection, target="y", features=[*NUMERIC, "site"],
                          categorical=["site"], batch_rows=131)
        X, _ = _pulled_rows(source)
        assert np.signbit(X[:, 0][X[:, 0] == 0]).any() and (X[:, 0] == 1e-310).any()
        _check_sql_folds(source, seeds=[None, 3, 2**64 - 1], splits=range(2, 11))
    finally:
        _drop(connection, table)


def _regression_frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x0", "x1", "x2", "x3"])
    frame["x0"] += 40.0
    frame["k"] = rng.integers(-3, 4, n).astype(np.int64)  # an integer feature
    frame["y"] = 0.5 * frame["x0"] + frame["x1"] - 0.3 * frame["k"] + rng.normal(size=n)
    frame.loc[:5, "x2"] = [0.0, -0.0, 1e-310, -0.0, 0.1, -3.0]
    frame["w"] = rng.uniform(0.5, 2.0, n)
    return frame


FEATURES = ["x0", "x1", "x2", "x3", "k"]
ESTIMATORS = [
    CumulativeRidgeCV(alphas=ALPHAS, random_state=11),
    CumulativeLassoCV(cv=4, random_state=2),
    CumulativeElasticNetCV(l1_ratio=[0.2, 0.8], cv=7),
]


def _same_cv(pushed, pulled, rtol=1e-10):
    np.testing.assert_allclose(pushed.alphas_, pulled.alphas_, rtol=rtol)
    np.testing.assert_allclose(pushed.mse_path_, pulled.mse_path_, rtol=rtol)
    assert pushed.alpha_ == pytest.approx(pulled.alpha_, rel=rtol)
    np.testing.assert_allclose(pushed.coef_, pulled.coef_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(pushed.intercept_, pulled.intercept_, rtol=rtol, atol=1e-12)
    scores = [key for key in pulled.cv_results_ if key.startswith("split")]
    for key in scores:
        np.testing.assert_allclose(pushed.cv_results_[key], pulled.cv_results_[key], rtol=rtol)
    for mine, theirs in zip(pushed.fold_stats_.folds, pulled.fold_stats_.folds):
        assert mine.n_rows == theirs.n_rows
        np.testing.assert_allclose(mine.weight_sum, theirs.weight_sum, rtol=rtol)
        np.testing.assert_allclose(mine.mean, theirs.mean, rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(mine.comoment, theirs.comoment, rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_duckdb_cv_pushdown_without_groups_equals_pull(est, weight):
    connection = _duckdb_table(_regression_frame())
    source = read_sql("t", connection, target="y", features=FEATURES, sample_weight=weight,
                      batch_rows=512)
    pushed = type(est)(**est.get_params()).fit_chunks(source.pushdown())
    pulled = type(est)(**est.get_params()).fit_chunks(source)
    _same_cv(pushed, pulled)


def test_duckdb_ridge_cv_folds_equal_sklearn_refits():
    """Each fold's held-out MSE equals scikit-learn's Ridge refit on the rows
    hash_folds puts outside it (the oracle shares no code with the SQL)."""
    frame = _regression_frame(seed=4)
    connection = _duckdb_table(frame)
    source = read_sql("t", connection, target="y", features=FEATURES)
    est = CumulativeRidgeCV(alphas=ALPHAS, cv=5, random_state=9).fit_chunks(source.pushdown())
    X = frame[FEATURES].to_numpy(dtype=float)
    y = frame["y"].to_numpy()
    fold = hash_folds(X, y, 5, 9)
    for k in range(5):
        train, test = fold != k, fold == k
        for a, alpha in enumerate(np.sort(ALPHAS)[::-1]):  # mse_path_ runs down the alphas
            model = Ridge(alpha=alpha).fit(X[train], y[train])
            expected = mean_squared_error(y[test], model.predict(X[test]))
            assert est.mse_path_[a, k] == pytest.approx(expected, rel=1e-9)


def test_duckdb_bad_input_and_hostile_names():
    frame = _regression_frame(n=800)
    hostile = 'x"); DROP TABLE t; --'
    frame = frame.rename(columns={"x3": hostile})
    connection = _duckdb_table(frame)
    features = ["x0", "x1", "x2", hostile]
    source = read_sql("t", connection, target="y", features=features)
    est = CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source.pushdown())
    _same_cv(est, CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source))
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 800
    # a NULL in a feature: refused by name, and the previous fit is kept
    before = est.coef_.copy(), est.alpha_, est.fold_stats_
    connection.execute('UPDATE t SET x1 = NULL WHERE x0 > 40.5')
    with pytest.raises(ColumnError, match="features: column 'x1' has .*missing"):
        est.fit_chunks(source.pushdown())
    np.testing.assert_array_equal(est.coef_, before[0])
    assert est.alpha_ == before[1] and est.fold_stats_ is before[2]
    # missing="drop": the rows with a NULL leave both paths alike
    dropping = read_sql("t", connection, target="y", features=features, missing="drop")
    _same_cv(CumulativeLassoCV(cv=3).fit_chunks(dropping.pushdown()),
             CumulativeLassoCV(cv=3).fit_chunks(dropping))


@needs_postgres
@pytest.mark.parametrize("weight", [None, "w"])
def test_postgres_cv_pushdown_without_groups_equals_pull(weight):
    frame = _regression_frame(n=2000, seed=3)
    table = f"hash_cv_{os.getpid()}"
    connection = _postgres_table(frame, table)
    try:
        source = read_sql(table, connection, target="y", features=FEATURES,
                          sample_weight=weight, batch_rows=700)
        for est in ESTIMATORS:
            _same_cv(type(est)(**est.get_params()).fit_chunks(source.pushdown()),
                     type(est)(**est.get_params()).fit_chunks(source))
    finally:
        _drop(connection, table)


@needs_postgres
def test_postgres_hostile_name_and_null():
    frame = _regression_frame(n=600, seed=5).rename(columns={"x3": 'x"; DROP TABLE t; --'})
    table = f"hash_bad_{os.getpid()}"
    connection = _postgres_table(frame, table)
    try:
        features = ["x0", "x1", "x2", 'x"; DROP TABLE t; --']
        source = read_sql(table, connection, target="y", features=features)
        est = CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source.pushdown())
        _same_cv(est, CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source))
        alpha = est.alpha_
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET x2 = NULL WHERE x0 > 40.5")
        with pytest.raises(ColumnError, match="features: column 'x2' has .*missing"):
            est.fit_chunks(source.pushdown())
        assert est.alpha_ == alpha
    finally:
        _drop(connection, table)


def test_fold_grid_search_pushdown_equals_pull():
    from skbigreg.linear_model import CumulativeRidge
    from skbigreg.model_selection import FoldGridSearchCV

    connection = _duckdb_table(_regression_frame(n=1500, seed=6))
    for weight in (None, "w"):
        source = read_sql("t", connection, target="y", features=FEATURES, sample_weight=weight)
        search = FoldGridSearchCV(CumulativeRidge(), {"alpha": list(ALPHAS)}, cv=4,
                                  random_state=5, scoring="neg_mean_squared_error")
        pushed = clone(search).fit_chunks(source.pushdown())
        pulled = clone(search).fit_chunks(source)
        assert pushed.best_params_ == pulled.best_params_
        np.testing.assert_allclose(pushed.cv_results_["mean_test_score"],
                                   pulled.cv_results_["mean_test_score"], rtol=1e-10)
        np.testing.assert_allclose(pushed.best_estimator_.coef_, pulled.best_estimator_.coef_,
                                   rtol=1e-10)
        for mine, theirs in zip(pushed.fold_stats_.folds, pulled.fold_stats_.folds):
            assert mine.n_rows == theirs.n_rows
            np.testing.assert_allclose(mine.comoment, theirs.comoment, rtol=1e-10, atol=1e-9)
    qr = FoldGridSearchCV(CumulativeRidge(solver="qr"), {"alpha": [1.0]})
    with pytest.raises(ValueError, match="solver='gram'"):
        qr.fit_chunks(source.pushdown())
    assert not hasattr(qr, "best_estimator_")
