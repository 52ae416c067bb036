"""Per-fold statistics gathered piece by piece: the same whatever the pieces."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skbigreg.model_selection import _folds, chunk_fold_statistics, hash_folds
from skbigreg.stats import GramStats, QRStats


def _rows(seed, n=3_000, order="C"):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.standard_normal((n, 6)) * [1, 2, 3, 4, 5, 6] + 20.0, order=order)
    y = rng.standard_normal((n, 2)) + X[:, :2]
    w = rng.uniform(0.2, 3.0, n)
    return X, y, w


def _numpy_fold(X, y, w, rows):
    """Count, weight, weighted means and centred co-moments of ``rows``, by numpy."""
    Z, weights = np.hstack([X, y])[rows], w[rows]
    mean = np.average(Z, axis=0, weights=weights)
    centred = Z - mean
    return len(Z), weights.sum(), mean, (centred * weights[:, None]).T @ centred


@pytest.mark.parametrize("accumulator", [GramStats, QRStats])
@pytest.mark.parametrize("order", ["C", "F"])
def test_small_pieces_give_numpys_fold_statistics(monkeypatch, accumulator, order):
    # Pieces of 64 rows: many pieces, most folds present in each; the result
    # is numpy's per-fold statistics on the rows hash_folds gives each fold.
    X, y, w = _rows(0, order=order)
    monkeypatch.setattr(_folds, "_PIECE_ROWS", 64)
    monkeypatch.setattr(_folds, "_ROWS_PER_FOLD", 1)
    folds = chunk_fold_statistics(X, y, w, None, 7, 3, accumulator)
    fold = hash_folds(X, y, 7, random_state=3)
    for k, stats in enumerate(folds.folds):
        n_rows, weight_sum, mean, comoment = _numpy_fold(X, y, w, fold == k)
        assert stats.n_rows == n_rows
        assert_allclose(stats.weight_sum, weight_sum, rtol=1e-12)
        assert_allclose(stats.mean, mean, rtol=1e-12)
        assert_allclose(stats.comoment, comoment, rtol=1e-10, atol=1e-10 * n_rows)


def test_piece_size_does_not_change_the_statistics(monkeypatch):
    X, y, w = _rows(1, n=20_000)
    default = chunk_fold_statistics(X, y, w, None, 5, 0, GramStats)
    monkeypatch.setattr(_folds, "_PIECE_ROWS", 100)
    monkeypatch.setattr(_folds, "_ROWS_PER_FOLD", 1)
    small = chunk_fold_statistics(X, y, w, None, 5, 0, GramStats)
    for a, b in zip(default.folds, small.folds):
        assert a.n_rows == b.n_rows
        assert_allclose(a.mean, b.mean, rtol=1e-12)
        assert_allclose(a.comoment, b.comoment, rtol=1e-11, atol=1e-11 * a.n_rows)


def test_many_folds_use_pieces_with_rows_for_each_fold():
    # 300 folds: each piece holds about _ROWS_PER_FOLD rows per fold, and every
    # row lands in the fold hash_folds gives it.
    X, y, _ = _rows(2, n=5_000)
    folds = chunk_fold_statistics(X, y, None, None, 300, 0, GramStats)
    counts = np.bincount(hash_folds(X, y, 300), minlength=300)
    assert [s.n_rows for s in folds.folds] == counts.tolist()
