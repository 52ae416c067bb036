"""The command line: fits files, reports bad input in one line."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from skbigreg._cli import main
from skbigreg.stats import GramStats

pytest.importorskip("pyarrow")


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=900), "b": rng.normal(size=900),
                          "site": rng.choice(["n", "s", "e", "w"], size=900),
                          "firm": rng.integers(0, 30, size=900)})
    frame["y"] = 1 + frame.a - 2 * frame.b + rng.normal(size=900)
    for i in range(3):
        frame.iloc[i * 300 : (i + 1) * 300].to_parquet(tmp_path / f"p{i}.parquet")
    return tmp_path, frame


def test_fit_prints_the_summary_of_statsmodels_numbers(files, capsys, tmp_path):
    folder, frame = files
    code = main(["fit", str(folder / "*.parquet"), "--target", "y", "--features", "a", "b",
                 "--cov-type", "cluster", "--cluster", "firm", "--chunk-rows", "128",
                 "--save-stats", str(tmp_path / "s.npz")])
    out = capsys.readouterr().out
    assert code == 0
    ref = sm.OLS(frame.y, sm.add_constant(frame[["a", "b"]])).fit(cov_type="cluster", cov_kwds={"groups": frame.firm})
    assert "900 rows from 3 file(s)" in out and "cluster (G=30)" in out
    assert f"{ref.bse['b']:.3g}" in out
    saved = GramStats.load(tmp_path / "s.npz")
    assert saved.n_rows == 900


def test_fit_with_categorical_columns(files, capsys):
    folder, _ = files
    assert main(["fit", str(folder), "--target", "y", "--features", "a", "site",
                 "--categorical", "site"]) == 0
    assert "site[s]" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "/no/such/dir", "--target", "y"], "No data files found"),
        (["fit", "{folder}", "--target", "nope"], "['nope'] not found"),
        (["fit", "{folder}", "--target", "y"], "'site' is not numeric"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(files, args, message):
    folder, _ = files
    args = [a.format(folder=folder) for a in args]
    done = subprocess.run([sys.executable, "-m", "skbigreg", *args], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr


def test_demo_on_synthetic_data(capsys):
    assert main(["demo", "--data", "synthetic", "--rows", "20000", "--chunk-rows", "5000"]) == 0
    out = capsys.readouterr().out
    assert "Covariance Type:" in out and "HC1" in out and "Cluster-robust" in out


@pytest.mark.parametrize("model", ["ridge", "lassocv", "logistic"])
def test_fit_other_models(files, capsys, model):
    from sklearn.linear_model import Ridge

    folder, frame = files
    target = "y"
    if model == "logistic":
        frame = frame.assign(late=(frame.y > 1).astype(float))
        frame.to_parquet(folder / "p0.parquet")
        for i in (1, 2):
            (folder / f"p{i}.parquet").unlink()
        target = "late"
    alpha = ["--alpha", "3"] if model == "ridge" else []
    code = main(["fit", str(folder), "--target", target, "--features", "a", "b",
                 "--model", model, *alpha])
    out = capsys.readouterr().out
    assert code == 0
    if model == "ridge":
        ref = Ridge(alpha=3.0).fit(frame[["a", "b"]], frame.y)
        assert f"{ref.coef_[1]:.6g}"[:6] in out
    elif model == "lassocv":
        assert "alpha_ =" in out
    else:
        ref = sm.Logit(frame.late, sm.add_constant(frame[["a", "b"]])).fit(disp=0)
        assert f"{ref.params['a']:.4g}" in out and f"{ref.bse['b']:.3g}" in out


# -- every model of skbigreg.linear_model, against in-memory fits and oracles ------------
@pytest.fixture
def panel(tmp_path):
    """900 rows sorted by site (so partitions are contiguous), one parquet file per 300."""
    rng = np.random.default_rng(1)
    n = 900
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "z1": rng.normal(size=n), "z2": rng.normal(size=n),
                          "site": np.sort(rng.choice(["e", "n", "s", "w"], size=n)),
                          "firm": rng.integers(0, 30, size=n),
                          "w": rng.uniform(0.5, 2.0, size=n)})
    effect = rng.normal(size=30)[frame.firm]
    shock = rng.normal(size=n)
    frame["x"] = frame.z1 + 0.5 * frame.z2 + shock + effect      # endogenous, and tied to firm
    frame["y"] = 1 + frame.a - 2 * frame.b + 0.5 * frame.x + effect + shock + rng.normal(size=n)
    eta = 0.3 + 0.8 * frame.a - 0.6 * frame.b
    frame["late"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    frame["count"] = rng.poisson(np.exp(0.2 + 0.4 * frame.a - 0.3 * frame.b)).astype(float)
    folder = tmp_path / "panel"
    folder.mkdir()
    for i in range(3):
        frame.iloc[i * 300:(i + 1) * 300].to_parquet(folder / f"part{i}.parquet")
    return folder, frame


def _fit(folder, *args, tmp_path):
    """Run the CLI in-process; the coefficient table it saved."""
    out = tmp_path / "coef.csv"
    code = main(["fit", str(folder), *args, "--save-coef", str(out)])
    assert code == 0
    return pd.read_csv(out, index_col=0)


def test_every_estimator_is_a_model_choice():
    import inspect

    import skbigreg.linear_model as lm
    from skbigreg._cli import MODELS

    estimators = {name for name in lm.__all__
                  if inspect.isclass(getattr(lm, name)) and hasattr(getattr(lm, name), "fit")}
    assert estimators == {spec.estimator for spec in MODELS.values()}


def test_help_lists_every_model_and_its_options(capsys):
    with pytest.raises(SystemExit) as done:
        main(["fit", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for text in ["debiased-logistic", "smr-glm", "needs --endog --instruments",
                 "needs --absorb", "needs --partition", "--n-iter T"]:
        assert text in out


@pytest.mark.parametrize("cov_type", ["HC1", "cluster"])
def test_iv_equals_in_memory_and_linearmodels(panel, tmp_path, cov_type):
    from linearmodels.iv import IV2SLS

    from skbigreg.linear_model import CumulativeIVRegression

    folder, frame = panel
    cluster = ["--cluster", "firm"] if cov_type == "cluster" else []
    saved = _fit(folder, "--target", "y", "--features", "a", "b", "--model", "iv",
                 "--endog", "x", "--instruments", "z1", "z2", "--cov-type", cov_type,
                 "--weights", "w", "--chunk-rows", "128", *cluster, tmp_path=tmp_path)
    est = CumulativeIVRegression(endogenous=["x"], instruments=["z1", "z2"], cov_type=cov_type)
    est.fit(frame[["a", "b", "x", "z1", "z2"]], frame.y, frame.w,
            clusters=frame.firm if cov_type == "cluster" else None)
    res = est.results()
    np.testing.assert_allclose(saved["coef"], res.params, rtol=1e-10)
    np.testing.assert_allclose(saved["std err"], res.bse, rtol=1e-10)
    kwargs = {"clusters": frame.firm} if cov_type == "cluster" else {}
    ref = IV2SLS(frame.y, sm.add_constant(frame[["a", "b"]]), frame.x, frame[["z1", "z2"]],
                 weights=frame.w).fit(cov_type="clustered" if kwargs else "robust",
                                      debiased=True, **kwargs)
    np.testing.assert_allclose(saved["coef"], ref.params[["const", "a", "b", "x"]], rtol=1e-8)
    np.testing.assert_allclose(saved["std err"], ref.std_errors[["const", "a", "b", "x"]], rtol=1e-8)


@pytest.mark.parametrize("absorb, cov_type, vcov", [
    (["firm"], "HC1", "hetero"),
    (["firm", "site"], "nonrobust", "iid"),
])
def test_fixed_effects_equal_in_memory_and_pyfixest(panel, tmp_path, absorb, cov_type, vcov):
    pf = pytest.importorskip("pyfixest")
    from skbigreg.linear_model import CumulativeFixedEffectsRegression

    _, frame = panel
    csv = tmp_path / "csv"
    csv.mkdir()
    frame.to_csv(csv / "all.csv", index=False)
    saved = _fit(csv, "--target", "y", "--features", "a", "b", "x", "--model", "fe",
                 "--absorb", *absorb, "--cov-type", cov_type, "--chunk-rows", "100",
                 tmp_path=tmp_path)
    X = frame[["a", "b", "x"]]
    if len(absorb) == 2:  # the second factor enters as indicators, first level dropped
        X = X.join(pd.get_dummies(frame.site, dtype=float).iloc[:, 1:].add_prefix("site["))
    est = CumulativeFixedEffectsRegression(cov_type=cov_type).fit(X, frame.y, entities=frame.firm)
    res = est.results()
    np.testing.assert_allclose(saved["coef"], res.params, rtol=1e-10)
    np.testing.assert_allclose(saved["std err"], res.bse, rtol=1e-10)
    ref = pf.feols("y ~ a + b + x | " + " + ".join(absorb), data=frame, vcov=vcov)
    np.testing.assert_allclose(saved["coef"][:3], ref.coef(), rtol=1e-8)
    np.testing.assert_allclose(saved["std err"][:3], ref.se(), rtol=1e-8)


def test_grouped_equals_in_memory_and_per_partition_ols(panel, tmp_path):
    from skbigreg.linear_model import GroupedLinearRegression

    folder, frame = panel
    saved = _fit(folder, "--target", "y", "--features", "a", "b", "--model", "grouped",
                 "--partition", "site", "--chunk-rows", "64", tmp_path=tmp_path)
    est = GroupedLinearRegression().fit(frame[["a", "b"]], frame.y, partitions=frame.site)
    table = np.column_stack([est.partition_intercept_, est.partition_coef_])
    np.testing.assert_allclose(saved.drop(index="(pooled)").to_numpy(), table, rtol=1e-10)
    for site, rows in frame.groupby("site"):
        ref = sm.OLS(rows.y, sm.add_constant(rows[["a", "b"]])).fit()
        np.testing.assert_allclose(saved.loc[site], ref.params, rtol=1e-9)
    pooled = sm.OLS(frame.y, sm.add_constant(frame[["a", "b"]])).fit()
    np.testing.assert_allclose(saved.loc["(pooled)"], pooled.params, rtol=1e-9)


@pytest.mark.parametrize("args, target, oracle", [
    (["--model", "glm", "--family", "poisson", "--cov-type", "HC0"], "count", "poisson"),
    (["--model", "logistic", "--link", "probit"], "late", "probit"),
])
def test_irls_models_equal_in_memory_and_statsmodels(panel, tmp_path, args, target, oracle):
    from skbigreg.linear_model import CumulativeGLM, CumulativeLogisticRegression

    folder, frame = panel
    saved = _fit(folder, "--target", target, "--features", "a", "b", *args,
                 "--chunk-rows", "128", tmp_path=tmp_path)
    X, exog = frame[["a", "b"]], sm.add_constant(frame[["a", "b"]])
    if oracle == "poisson":
        est = CumulativeGLM(family="poisson", cov_type="HC0").fit(X, frame[target])
        ref = sm.GLM(frame[target], exog, family=sm.families.Poisson()).fit(cov_type="HC0")
    else:
        est = CumulativeLogisticRegression(link="probit").fit(X, frame[target])
        # GLM's errors: expected information (sm.Probit uses the observed one)
        probit = sm.families.Binomial(link=sm.families.links.Probit())
        ref = sm.GLM(frame[target], exog, family=probit).fit()
    res = est.results()
    np.testing.assert_allclose(saved["coef"], res.params, rtol=1e-10)
    np.testing.assert_allclose(saved["std err"], res.bse, rtol=1e-10)
    np.testing.assert_allclose(saved["coef"], ref.params, rtol=1e-8)
    np.testing.assert_allclose(saved["std err"], ref.bse, rtol=1e-6)


@pytest.mark.parametrize("model, extra, target, family", [
    ("smr-logistic", [], "late", sm.families.Binomial()),
    ("smr-poisson", [], "count", sm.families.Poisson()),
    ("smr-glm", ["--family", "poisson"], "count", sm.families.Poisson()),
])
def test_smr_equals_in_memory_chunks_and_nears_the_mle(panel, tmp_path, model, extra, target, family):
    from skbigreg import linear_model
    from skbigreg._cli import MODELS

    folder, frame = panel
    saved = _fit(folder, "--target", target, "--features", "a", "b", "--model", model,
                 *extra, "--partition", "site", "--n-iter", "10", "--chunk-rows", "300",
                 tmp_path=tmp_path)
    params = {"family": "poisson"} if extra else {}
    est = getattr(linear_model, MODELS[model].estimator)(n_iter=10, **params)
    # the same nodes as the files: one chunk of 300 rows each, cut within sites
    chunks = [{"X": frame[["a", "b"]].iloc[i:i + 300], "y": frame[target].iloc[i:i + 300].to_numpy(), "partitions": frame.site.iloc[i:i + 300].to_numpy()}
              for i in range(0, 900, 300)]
    est.fit_chunks(chunks)
    params = np.append(est.intercept_, est.coef_)
    np.testing.assert_allclose(saved["coef"], params, rtol=1e-10)
    np.testing.assert_allclose(saved["std err"], est.bse_, rtol=1e-10)
    # an approximation of the full-data MLE: well within its standard errors
    ref = sm.GLM(frame[target], sm.add_constant(frame[["a", "b"]]), family=family).fit()
    assert np.all(np.abs(saved["coef"].to_numpy() - ref.params) < 0.25 * ref.bse)
    np.testing.assert_allclose(saved["std err"], ref.bse, rtol=5e-2)


def test_debiased_lasso_by_partition_equals_in_memory_and_local_ols(panel, tmp_path):
    from skbigreg.linear_model import DebiasedDistributedLasso

    folder, frame = panel
    features = ["a", "b", "x", "z1"]
    saved = _fit(folder, "--target", "y", "--features", *features, "--model", "debiased-lasso",
                 "--partition", "site", "--alpha", "0", "--weights", "w", "--chunk-rows", "64",
                 tmp_path=tmp_path)
    est = DebiasedDistributedLasso(alpha=0.0).fit(frame[features], frame.y,
                                                  partitions=frame.site, sample_weight=frame.w)
    np.testing.assert_allclose(saved["coef"], est.results().params, rtol=1e-10)
    np.testing.assert_allclose(saved["std err"], est.results().bse, rtol=1e-8)
    # with alpha = 0 each site's fit is its weighted least squares; sites weigh their weight
    local = [rows.w.sum() * sm.WLS(rows.y, sm.add_constant(rows[features]), rows.w).fit().params
             for _, rows in frame.groupby("site")]
    np.testing.assert_allclose(saved.loc[features, "coef"],
                               (sum(local) / frame.w.sum())[features], rtol=1e-8)


@pytest.mark.parametrize("alpha", [[], ["--alpha", "0"]])
def test_debiased_logistic_with_chunks_as_partitions(panel, tmp_path, alpha):
    from skbigreg.linear_model import DebiasedDistributedLogisticRegression

    folder, frame = panel
    saved = _fit(folder, "--target", "late", "--features", "a", "b", "x",
                 "--model", "debiased-logistic", "--chunk-rows", "300", *alpha, tmp_path=tmp_path)
    file_index = np.arange(900) // 300
    est = DebiasedDistributedLogisticRegression(alpha=float(alpha[1]) if alpha else None)
    est.fit(frame[["a", "b", "x"]], frame.late, partitions=file_index)
    np.testing.assert_allclose(saved["coef"], est.results().params, rtol=1e-8)
    np.testing.assert_allclose(saved["std err"], est.results().bse, rtol=1e-8)
    if alpha:  # unpenalised: the mean of the three files' logistic MLEs
        local = [sm.Logit(rows.late, sm.add_constant(rows[["a", "b", "x"]])).fit(disp=0).params
                 for _, rows in frame.groupby(file_index)]
        np.testing.assert_allclose(saved.loc[["a", "b", "x"], "coef"],
                                   (sum(local) / 3)[["a", "b", "x"]], rtol=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--model", "iv", "--endog", "x"], "--model iv needs --instruments"),
    (["--model", "fe"], "--model fe needs --absorb"),
    (["--model", "grouped"], "--model grouped needs --partition"),
    (["--endog", "x"], "--endog is not an option of --model ols (it is for: iv)"),
    (["--model", "ridge", "--cluster", "firm"], "--cluster is not an option of --model ridge"),
    (["--model", "smr-poisson", "--alpha", "1"], "--alpha is not an option of --model smr-poisson"),
    (["--model", "lasso", "--cov-type", "HC1"], "--cov-type is not an option of --model lasso"),
    (["--cov-type", "cluster"], "--cov-type cluster needs --cluster COLUMN"),
    (["--model", "fe", "--absorb", "firm", "site", "w"], "--absorb takes one or two columns"),
    (["--model", "fe", "--absorb", "plant"], "['plant'] not found"),
    (["--model", "iv", "--endog", "site", "--instruments", "z1"], "'site' is not numeric"),
    (["--model", "iv", "--endog", "x", "z1", "--instruments", "z2"], "under-identified"),
    (["--model", "debiased-lasso", "--partition", "firm"], "are not contiguous in the files"),
    (["--model", "smr-glm", "--family", "poisson", "--link", "logit"], "accepts the links"),
    (["--model", "wls"], "invalid choice: 'wls'"),
])
def test_model_options_are_checked_in_one_line(panel, capsys, args, message):
    folder, _ = panel
    code = main(["fit", str(folder), "--target", "y", "--features", "a", "b", *args])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skbigreg: error: ") and message in lines[0]


def test_intermediate_rank_deficiency_is_not_reported(panel, capsys):
    # the first file holds only sites e and n: their indicators of s and w are
    # constant there, but not over all rows
    folder, _ = panel
    assert main(["fit", str(folder), "--target", "y", "--features", "a", "b", "x",
                 "--model", "fe", "--absorb", "firm", "site", "--chunk-rows", "300"]) == 0
    captured = capsys.readouterr()
    assert "site[w]" in captured.out and "warning" not in captured.err


def test_cv_groups_reach_the_folds(panel, tmp_path):
    from sklearn.linear_model import Lasso

    from skbigreg.linear_model import CumulativeLassoCV

    folder, frame = panel
    features = ["a", "z1", "z2"]  # y also holds a firm effect: firm folds choose another alpha
    saved = _fit(folder, "--target", "y", "--features", *features, "--model", "lassocv",
                 "--groups", "firm", "--chunk-rows", "200", tmp_path=tmp_path)
    est = CumulativeLassoCV().fit(frame[features], frame.y, groups=frame.firm)
    assert est.alpha_ > 10 * CumulativeLassoCV().fit(frame[features], frame.y).alpha_
    np.testing.assert_allclose(saved["coef"], np.append(est.intercept_, est.coef_), rtol=1e-10)
    ref = Lasso(alpha=est.alpha_, tol=1e-12).fit(frame[features], frame.y)
    np.testing.assert_allclose(saved["coef"], np.append(ref.intercept_, ref.coef_), rtol=1e-4)


# -- hostile inputs speak the command line (issue 11, defects 9 and 15) ------------------
@pytest.fixture
def hostile(files):
    """Folders whose second file breaks the first one's columns, next to the good one."""
    folder, frame = files
    first, second = frame.iloc[:450], frame.iloc[450:]
    variants = {
        "missing": second.drop(columns="b"),
        "labels": second.assign(firm=second.firm.astype(str)),
        "dates": second.assign(b=pd.Timestamp("2020-01-01")),
        "nan": second.assign(a=np.where(np.arange(450) == 3, np.nan, second.a)),
    }
    for name, changed in variants.items():
        (folder / name).mkdir()
        first.to_parquet(folder / name / "p0.parquet")
        changed.to_parquet(folder / name / "p1.parquet")
    return folder


