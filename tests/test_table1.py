"""The Table 1 generator: deterministic, documented columns, and fits equal to pyfixest."""

import numpy as np
import pandas as pd
import pytest

from skbigreg.datasets import FERTILITY_COLUMNS, make_fertility_parquet
from skbigreg.io import read_files
from skbigreg.linear_model import CumulativeFixedEffectsRegression, CumulativeIVRegression

pf = pytest.importorskip("pyfixest")

EXOG = ["age", "age_first_birth", "first_boy"]
N_ROWS, N_CELLS = 30_000, 40


def _frame(files):
    return pd.concat([pd.read_parquet(file) for file in files], ignore_index=True)


@pytest.fixture(scope="module")
def unsorted_files(tmp_path_factory):
    return make_fertility_parquet(tmp_path_factory.mktemp("unsorted"), N_ROWS, N_CELLS,
                                  rows_per_file=12_000, random_state=3)


def test_generator_is_deterministic_with_documented_columns(unsorted_files, tmp_path):
    again = make_fertility_parquet(tmp_path / "again", N_ROWS, N_CELLS, rows_per_file=12_000,
                                   random_state=3)
    first, second = _frame(unsorted_files), _frame(again)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == FERTILITY_COLUMNS
    assert len(first) == N_ROWS and len(unsorted_files) == 3
    assert set(first["cell"]) == set(range(N_CELLS))
    assert first["age"].between(21, 35).all()
    assert (first["age_first_birth"] >= 15).all()
    assert (first["age_first_birth"] <= first["age"] - 2).all()
    binary = ["participation", "fertility", "twin", "first_boy"]
    assert first[binary].isin([0.0, 1.0]).all().all()
    assert (first.loc[first["twin"] == 1, "fertility"] == 1).all()
    other_seed = _frame(make_fertility_parquet(tmp_path / "other", N_ROWS, N_CELLS,
                                               rows_per_file=12_000, random_state=4))
    assert not first.equals(other_seed)


def test_sorted_files_hold_the_same_rows_ordered_by_cell(unsorted_files, tmp_path):
    sorted_files = make_fertility_parquet(tmp_path, N_ROWS, N_CELLS, rows_per_file=12_000,
                                          sort_by_cell=True, random_state=3)
    ordered = _frame(sorted_files)
    assert ordered["cell"].is_monotonic_increasing
    assert not _frame(unsorted_files)["cell"].is_monotonic_increasing
    key = FERTILITY_COLUMNS
    pd.testing.assert_frame_equal(
        ordered.sort_values(key, ignore_index=True),
        _frame(unsorted_files).sort_values(key, ignore_index=True))


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="n_rows >= n_cells"):
        make_fertility_parquet(tmp_path, n_rows=5, n_cells=10)


def _source(files, features):
    return read_files(files, target="participation", features=features, entities="cell",
                      clusters="cell", batch_rows=7_000)


@pytest.mark.parametrize("vcov", ["iid", "CRV1"])
def test_fixed_effects_fit_from_the_files_equals_pyfixest(unsorted_files, vcov):
    features = ["fertility"] + EXOG
    cov_type = "nonrobust" if vcov == "iid" else "cluster"
    ours = CumulativeFixedEffectsRegression(cov_type=cov_type).fit_chunks(
        _source(unsorted_files, features))
    theirs = pf.feols("participation ~ fertility + age + age_first_birth + first_boy | cell",
                      _frame(unsorted_files), vcov="iid" if vcov == "iid" else {"CRV1": "cell"})
    results = ours.results()
    np.testing.assert_allclose(results.params[features], theirs.coef()[features],
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(results.bse[features], theirs.se()[features], rtol=1e-8)


@pytest.mark.parametrize("vcov", ["iid", "CRV1"])
def test_iv_fixed_effects_fit_from_the_files_equals_pyfixest(unsorted_files, vcov):
    features = ["fertility", "twin"] + EXOG
    cov_type = "nonrobust" if vcov == "iid" else "cluster"
    ours = CumulativeIVRegression(endogenous=["fertility"], instruments=["twin"],
                                  cov_type=cov_type).fit_chunks(_source(unsorted_files, features))
    theirs = pf.feols("participation ~ age + age_first_birth + first_boy | cell | fertility ~ twin",
                      _frame(unsorted_files), vcov="iid" if vcov == "iid" else {"CRV1": "cell"})
    names = ["fertility"] + EXOG
    results = ours.results()
    np.testing.assert_allclose(results.params[names], theirs.coef()[names], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(results.bse[names], theirs.se()[names], rtol=1e-8)
