"""Representatives and block sums: merge laws, halves against the whole, numpy oracles."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbigreg.glm import get_family_link
from skbigreg.passes import PartitionSpec, RepresentativeTask, represent_task, summarise_task
from skbigreg.stats import BlockSums, Representatives, RepresentativeSets

GAUSSIAN = get_family_link("gaussian", "identity")
LOGISTIC = get_family_link("binomial", "logit")


def _rows(seed, n=600):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ [1.0, -0.5]))).astype(float)
    return X, y, rng.uniform(0.2, 2.0, n)


def _task(X, y, w, source):
    return RepresentativeTask(X, y, w, source, partitions=np.zeros(len(y), dtype=int))


def _reps(task, beta=None, family_link=LOGISTIC, rule="no_root"):
    family, link = family_link
    return represent_task(task, beta, family, link, PartitionSpec(n_bins=3), True, True, rule)


def _assert_same(a, b):
    """Rows equal exactly; summed information and Pearson sums to rounding
    (floating-point addition is not associative)."""
    for f in fields(Representatives):
        left, right = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("information", "pearson") and left is not None:
            assert_allclose(left, right, rtol=1e-13)
        elif isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            assert_array_equal(left, right)
        else:
            assert left == right


def _three(beta=None):
    X, y, w = _rows(0)
    parts = [slice(0, 150), slice(150, 400), slice(400, None)]
    return [_reps(_task(X[s], y[s], w[s], i), beta) for i, s in enumerate(parts)]


@pytest.mark.parametrize("beta", [None, np.array([0.1, 0.9, -0.4])])
def test_identity_commutativity_associativity(beta):
    a, b, c = _three(beta)
    empty = Representatives.empty(3)
    _assert_same(a + empty, a)
    _assert_same(empty + a, a)
    _assert_same((a + b).sorted(), (b + a).sorted())
    _assert_same(((a + b) + c).sorted(), (a + (b + c)).sorted())
    _assert_same((c + a + b).sorted(), (a + b + c).sorted())


def test_representative_sets_merge_like_their_members():
    X, y, w = _rows(1)
    beta = np.array([0.0, 0.8, -0.3])
    a, b = (_reps(_task(X[s], y[s], w[s], i), beta, rule="auto")
            for i, s in enumerate([slice(0, 300), slice(300, None)]))
    assert isinstance(a, RepresentativeSets)
    empty = RepresentativeSets.empty(3)
    _assert_same((a + empty).hull, a.hull)
    _assert_same((empty + a).no_root, a.no_root)
    merged = (b + a).sorted()
    _assert_same(merged.hull, (a.hull + b.hull).sorted())
    _assert_same(merged.no_root, (a.no_root + b.no_root).sorted())


def test_merge_of_different_parameter_counts_names_both_shapes():
    a = Representatives.empty(3)
    with pytest.raises(ValueError, match=r"3 and 2 parameters.*\(0, 3\) and \(0, 2\)"):
        a + Representatives.empty(2)


def test_halves_merged_equal_numpy_on_the_whole():
    """Mean representatives of two halves = weighted block means (pandas) of each
    half; their merged information and Pearson sums = numpy on all rows."""
    X, y, w = _rows(2)
    labels = np.random.default_rng(2).integers(0, 6, 600)
    beta = np.array([0.2, 0.7, -0.6])
    halves = [slice(0, 300), slice(300, None)]
    tasks = [RepresentativeTask(X[s], y[s], w[s], i, labels=labels[s]) for i, s in enumerate(halves)]
    mean = sum((_reps(t) for t in tasks), Representatives.empty(3)).sorted()
    smr = sum((_reps(t, beta) for t in tasks), Representatives.empty(3)).sorted()
    for i, s in enumerate(halves):
        mine = mean.source == i
        frame = pd.DataFrame({"w": w[s], "wy": w[s] * y[s], "wx0": w[s] * X[s, 0],
                              "wx1": w[s] * X[s, 1], "block": labels[s]})
        sums = frame.groupby("block").sum()
        assert_array_equal(mean.block[mine], sums.index)
        assert_allclose(mean.weight[mine], sums["w"], rtol=1e-12)
        assert_allclose(mean.y[mine], sums["wy"] / sums["w"], rtol=1e-12)
        # a mean near zero is a difference of O(1) sums: absolute rounding
        assert_allclose(mean.X[mine, 1:], sums[["wx0", "wx1"]] / sums[["w"]].to_numpy(),
                        rtol=1e-12, atol=1e-14)
    assert mean.n_rows == smr.n_rows == 600
    design = np.column_stack([np.ones(600), X])
    p = 1 / (1 + np.exp(-design @ beta))
    assert_allclose(smr.information, (design * (w * p * (1 - p))[:, None]).T @ design, rtol=1e-12)
    assert_allclose(smr.pearson, np.sum(w * (y - p) ** 2 / (p * (1 - p))), rtol=1e-12)
    assert np.isnan(mean.pearson) and mean.information is None


def test_block_sums_pair_their_sign_pieces():
    X, y, w = _rows(3)
    beta = np.array([0.1, 0.5, 0.5])
    family, link = LOGISTIC
    task = RepresentativeTask(X, y, w, 0, labels=np.arange(600) % 7)
    chunk = summarise_task(task, beta, family, link, PartitionSpec(), True)
    blocks = chunk.sums.pieces_to_blocks()
    assert isinstance(blocks, BlockSums)
    design = np.column_stack([np.ones(600), X])
    e = w * (y - 1 / (1 + np.exp(-design @ beta)))
    for k in range(7):
        rows = task.labels == k
        assert_allclose(blocks.weight[k], w[rows].sum(), rtol=1e-12)
        assert_allclose(blocks.score[k], e[rows] @ design[rows], rtol=1e-10, atol=1e-12)
        assert_allclose(blocks.x_min[k], design[rows].min(axis=0))


def test_chunk_sums_carry_gaussian_scores_exactly():
    """The Gaussian identity score is linear in beta: the first-order carry is exact."""
    X, _, w = _rows(4)
    y = X @ [1.0, -2.0] + np.random.default_rng(4).normal(size=600)
    family, link = GAUSSIAN
    task = RepresentativeTask(X, y, w, 0, labels=np.arange(600) % 5)
    chunk = summarise_task(task, np.zeros(3), family, link, PartitionSpec(), True)
    beta = np.array([0.3, 0.9, -1.7])
    moved = chunk.at(beta)
    design = np.column_stack([np.ones(600), X])
    e = w * (y - design @ beta)
    expected = np.array([e[(task.labels == k)] @ design[task.labels == k] for k in range(5)])
    assert_allclose(moved.pieces_to_blocks().score, expected, rtol=1e-10, atol=1e-10)
    assert_allclose(moved.score_eta, moved.score @ beta)
    assert_array_equal(chunk.at(chunk.beta).score, chunk.sums.score)