@pytest.mark.parametrize("args, message", [
    # before: ZeroDivisionError and a traceback
    (["{folder}", "--target", "y", "--features", "a", "y"],
     "--features: column 'y' is also the target; leave it out of --features."),
    (["{folder}", "--target", "y", "--features", "a", "--model", "iv", "--endog", "y",
      "--instruments", "b"], "--endog: column 'y' is also the target"),
    # before: KeyError without the file
    (["{folder}/missing", "--target", "y", "--features", "a", "b"],
     "--features: column(s) ['b'] not found in '{folder}/missing/p1.parquet' (present in "
     "'{folder}/missing/p0.parquet')"),
    # before: mixed int and str cluster labels reached the estimator
    (["{folder}/labels", "--target", "y", "--features", "a", "b", "--cluster", "firm"],
     "--cluster: column 'firm' is int64 in '{folder}/labels/p0.parquet' but large_string in "
     "'{folder}/labels/p1.parquet'; write it with one type in every file."),
    (["{folder}/labels", "--target", "y", "--features", "a", "b", "--model", "fe",
      "--absorb", "firm"], "--absorb: column 'firm' is int64"),
    # before: the timestamps were read as float nanoseconds
    (["{folder}/dates", "--target", "y", "--features", "a", "b"],
     "--features: column 'b' holds dates or times (timestamp[us]) in '{folder}/dates/p1.parquet'"),
    (["{folder}/dates", "--target", "y", "--features", "a", "b"], "or add it to --categorical"),
    (["{folder}", "--target", "y", "--features", "a", "site"],
     "--features: column 'site' is not numeric (large_string) in '{folder}/p0.parquet'; add it "
     "to --categorical, or leave it out of --features."),
    (["{folder}/nan", "--target", "y", "--features", "a", "b"],
     "--features: column 'a' has 1 missing value(s) in a batch; pass --missing drop"),
    (["{folder}", "--target", "y", "--features", "a", "a"], "--features: column(s) ['a'] listed more"),
    (["{folder}", "--target", "y", "--chunk-rows", "0"],
     "argument --chunk-rows: expected a positive integer, got '0'"),
    (["{folder}", "--target", "y", "--features", "a", "--n-jobs", "0"], "--n-jobs 0 means no worker"),
    (["{folder}", "--target", "y", "--features", "a", "--model", "ridge", "--alpha", "-1"],
     "--alpha must be a float in the range [0.0, inf). Got -1.0 instead."),
    (["{folder}", "--target", "y", "--features", "a", "--weights", "b"],
     "Negative values in data passed to --weights"),
])
def test_hostile_files_and_options_are_one_line_naming_the_option(hostile, capsys, args, message):
    # in-process: an exception the command line does not turn into its message escapes
    code = main(["fit", *(a.format(folder=hostile) for a in args)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skbigreg: error: "), err
    assert message.format(folder=hostile) in lines[0]
    assert "=[" not in lines[0] and "missing='drop'" not in lines[0]  # no Python spellings


def test_ols_hc3_equals_statsmodels(panel, tmp_path):
    """The streamed two-pass HC3 errors through the command line."""
    folder, frame = panel
    table = _fit(folder, "--target", "y", "--features", "a", "b", "--cov-type", "HC3",
                 "--chunk-rows", "200", tmp_path=tmp_path)
    ref = sm.OLS(frame.y, sm.add_constant(frame[["a", "b"]])).fit(cov_type="HC3")
    np.testing.assert_allclose(table.iloc[:, 0].to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(table.iloc[:, 1].to_numpy(), ref.bse.to_numpy(), rtol=1e-10)
