"""Summaries people read: the Summary object (text, HTML, LaTeX) and compare().

The numbers are checked against statsmodels (``OLS``, ``GLM`` and
``summary_col``), the layouts by parsing them back.
"""

from io import StringIO

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.iolib.summary2 import summary_col

from skbigreg.inference import ModelComparison, Summary, compare, significance_stars
from skbigreg.linear_model import CumulativeGLM, CumulativeLinearRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(12)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["educ", "exper", "x_2"])
    y = pd.Series(1.0 + 0.3 * X["educ"] + 0.12 * X["exper"] + rng.normal(size=400), name="wage")
    counts = pd.Series(rng.poisson(np.exp(0.2 + 0.3 * X["educ"])), name="visits")
    return X, y, counts


def chunked_ols(X, y, chunk=100, **params):
    """OLS streamed in chunks; robust errors take the second pass over them."""
    est = CumulativeLinearRegression(**params)
    chunks = [(X.iloc[i:i + chunk], y.iloc[i:i + chunk]) for i in range(0, len(X), chunk)]
    for X_chunk, y_chunk in chunks:
        est.partial_fit(X_chunk, y_chunk)
    if est.cov_type != "nonrobust":
        for X_chunk, y_chunk in chunks:
            est.partial_fit_scores(X_chunk, y_chunk)
    return est


# -- Summary ---------------------------------------------------------------------
def test_summary_is_an_object_whose_text_is_the_results_text(data):
    X, y, _ = data
    est = chunked_ols(X, y, cov_type="HC1")
    summary = est.summary()
    assert isinstance(summary, Summary) and not isinstance(summary, str)
    assert str(summary) == summary.as_text() == repr(summary) == str(est.results())
    assert summary._repr_html_() == summary.as_html()


def test_summary_html_tables_hold_statsmodels_numbers(data):
    X, y, _ = data
    reference = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1")
    html = chunked_ols(X, y, cov_type="HC1").summary().as_html()
    header, coefficients = pd.read_html(StringIO(html))
    coefficients = coefficients.set_index(coefficients.columns[0])
    assert list(coefficients.index) == ["const", "educ", "exper", "x_2"]
    np.testing.assert_allclose(coefficients["coef"], reference.params, rtol=5e-4)
    np.testing.assert_allclose(coefficients["std err"], reference.bse, rtol=5e-3)
    cells = header.to_numpy().ravel().tolist()
    assert "wage" in cells and "HC1" in cells


def test_summary_latex_is_one_tabular_with_escaped_names(data):
    X, y, _ = data
    latex = chunked_ols(X, y).summary().as_latex()
    lines = latex.splitlines()
    assert lines[0] == r"\begin{tabular}{lrrrrrr}" and lines[-1] == r"\end{tabular}"
    assert latex.count(r"\begin{tabular}") == 1
    assert r"x\_2 & " in latex and "x_2" not in latex
    assert r"P\textgreater{}\textbar{}t\textbar{}" in latex
    # every row fills the seven columns: six separators, or spans adding to seven
    for line in lines[1:-1]:
        if line.endswith(r"\\"):
            spans = [int(s.split("}")[0]) for s in line.split(r"\multicolumn{")[1:]]
            assert line.count(" & ") + 1 - len(spans) + sum(spans) == 7, line


# -- compare ---------------------------------------------------------------------
def test_compare_equals_statsmodels_summary_col(data):
    X, y, _ = data
    fits = [
        chunked_ols(X[["educ"]], y),
        chunked_ols(X, y, cov_type="HC1"),
        chunked_ols(X[["exper", "educ"]], y, fit_intercept=False),
    ]
    refs = [
        sm.OLS(y, sm.add_constant(X[["educ"]])).fit(),
        sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC1"),
        sm.OLS(y, X[["exper", "educ"]]).fit(),
    ]
    table = compare(fits)
    frame = table.to_frame()
    assert list(frame.index[:8:2]) == ["const", "educ", "exper", "x_2"]
    assert (frame.index[1:8:2] == "").all()
    expected = summary_col(refs, stars=True).tables[0]
    # summary_col's rows come in pairs too: a parameter's coefficient, then its SE
    for row in range(0, 8, 2):
        name = expected.index[row]
        shown = frame.iloc[frame.index.get_loc(name) + np.arange(2)]
        np.testing.assert_array_equal(shown.to_numpy(), expected.iloc[row:row + 2].to_numpy(), err_msg=name)
    for column, ref in zip(table.names, refs):
        np.testing.assert_allclose(table.params[column].dropna(), ref.params.reindex(table.params[column].dropna().index), rtol=1e-10)
        np.testing.assert_allclose(table.bse[column].dropna(), ref.bse.reindex(table.bse[column].dropna().index), rtol=1e-10)
    assert frame.loc["N"].tolist() == ["400"] * 3
    assert frame.loc["R-squared"].tolist() == [f"{ref.rsquared:.4f}" for ref in refs]
    assert frame.loc["Covariance Type"].tolist() == ["nonrobust", "HC1", "nonrobust"]
    assert frame.loc["Dep. Variable"].tolist() == ["wage"] * 3


