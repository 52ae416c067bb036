"""SQL push-down of fold statistics: Ridge/Lasso/ElasticNet and their CV on a table.

The database computes each ``groups`` label's centred statistics (one
``GROUP BY``); the groups are hashed into folds exactly as
``hash_folds(groups=...)`` hashes them, so the push-down fit equals the
pulled fit (1e-10) and an explicit scikit-learn refit on every fold.
"""

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LassoCV, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import PredefinedSplit

from skbigreg.io import ColumnError, read_sql
from skbigreg.linear_model import (
    CumulativeElasticNetCV,
    CumulativeLasso,
    CumulativeLassoCV,
    CumulativeRidge,
    CumulativeRidgeCV,
)
from skbigreg.model_selection import hash_folds

duckdb = pytest.importorskip("duckdb")

FEATURES = [f"x{i}" for i in range(5)]
ALPHAS = np.logspace(-2, 3, 7)


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=FEATURES)
    frame["x0"] += 40.0
    frame["y"] = 0.5 * frame["x0"] + frame["x1"] - frame["x2"] + rng.normal(size=n)
    frame["customer"] = rng.integers(0, 200, n)
    frame["site"] = np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)]
    frame["w"] = rng.uniform(0.5, 2.0, n)
    return frame


def _same_cv(a, b, rtol=1e-10):
    np.testing.assert_allclose(a.alphas_, b.alphas_, rtol=rtol)
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=rtol)
    assert a.alpha_ == pytest.approx(b.alpha_, rel=rtol)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=rtol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("groups", ["customer", "site"])
def test_ridge_cv_pushdown_equals_pull_and_sklearn_refits(con, groups, weighted):
    connection, frame = con
    weight = "w" if weighted else None
    source = read_sql("t", connection, target="y", features=FEATURES, groups=groups,
                      sample_weight=weight, batch_rows=500)
    spec = {"alphas": ALPHAS, "cv": 5, "random_state": 3}
    pushed = CumulativeRidgeCV(**spec).fit_chunks(source.pushdown())
    _same_cv(pushed, CumulativeRidgeCV(**spec).fit_chunks(source))
    # the oracle: sklearn's Ridge refitted on every fold of hash_folds(groups=)
    fold = hash_folds(None, None, 5, 3, groups=frame[groups].to_numpy())
    X, y = frame[FEATURES].to_numpy(), frame["y"].to_numpy()
    w = None if weight is None else frame[weight].to_numpy()
    for a, alpha in enumerate(np.sort(ALPHAS)[::-1]):
        for k in range(5):
            train, test = fold != k, fold == k
            if not test.any():
                assert np.isnan(pushed.mse_path_[a, k])
                continue
            model = Ridge(alpha=alpha).fit(X[train], y[train],
                                           sample_weight=None if w is None else w[train])
            expected = mean_squared_error(y[test], model.predict(X[test]),
                                          sample_weight=None if w is None else w[test])
            assert pushed.mse_path_[a, k] == pytest.approx(expected, rel=1e-8)


def test_lasso_and_elastic_net_cv_equal_pull_and_sklearn(con):
    connection, frame = con
    source = read_sql("t", connection, target="y", features=FEATURES, groups="customer",
                      batch_rows=500)
    tight = {"tol": 1e-12, "max_iter": 100_000}
    pushed = CumulativeLassoCV(alphas=20, cv=5, **tight).fit_chunks(source.pushdown())
    _same_cv(pushed, CumulativeLassoCV(alphas=20, cv=5, **tight).fit_chunks(source), rtol=1e-9)
    fold = hash_folds(None, None, 5, None, groups=frame["customer"].to_numpy())
    reference = LassoCV(alphas=pushed.alphas_, cv=PredefinedSplit(fold), **tight).fit(
        frame[FEATURES], frame["y"])
    np.testing.assert_allclose(pushed.mse_path_, reference.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(pushed.coef_, reference.coef_, atol=1e-6)
    spec = {"l1_ratio": [0.3, 0.8], "cv": 4, "random_state": 1, **tight}
    _same_cv(CumulativeElasticNetCV(**spec).fit_chunks(source.pushdown()),
             CumulativeElasticNetCV(**spec).fit_chunks(source), rtol=1e-9)


def test_penalized_fits_without_folds(con):
    connection, _ = con
    source = read_sql("t", connection, target="y", features=FEATURES, sample_weight="w")
    for est in (CumulativeRidge(alpha=3.0), CumulativeLasso(alpha=0.1)):
        pushed = type(est)(**est.get_params()).fit_chunks(source.pushdown())
        pulled = type(est)(**est.get_params()).fit_chunks(source)
        np.testing.assert_allclose(pushed.coef_, pulled.coef_, rtol=1e-10, atol=1e-13)


def test_folds_need_hashed_cv(con):
    connection, _ = con
    plain = read_sql("t", connection, target="y", features=FEATURES)
    # Without groups= each row's fold is hashed in the query (tests/test_sql_hash_folds.py).
    _same_cv(CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(plain.pushdown()),
             CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(plain))
    est = CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(
        read_sql("t", connection, target="y", features=FEATURES, groups="site").pushdown())
    alpha = est.alpha_
    grouped = read_sql("t", connection, target="y", features=FEATURES, groups="site")
    with pytest.raises(ValueError, match="needs cv=None or an int"):
        CumulativeRidgeCV(cv=PredefinedSplit(np.zeros(3))).fit_chunks(grouped.pushdown())
    with pytest.raises(ValueError, match="CumulativeRidge push-down fits read no row label"):
        CumulativeRidge().fit_chunks(grouped.pushdown())
    with pytest.raises(ValueError, match="solver='gram'"):
        CumulativeRidgeCV(solver="qr").fit_chunks(grouped.pushdown())
    connection.execute("UPDATE t SET site = NULL WHERE customer = 3")
    with pytest.raises(ColumnError, match="groups: column 'site' has .*missing"):
        est.fit_chunks(grouped.pushdown())
    assert est.alpha_ == alpha


PG_DSN = os.environ.get("SKBIGREG_PG_DSN")


@pytest.mark.skipif(not PG_DSN, reason="no PostgreSQL server: set SKBIGREG_PG_DSN "
                                       "(.ci/start_postgres starts one)")
def test_postgres_ridge_cv_pushdown_equals_pull():
    psycopg = pytest.importorskip("psycopg")
    frame = _frame(n=5000, seed=5)
    table = f"folds_sim_{os.getpid()}"
    connection = psycopg.connect(PG_DSN, autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} (x0 float8, x1 float8, x2 float8, x3 float8, "
                           "x4 float8, y float8, site text)")
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in frame[[*FEATURES, "y", "site"]].itertuples(index=False):
                    copy.write_row([*map(float, row[:6]), row[6]])
        source = read_sql(table, connection, target="y", features=FEATURES, groups="site")
        _same_cv(CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source.pushdown()),
                 CumulativeRidgeCV(alphas=ALPHAS).fit_chunks(source))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        connection.close()
