"""What the push-down asks the database, and the one dispatch of engine sources.

A push-down GLM fit reads the table once before its IRLS passes (means,
NULL and weight checks and the response's support, in one scan), then once
per pass; an estimator that cannot fit from a push-down refuses it by name.
"""

import numpy as np
import pandas as pd
import pytest

from skbigreg.io import read_sql
from skbigreg.linear_model import (
    CumulativeGLM,
    CumulativeLinearRegression,
    CumulativeLogisticRegression,
    SMRPoissonRegressor,
)

duckdb = pytest.importorskip("duckdb")
sm = pytest.importorskip("statsmodels.api")


@pytest.fixture()
def con():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame["yp"] = rng.poisson(np.exp(0.3 + 0.5 * frame["x1"] - 0.2 * frame["x2"])).astype(float)
    frame["yb"] = (rng.random(n) < 1 / (1 + np.exp(-frame["x1"]))).astype(float)
    connection = duckdb.connect()
    connection.register("frame_view", frame)
    connection.execute("CREATE TABLE t AS SELECT * FROM frame_view")
    connection.unregister("frame_view")
    yield connection, frame
    connection.close()


def _recorded(pushdown):
    """Record the text of every statement the push-down runs."""
    texts, run = [], pushdown.relation.run

    def recording(sql):
        texts.append("".join(part for part in sql.parts if isinstance(part, str)))
        return run(sql)

    pushdown.relation.run = recording
    return texts


@pytest.mark.parametrize(("family", "target"), [("poisson", "yp"), ("binomial", "yb")])
def test_glm_pushdown_checks_the_table_in_one_scan_before_its_passes(con, family, target):
    connection, frame = con
    pushdown = read_sql("t", connection, target=target, features=["x1", "x2"]).pushdown()
    texts = _recorded(pushdown)
    est = CumulativeGLM(family=family).fit_chunks(pushdown)
    passes = [text for text in texts if " AS eta " in text]
    assert len(texts) - len(passes) == 1  # the first scan, with the support check in it
    assert len(passes) >= est.n_iter_
    family_of = {"poisson": sm.families.Poisson(), "binomial": sm.families.Binomial()}
    ref = sm.GLM(frame[target], sm.add_constant(frame[["x1", "x2"]]),
                 family=family_of[family]).fit()
    np.testing.assert_allclose(est.results().params.to_numpy(), ref.params, rtol=1e-8)


def test_the_support_check_still_refuses_a_response_outside_it(con):
    connection, _ = con
    connection.execute("UPDATE t SET yb = 2 WHERE x1 > 2")
    source = read_sql("t", connection, target="yb", features=["x1"])
    with pytest.raises(ValueError, match=r"target: column 'yb' has \d+ value\(s\) other than 0"):
        CumulativeLogisticRegression().fit_chunks(source.pushdown())
    with pytest.raises(ValueError, match="outside the support: the binomial family"):
        CumulativeGLM(family="binomial").fit_chunks(source.pushdown())


def test_an_estimator_without_a_pushdown_refuses_it_by_name(con):
    connection, _ = con
    source = read_sql("t", connection, target="yp", features=["x1", "x2"])
    est = SMRPoissonRegressor()
    with pytest.raises(TypeError, match="SMRPoissonRegressor cannot be fitted on a SQL "
                                        "push-down"):
        est.fit_chunks(source.pushdown())
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize(("cov_type", "weights", "leverage"),
                         [("HC1", None, False), ("HC3", None, True), ("HC1", "w", True)])
def test_the_hc_pass_sums_leverages_only_when_the_errors_need_them(con, cov_type, weights,
                                                                   leverage):
    """An unweighted HC0/HC1 fit's score pass gathers sum s s' alone (no leverage per
    row); HC2/HC3 and weighted fits also the leverage weightings. Either equals
    statsmodels."""
    connection, frame = con
    connection.execute("ALTER TABLE t ADD COLUMN IF NOT EXISTS w DOUBLE")
    connection.execute("UPDATE t SET w = CASE WHEN x2 > 0 THEN 1.5 ELSE 0.5 END")
    frame = frame.assign(w=np.where(frame["x2"] > 0, 1.5, 0.5))
    pushdown = read_sql("t", connection, target="yp", features=["x1", "x2"],
                        sample_weight=weights).pushdown()
    texts = _recorded(pushdown)
    est = CumulativeLinearRegression(cov_type=cov_type).fit_chunks(pushdown)
    score_pass = [text for text in texts if " AS v_hc0" in text]
    assert len(score_pass) == 1
    assert ("AS hc3_" in score_pass[0]) == leverage
    X = sm.add_constant(frame[["x1", "x2"]])
    model = sm.OLS(frame["yp"], X) if weights is None else sm.WLS(frame["yp"], X, frame[weights])
    np.testing.assert_allclose(est.results().bse.to_numpy(), model.fit(cov_type=cov_type).bse,
                               rtol=1e-10)
