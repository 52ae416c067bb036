"""The fold map's kernels: the row hash against its definition, and the raw
per-fold Gram path (:class:`SortedFoldGram`) against numpy per fold."""

import struct

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skbigreg.model_selection import _folds, chunk_fold_statistics, hash_folds
from skbigreg.model_selection._folds import _raw_fold_gram, _row_folds, row_hashes
from skbigreg.stats import GramStats

MASK = 2**64 - 1


# -- the hash, in Python integers ------------------------------------------------
def _mix(h):
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def _bits(value):
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _reference_hashes(Z, seed):
    """``mix(seed ^ sum_j bits(z_ij) m_j mod 2^64)``, m_j = mix(j * golden + seed) | 1."""
    multipliers = [_mix((j * 0x9E3779B97F4A7C15 + seed) & MASK) | 1
                   for j in range(1, Z.shape[1] + 1)]
    return [_mix(seed ^ (sum(_bits(float(z)) * m for z, m in zip(row, multipliers)) & MASK))
            for row in Z]


def _special_rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -2.2250738585072014e-308,
                1.7976931348623157e308, 1.0, -1.0]
    X[: len(specials), 0] = specials
    X[::3, 2] = 0.0
    y = rng.standard_normal((40, 2))
    y[5, 1] = -0.0
    return X, y


@pytest.mark.parametrize("seed", [None, 0, 12345, 2**64 - 1])
def test_row_hashes_equal_their_definition_on_special_values(seed):
    X, y = _special_rows()
    expected = _reference_hashes(np.hstack([X, y]), 0 if seed is None else seed)
    assert row_hashes(X, y, seed).tolist() == expected


def test_sparse_rows_hash_as_their_dense_copy_by_the_definition():
    rng = np.random.default_rng(1)
    values = rng.standard_normal((60, 30))
    values[7] = 0.0  # an empty row
    X = sp.csr_matrix(np.where(rng.random((60, 30)) < 0.1, values, 0.0))
    y = rng.standard_normal(60)
    expected = _reference_hashes(np.column_stack([X.toarray(), y]), 9)
    assert row_hashes(X, y, 9).tolist() == expected
    assert row_hashes(X.toarray(), y, 9).tolist() == expected


@pytest.mark.parametrize("n_splits", [2, 5, 300])
def test_fold_of_a_piece_is_the_multiply_shift_of_the_hash(n_splits):
    X, y = _special_rows()
    hashes = _reference_hashes(np.hstack([X, y]), 4)
    expected = [((h >> 32) * n_splits) >> 32 for h in hashes]
    assert hash_folds(X, y, n_splits, 4).tolist() == expected
    assert _row_folds(X, y, n_splits, 4)(slice(3, 29)).tolist() == expected[3:29]


# -- the raw per-fold Gram path -----------------------------------------------------
def _numpy_fold(X, y, rows):
    Z = np.hstack([X, y])[rows]
    mean = Z.mean(axis=0)
    return len(Z), mean, (Z - mean).T @ (Z - mean)


def _assert_numpy_folds(folds, X, y, fold):
    scale = np.abs(np.cov(np.hstack([X, y]).T)).max() * len(X)
    for k, stats in enumerate(folds.folds):
        n_rows, mean, comoment = _numpy_fold(X, y, fold == k)
        assert stats.n_rows == n_rows
        assert stats.weight_sum == float(n_rows)
        if n_rows:
            assert_allclose(stats.mean, mean, rtol=1e-12, atol=1e-14)
            assert_allclose(stats.comoment, comoment, rtol=1e-12, atol=1e-13 * scale)


def _rows(n, k, t, seed=0, order="C"):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.standard_normal((n, k)) * np.linspace(0.5, 3.0, k) + 0.1, order=order)
    y = X[:, :t] @ np.ones((t, t)) + rng.standard_normal((n, t)) + 0.3
    return X, y


@pytest.mark.parametrize("n_splits", [2, 5, 300])
@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("small_pieces", [False, True])
def test_raw_fold_gram_equals_numpy_per_fold(monkeypatch, n_splits, n_targets, small_pieces):
    if small_pieces:  # many pieces and several blocks per fold
        monkeypatch.setattr(_folds, "_PIECE_ROWS", 64)
        monkeypatch.setattr(_folds, "_ROWS_PER_FOLD", 1)
    X, y = _rows(30_000 if n_splits < 300 else 6_000, 6, n_targets)
    fold = hash_folds(X, y, n_splits, 2)
    raw = _raw_fold_gram(X, y, _row_folds(X, y, n_splits, 2), n_splits)
    assert raw is not None  # the offsets allow raw products: this path was taken
    _assert_numpy_folds(raw, X, y, fold)
    _assert_numpy_folds(chunk_fold_statistics(X, y, None, None, n_splits, 2, GramStats), X, y, fold)


