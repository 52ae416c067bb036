"""What the SMR passes gather once per fit equals what each pass would gather itself."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbigreg.glm import BinomialFamily, LogitLink
from skbigreg.passes import PartitionSpec, RepresentativeTask, memory_tasks, represent_task
from skbigreg.passes._blocks import BlockSpread, RowTerms

FAMILY, LINK = BinomialFamily(), LogitLink()


def _rows(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    design = np.column_stack([np.ones(n), X])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(design @ [0.2, 1.0, -0.5, 0.3])))).astype(float)
    weight = rng.uniform(0, 2, n) * (rng.uniform(size=n) > 0.1)
    labels = rng.integers(0, 40, n)
    return design, y, weight, labels


@pytest.mark.parametrize("rule", ["auto", "hull", "no_root"])
def test_constants_kept_by_the_task_give_the_representatives_of_a_fresh_pass(rule):
    design, y, weight, labels = _rows()
    beta = np.array([0.1, 0.8, -0.4, 0.2])
    kept = memory_tasks(design, y, weight, labels, 1, boxes=True)[0]
    fresh = RepresentativeTask(design, y, weight, 0, labels)
    assert kept.boxes is not None and kept.spread is not None
    for b in (None, beta):
        ours = represent_task(kept, b, FAMILY, LINK, PartitionSpec(), False, True, rule)
        theirs = represent_task(fresh, b, FAMILY, LINK, PartitionSpec(), False, True, rule)
        for a, c in ((ours, theirs),) if rule != "auto" or b is None else (
                (ours.hull, theirs.hull), (ours.no_root, theirs.no_root)):
            assert_array_equal(a.kind, c.kind)
            assert_allclose(a.X, c.X, rtol=1e-12, atol=1e-12)
            assert_allclose(a.weight, c.weight, rtol=1e-12)


def test_block_spread_is_each_rows_distance_to_its_weighted_block_mean():
    design, _, weight, labels = _rows(1)
    spread = BlockSpread.of(design, weight, labels, 40)
    projection = design @ np.random.default_rng(20240601).uniform(0.5, 1.5, 4)
    frame = pd.DataFrame({"wz": weight * projection, "w": weight, "block": labels})
    sums = frame.groupby("block").sum()
    mean = (sums["wz"] / sums["w"]).to_numpy()
    assert_allclose(spread.deviation, np.abs(projection - mean[labels]), rtol=1e-12, atol=1e-12)
    assert_allclose(spread.magnitude, np.abs(projection), rtol=1e-15)


def test_row_terms_information_equals_the_weighted_gram_of_the_design():
    design, y, weight, _ = _rows(2, n=20000)  # several blocks of rows
    beta = np.array([0.1, 0.8, -0.4, 0.2])
    p = 1 / (1 + np.exp(-design @ beta))
    information = RowTerms.at(design, y, beta, FAMILY, LINK).information(design, weight, LINK)
    assert_allclose(information, (design * (weight * p * (1 - p))[:, None]).T @ design,
                    rtol=1e-12)
