"""The sparse maps walk a chunk in blocks of rows: the answer does not depend on them.

The Gram map and the HC pass read a sparse chunk a block of about 2^19
stored values at a time (so a chunk is never copied whole); the small test
designs fit in one block, so here the blocks are made tiny (64 rows, and
pairs of stored values summed a few hundred at a time) and the results
compared with independent oracles: moments in extended precision and
statsmodels' OLS/WLS heteroskedasticity-robust errors on the dense design.
"""

import numpy as np
import pytest
import statsmodels.api as sm
from test_sparse import _design, _exact_moments, _relative

from skbigreg.linear_model import CumulativeLinearRegression
from skbigreg.passes import _sparse_scores
from skbigreg.stats import GramStats, _sparse


@pytest.fixture
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(_sparse, "_BLOCK_ENTRIES", 500)  # 64-row blocks
    monkeypatch.setattr(_sparse_scores, "_PAIR_BLOCK", 300)


def test_the_design_spans_many_blocks(tiny_blocks):
    X, _, _ = _design()
    blocks = list(_sparse.entry_blocks(X, 4))
    assert len(blocks) == -(-X.shape[0] // 64) and blocks[-1].stop == X.shape[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_gram_in_many_blocks_is_centred_to_full_accuracy(tiny_blocks, weighted):
    X, y, extra = _design(offsets=(1e8, -3e6, 5.0))
    w = extra["w"] if weighted else np.ones(X.shape[0])
    stats = GramStats.from_arrays(X, y, w if weighted else None)
    mean, comoment = _exact_moments(X, y, w)
    scale = np.sqrt(np.outer(np.diag(comoment), np.diag(comoment)))
    assert np.all(np.abs(stats.comoment - comoment) <= 1e-13 * scale)
    spread = np.sqrt(np.diag(comoment) / w.sum())
    assert np.all(np.abs(stats.mean - mean) <= 1e-14 * (np.abs(mean) + spread))


@pytest.mark.parametrize("weighted", [False, True])
def test_hc_errors_in_many_blocks_equal_statsmodels(tiny_blocks, weighted):
    # Small offsets: statsmodels' leverages come from the raw design, which
    # offsets of 1e4 cost it about 1e-10 of HC2/HC3 (the dense fit agrees).
    X, y, extra = _design(seed=5, offsets=(3.0, -2.0, 0.5))
    w = extra["w"] if weighted else None
    est = CumulativeLinearRegression(cov_type="HC0").fit(X, y, sample_weight=w)
    design = sm.add_constant(X.toarray())
    model = sm.WLS(y, design, weights=w) if weighted else sm.OLS(y, design)
    for cov_type in ("HC0", "HC1", "HC2", "HC3"):
        theirs = model.fit(cov_type=cov_type).bse
        assert _relative(est.results(cov_type).bse.to_numpy(), theirs) < 1e-10, cov_type