def test_raw_fold_gram_equals_the_chunk_accumulator_on_each_fold():
    # The numbers are those of GramStats.from_arrays on each fold's own rows.
    X, y = _rows(120_000, 50, 1, seed=3)  # one or two raw blocks per fold
    fold = hash_folds(X, y, 5)
    folds = chunk_fold_statistics(X, y, None, None, 5, None, GramStats)
    for k, stats in enumerate(folds.folds):
        own = GramStats.from_arrays(X[fold == k], y[fold == k])
        assert stats.n_rows == own.n_rows
        assert_allclose(stats.mean, own.mean, rtol=1e-12, atol=1e-15)
        assert_allclose(stats.comoment, own.comoment, rtol=0, atol=1e-12 * np.abs(own.comoment).max())


@pytest.mark.parametrize("order", ["F", "strided"])
def test_raw_fold_gram_reads_any_memory_layout(order):
    X, y = _rows(9_000, 5, 1, order="F" if order == "F" else "C")
    if order == "strided":
        X = np.hstack([X, X])[:, ::2]
    fold = hash_folds(X, y, 5, 1)
    _assert_numpy_folds(chunk_fold_statistics(X, y, None, None, 5, 1, GramStats), X, y, fold)


def test_offsets_in_the_first_piece_take_the_centred_path(monkeypatch):
    monkeypatch.setattr(_folds, "_PIECE_ROWS", 512)
    X, y = _rows(20_000, 4, 1, seed=5)
    X[:, 2] += 1e4
    assert _raw_fold_gram(X, y, _row_folds(X, y, 5, None), 5) is None
    _assert_numpy_folds(chunk_fold_statistics(X, y, None, None, 5, None, GramStats),
                        X, y, hash_folds(X, y, 5))


@pytest.mark.parametrize("offset_from", [20_480, 39_936])
def test_a_block_with_offsets_is_recomputed_from_its_rows(monkeypatch, offset_from):
    # Blocks of one piece (512 rows): the pieces from ``offset_from`` on have a
    # column whose mean is far beyond its spread; only their blocks are
    # recomputed from their own rows, and every fold equals numpy's.
    monkeypatch.setattr(_folds, "_PIECE_ROWS", 512)
    monkeypatch.setattr(_folds, "_ROWS_PER_FOLD", 1)
    monkeypatch.setattr("skbigreg.stats._folds.block_rows", lambda n_columns: 50)
    monkeypatch.setattr("skbigreg.stats._folds._RAW_BLOCKS", 1)
    X, y = _rows(40_000, 4, 1, seed=5)
    X[offset_from:, 2] = 1e4 + 1e-3 * X[offset_from:, 2]
    refilled = []
    original = GramStats.from_arrays.__func__

    def spy(cls, X_part, y_part, sample_weight=None):
        refilled.append(len(X_part))
        return original(cls, X_part, y_part, sample_weight)

    monkeypatch.setattr(GramStats, "from_arrays", classmethod(spy))
    folds = _raw_fold_gram(X, y, _row_folds(X, y, 5, None), 5)
    monkeypatch.undo()
    assert folds is not None
    assert sum(refilled) == 40_000 - offset_from
    _assert_numpy_folds(folds, X, y, hash_folds(X, y, 5))


@pytest.mark.parametrize("name, bad", [("X", np.nan), ("X", np.inf), ("y", np.nan)])
def test_non_finite_rows_are_named(name, bad):
    X, y = _rows(5_000, 4, 1)
    (X if name == "X" else y)[4_321, 0] = bad
    with pytest.raises(ValueError, match=f"Input {name} contains"):
        chunk_fold_statistics(X, y, None, None, 5, None, GramStats)


def test_folds_with_no_rows_stay_empty():
    X, y = _rows(50, 3, 1)
    folds = chunk_fold_statistics(X, y, None, None, 300, 0, GramStats)
    counts = np.bincount(hash_folds(X, y, 300, 0), minlength=300)
    assert_array_equal([s.n_rows for s in folds.folds], counts)
    assert all(s.weight_sum == 0 and not s.comoment.any() for s in folds.folds if s.n_rows == 0)


@pytest.mark.parametrize("order", ["C", "F", "strided"])
@pytest.mark.parametrize("n_features", [0, 1, 7])
def test_a_sorted_piece_is_the_rows_taken_in_stable_fold_order(order, n_features):
    # The rows are placed by scattering whole rows; numpy's stable argsort and
    # take are the oracle, bit for bit.
    X, y = _rows(3_000, max(n_features, 2), 2, order="F" if order == "F" else "C")
    X = X[:, :n_features]
    if order == "strided":
        X = np.hstack([X, X])[:, ::2]
    fold_of = _row_folds(X, y, 5, 3)
    fold = np.empty(len(X), dtype=np.uint8)
    sort_piece = _folds._SortedPieces(X, y, fold_of, 5, 1_000, fold)
    for start in (0, 1_000, 2_000):
        _, Z, bounds = sort_piece(start)
        ids = hash_folds(X[start:start + 1_000], y[start:start + 1_000], 5, 3)
        stable = np.argsort(ids, kind="stable")
        assert_array_equal(fold[start:start + 1_000], ids)
        assert_array_equal(Z, np.column_stack([X, y, np.ones(len(X))])[start:start + 1_000][stable])
        assert_array_equal(bounds, np.searchsorted(ids[stable], np.arange(6)))