def test_compare_glm_column_has_no_r_squared(data):
    X, y, counts = data
    glm = CumulativeGLM(family="poisson").fit(X[["educ"]], counts)
    ref = sm.GLM(counts, sm.add_constant(X[["educ"]]), family=sm.families.Poisson()).fit()
    table = compare([glm, chunked_ols(X, y)], names=["visits", "wage"])
    frame = table.to_frame()
    expected = summary_col([ref], stars=True).tables[0]
    assert frame.loc["educ", "visits"] == expected.loc["educ"].iloc[0]
    np.testing.assert_allclose(table.bse["visits"].dropna(), ref.bse, rtol=1e-6)
    assert frame.loc["R-squared", "visits"] == "" and frame.loc["R-squared", "wage"] != ""


def test_compare_text_html_latex_show_the_same_cells(data):
    X, y, _ = data
    table = compare([chunked_ols(X, y).results(), chunked_ols(X[["educ"]], y)], names=["long", "short"])
    assert isinstance(table, ModelComparison)
    frame = table.to_frame()
    parsed = pd.read_html(StringIO(table._repr_html_()), keep_default_na=False)[0]
    np.testing.assert_array_equal(parsed.iloc[:, 1:].astype(str).to_numpy(), frame.to_numpy())
    text = str(table)
    for cell in frame.to_numpy().ravel():
        assert cell in text
    assert "Standard errors in parentheses." in text and "*** p<0.01" in text
    latex = table.as_latex()
    assert latex.startswith(r"\begin{tabular}{lcc}") and latex.endswith(r"\end{tabular}")
    assert frame.loc["educ", "short"].replace("*", "") in latex


def test_compare_without_stars(data):
    X, y, _ = data
    table = compare([chunked_ols(X, y)], stars=False)
    assert "*" not in table.to_frame().to_numpy().sum() and "p<0.1" not in str(table)
    assert table.to_frame().columns.tolist() == ["(1)"]


def test_stars_use_strict_thresholds_like_statsmodels():
    assert [significance_stars(p) for p in (0.0099, 0.01, 0.0499, 0.05, 0.0999, 0.1)] == [
        "***", "**", "**", "*", "*", ""]


@pytest.mark.parametrize(
    ("models", "names", "match"),
    [
        ([], None, "at least one model"),
        (["not a model"], None, "model 0 is a str"),
        (None, ["a", "b", "c"], "3 names for 2 models"),
        (None, ["a", "a"], "must differ"),
    ],
)
def test_compare_rejects_bad_input(data, models, names, match):
    X, y, _ = data
    if models is None:
        models = [chunked_ols(X, y), chunked_ols(X[["educ"]], y)]
    with pytest.raises(ValueError, match=match):
        compare(models, names=names)


def test_compare_rejects_a_single_model_not_in_a_list(data):
    X, y, _ = data
    est = chunked_ols(X, y)
    for model in (est, est.results()):
        with pytest.raises(ValueError, match="sequence of models"):
            compare(model)


def test_compare_text_aligns_the_decimal_points(data):
    X, y, _ = data
    for stars in (True, False):
        table = compare([chunked_ols(X[["educ"]], y), chunked_ols(X, y)], stars=stars)
        lines = str(table).splitlines()
        numbers = lines[3:3 + 2 * 4] + [line for line in lines if line.startswith("R-squared")]
        points = {i for line in numbers for i, char in enumerate(line) if char == "."}
        assert len(points) == 2, "\n".join(lines)  # one decimal-point column per model
