"""The SMR pass summed in slices of rows, both sign-split rules from one solve,
the O(n) partition codes, and the fit's one BLAS thread."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbigreg.glm import BinomialFamily, LogitLink
from skbigreg.linear_model import SMRLogisticRegression
from skbigreg.passes import _blocks, block_sums
from skbigreg.passes._partitions import dense_codes
from skbigreg.solvers._representatives import build_representatives, representatives_by_rule

FAMILY, LINK = BinomialFamily(), LogitLink()
BETA = np.array([0.1, 0.8, -0.4, 0.2])


def _rows(seed=0, n=5000, blocks=30):
    rng = np.random.default_rng(seed)
    design = np.column_stack([np.ones(n), rng.standard_normal((n, 3))])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(design @ [0.2, 1.0, -0.5, 0.3])))).astype(float)
    weight = rng.uniform(0, 2, n) * (rng.uniform(size=n) > 0.1)
    return design, y, weight, rng.integers(0, blocks, n)


@pytest.fixture
def small_slices(monkeypatch):
    # many slices of a few rows each, the information's blocks inside them
    monkeypatch.setattr(_blocks, "_INFORMATION_ROWS", 64)
    monkeypatch.setattr(_blocks, "_PASS_ROWS", 256)


def test_sliced_block_sums_equal_groupby_sums_per_sign_piece(small_slices):
    design, y, weight, labels = _rows()
    sums = block_sums(design, y, weight, labels, 30, BETA, FAMILY, LINK)
    eta = design @ BETA
    mu = 1 / (1 + np.exp(-eta))
    e = y - mu  # logit: nu = 1
    frame = pd.DataFrame({"piece": 2 * labels + (e > 0), "w": weight, "wy": weight * y,
                          "wee": weight * e * eta, "wpearson": weight * e**2 / (mu * (1 - mu)),
                          "wabs": weight * np.abs(e)})
    for j in range(4):
        frame[f"x{j}"] = weight * design[:, j]
        frame[f"s{j}"] = weight * e * design[:, j]
    oracle = frame.groupby("piece").sum().reindex(range(60), fill_value=0.0)
    assert_allclose(sums.weight, oracle["w"], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.y_sum, oracle["wy"], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.score_eta, oracle["wee"], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.pearson, oracle["wpearson"], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.abs_score, oracle["wabs"], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.x_sum, oracle[[f"x{j}" for j in range(4)]], rtol=1e-12, atol=1e-12)
    assert_allclose(sums.score, oracle[[f"s{j}" for j in range(4)]], rtol=1e-12, atol=1e-12)


def test_sliced_pass_gives_the_representatives_and_information_of_one_slice(monkeypatch):
    design, y, weight, labels = _rows(1)
    task = _blocks.memory_tasks(design, y, weight, labels, 1, boxes=True)[0]
    whole = _blocks.represent_task(task, BETA, FAMILY, LINK, None, False, True, "auto")
    monkeypatch.setattr(_blocks, "_INFORMATION_ROWS", 64)
    monkeypatch.setattr(_blocks, "_PASS_ROWS", 192)
    sliced = _blocks.represent_task(task, BETA, FAMILY, LINK, None, False, True, "auto")
    fisher = weight / (1 + np.exp(-design @ BETA)) / (1 + np.exp(design @ BETA))
    assert_allclose(sliced.hull.information, (design * fisher[:, None]).T @ design, rtol=1e-12)
    for a, b in ((sliced.hull, whole.hull), (sliced.no_root, whole.no_root)):
        assert_array_equal(a.kind, b.kind)
        assert_allclose(a.X, b.X, rtol=1e-10, atol=1e-12)
        assert_allclose(a.weight, b.weight, rtol=1e-12)


def test_fit_with_sliced_passes_equals_one_slice(monkeypatch):
    design, y, weight, labels = _rows(2, n=6000)
    X = design[:, 1:]
    model = SMRLogisticRegression(partition="grid", n_bins=3)
    whole = model.fit(X, y, sample_weight=weight, partitions=labels % 3)
    coef, bse = np.r_[whole.intercept_, whole.coef_.ravel()], whole.bse_
    monkeypatch.setattr(_blocks, "_INFORMATION_ROWS", 128)
    monkeypatch.setattr(_blocks, "_PASS_ROWS", 512)
    sliced = SMRLogisticRegression(partition="grid", n_bins=3).fit(
        X, y, sample_weight=weight, partitions=labels % 3)
    assert_allclose(np.r_[sliced.intercept_, sliced.coef_.ravel()], coef, rtol=1e-10, atol=1e-12)
    assert_allclose(sliced.bse_, bse, rtol=1e-10)


@pytest.mark.parametrize("rule", ["hull", "no_root"])
def test_representatives_by_rule_equal_separate_builds(rule):
    design, y, weight, labels = _rows(3, blocks=60)
    sums = block_sums(design, y, weight, labels, 60, BETA, FAMILY, LINK)
    both = dict(zip(("hull", "no_root"),
                    representatives_by_rule(sums, BETA, FAMILY, LINK, 0, ("hull", "no_root"))))
    alone = build_representatives(sums, BETA, FAMILY, LINK, 0, rule)
    assert_array_equal(both[rule].kind, alone.kind)
    assert_array_equal(both[rule].block, alone.block)
    assert_array_equal(both[rule].X, alone.X)
    assert (alone.kind == "split").any() or rule == "no_root"


@pytest.mark.parametrize("labels", [
    np.random.default_rng(0).integers(-5, 30, 1000),
    np.random.default_rng(1).integers(0, 2**62, 100),
    np.random.default_rng(2).integers(0, 255, 50).astype(np.uint8),
    np.array([2**64 - 1, 2**64 - 3, 5], dtype=np.uint64),
    np.random.default_rng(3).random(20) > 0.5,
    np.array(["b", "a", "b"]),
])
def test_dense_codes_equal_numpys_unique_inverse(labels):
    codes = dense_codes(labels)
    expected = np.unique(labels, return_inverse=True)[1].ravel()
    assert codes.dtype == expected.dtype
    assert_array_equal(codes, expected)


def test_every_smr_pass_runs_on_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    original = _blocks.RowTerms.at.__func__

    def spy(cls, *args):
        seen.append(max(lib["num_threads"] for lib in threadpool_info()
                        if lib["user_api"] == "blas"))
        return original(cls, *args)

    monkeypatch.setattr(_blocks.RowTerms, "at", classmethod(spy))
    design, y, weight, labels = _rows(4)
    model = SMRLogisticRegression(partition="none").fit(design[:, 1:], y, partitions=labels)
    model.fit_chunks([(design[:2500, 1:], y[:2500]), (design[2500:, 1:], y[2500:])])
    assert len(seen) >= 2 * model.n_iter and set(seen) == {1}


@pytest.mark.parametrize("partition", ["none", "grid"])
def test_streamed_fit_gathers_each_chunks_boxes_once_with_the_same_fit(monkeypatch, partition):
    from skbigreg.linear_model import _smr_base

    design, y, weight, labels = _rows(5, n=3000)
    chunks = [dict(X=design[s:s + 1000, 1:], y=y[s:s + 1000], sample_weight=weight[s:s + 1000],
                   partitions=labels[s:s + 1000] % 2) for s in range(0, 3000, 1000)]
    params = dict(partition=partition, n_clusters=20, n_bins=2, random_state=0)
    calls = []
    original = _blocks.BlockBoxes.of.__func__

    def counted(cls, *args):
        calls.append(args[0].shape[0])
        return original(cls, *args)

    monkeypatch.setattr(_blocks.BlockBoxes, "of", classmethod(counted))
    kept = SMRLogisticRegression(**params).fit_chunks(chunks)
    assert calls == [1000, 1000, 1000]  # once per chunk, not once per pass
    calls.clear()
    monkeypatch.setattr(_smr_base, "with_kept_boxes", lambda task, *args: task)
    fresh = SMRLogisticRegression(**params).fit_chunks(chunks)
    assert len(calls) == 3 * kept.n_iter_  # gathered by every SMR pass
    assert_array_equal(kept.coef_, fresh.coef_)
    assert_array_equal(kept.bse_, fresh.bse_)
