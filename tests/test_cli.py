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
    done = subprocess.run([sys.executable, "-m", "skbigreg", *args], capture_output=True, text=True)
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
    code = main(["fit", str(folder), "--target", target, "--features", "a", "b",
                 "--model", model, "--alpha", "3"])
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
