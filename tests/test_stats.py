"""Statistics objects: merge laws, fold complements, serialisation, against numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skbigreg.stats import GramStats, GroupedGramStats, OuterProductStats, QRStats

ACCUMULATORS = [GramStats, QRStats]


def _data(seed, n=200, k=4, t=1, offset=0.0, weights=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) * rng.uniform(0.5, 3, size=k) + offset
    y = X @ rng.normal(size=(k, t)) + rng.normal(size=(n, t)) + offset
    w = rng.uniform(0.1, 2.0, size=n) if weights else None
    return X, y, w


def _numpy_moments(X, y, w):
    Z = np.hstack([X, y])
    w = np.ones(len(Z)) if w is None else w
    # reference mean with the shift trick in extended precision
    mean = (np.longdouble(w) @ Z.astype(np.longdouble)) / w.sum(dtype=np.longdouble)
    Zc = Z.astype(np.longdouble) - mean
    C = (Zc * w[:, None]).T @ Zc
    return np.asarray(mean, dtype=float), np.asarray(C, dtype=float)


@pytest.mark.parametrize("cls", ACCUMULATORS)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_matches_numpy(cls, offset):
    X, y, w = _data(0, offset=offset, t=2)
    stats = cls.from_arrays(X, y, w)
    mean, C = _numpy_moments(X, y, w)
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(stats.comoment, C, rtol=1e-9, atol=1e-9 * np.abs(C).max())
    assert stats.n_rows == 200 and stats.weight_sum == pytest.approx(w.sum(), rel=1e-14)
    raw = stats.moments(center=False)
    Z = np.hstack([X, y])
    np.testing.assert_allclose(raw, (Z * w[:, None]).T @ Z, rtol=1e-12)


@pytest.mark.parametrize("cls", ACCUMULATORS)
def test_identity_commutativity_associativity(cls):
    X, y, w = _data(1)
    a, b, c = (cls.from_arrays(X[s], y[s], w[s]) for s in (slice(0, 50), slice(50, 120), slice(120, None)))
    empty = cls.empty(4)
    assert (a + empty).allclose(a, rtol=1e-15) and (empty + a).allclose(a, rtol=1e-15)
    assert (a + b).allclose(b + a, rtol=1e-13)
    assert ((a + b) + c).allclose(a + (b + c), rtol=1e-12)
    assert sum([a, b, c]).allclose(cls.from_arrays(X, y, w), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 299), max_size=8, unique=True),
    seed=st.integers(0, 10**6),
    offset=st.sampled_from([0.0, 1e6]),
    cls=st.sampled_from(ACCUMULATORS),
)
def test_any_chunking_and_order(cuts, seed, offset, cls):
    X, y, w = _data(seed, n=300, offset=offset)
    edges = [0, *sorted(cuts), 300]
    parts = [cls.from_arrays(X[a:b], y[a:b], w[a:b]) for a, b in zip(edges, edges[1:])]
    order = np.random.default_rng(seed).permutation(len(parts))
    merged = sum((parts[i] for i in order), cls.empty(4))
    whole = cls.from_arrays(X, y, w)
    tol = 1e-10 if offset == 0 else 1e-8
    assert merged.allclose(whole, rtol=tol)


def test_gram_one_row_at_a_time_at_large_offsets():
    X, y, _ = _data(2, n=60, offset=1e6, weights=False)
    streamed = sum((GramStats.from_arrays(X[i : i + 1], y[i : i + 1]) for i in range(60)), GramStats.empty(4))
    _, C = _numpy_moments(X, y, None)
    np.testing.assert_allclose(streamed.comoment, C, rtol=1e-8, atol=1e-8 * np.abs(C).max())


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_fold_complement(offset):
    X, y, w = _data(3, offset=offset)
    total = GramStats.from_arrays(X, y, w)
    fold = GramStats.from_arrays(X[:70], y[:70], w[:70])
    rest = GramStats.from_arrays(X[70:], y[70:], w[70:])
    assert (total - fold).allclose(rest, rtol=1e-8)
    assert (total - total).weight_sum == 0


def test_merge_shape_mismatch_names_both_shapes():
    a = GramStats.empty(3)
    with pytest.raises(ValueError, match=r"\(3, 1\).*\(4, 1\)"):
        a + GramStats.empty(4)
    with pytest.raises(ValueError, match="GramStats with QRStats"):
        a + QRStats.empty(3)


@pytest.mark.parametrize("cls", ACCUMULATORS)
def test_serialisation_round_trip(cls, tmp_path):
    X, y, w = _data(4, t=2)
    stats = cls.from_arrays(X, y, w)
    again = cls.from_dict(stats.to_dict())
    assert again.allclose(stats, rtol=0) and again.n_rows == stats.n_rows
    stats.save(tmp_path / "s.npz")
    loaded = cls.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(loaded.comoment, stats.comoment)
    other = GramStats if cls is QRStats else QRStats
    with pytest.raises(ValueError, match="schema"):
        other.from_dict(stats.to_dict())
    bad = stats.to_dict()
    bad["__version__"] = np.asarray(99)
    with pytest.raises(ValueError, match="version 99"):
        cls.from_dict(bad)


def test_load_refuses_pickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __schema__=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        GramStats.load(path)


def test_non_finite_chunk_is_named():
    X, y, _ = _data(5, n=20, weights=False)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        GramStats.from_arrays(X, y)
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="X contains infinity"):
        QRStats.from_arrays(X, y)
    X[3, 1] = 0
    y[0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        GramStats.from_arrays(X, y)


def test_grouped_statistics_match_per_group():
    X, y, w = _data(6, t=2)
    labels = np.random.default_rng(6).choice(["a", "b", "c", "d"], size=200)
    grouped = GroupedGramStats.from_arrays(X[:90], y[:90], labels[:90], w[:90]) + (
        GroupedGramStats.from_arrays(X[90:], y[90:], labels[90:], w[90:])
    )
    assert list(grouped.labels) == ["a", "b", "c", "d"]
    for label in grouped.labels:
        rows = labels == label
        assert grouped.group(label).allclose(GramStats.from_arrays(X[rows], y[rows], w[rows]), rtol=1e-10)
    assert grouped.total().allclose(GramStats.from_arrays(X, y, w), rtol=1e-10)
    again = GroupedGramStats.from_dict(grouped.to_dict())
    np.testing.assert_array_equal(again.labels, grouped.labels)
    np.testing.assert_array_equal(again.comoment, grouped.comoment)


def test_grouped_statistics_with_many_small_groups():
    X, y, w = _data(8)
    labels = np.arange(200) % 90  # about two rows per group: the outer-product path
    grouped = GroupedGramStats.from_arrays(X, y, labels, w)
    for label in (0, 17, 89):
        rows = labels == label
        assert grouped.group(label).allclose(GramStats.from_arrays(X[rows], y[rows], w[rows]), rtol=1e-10)
    assert grouped.total().allclose(GramStats.from_arrays(X, y, w), rtol=1e-10)


def test_outer_product_stats_merge():
    s = np.random.default_rng(7).normal(size=(50, 3))
    total = OuterProductStats.from_rows(s[:20]) + OuterProductStats.from_rows(s[20:])
    np.testing.assert_allclose(total.matrix, s.T @ s, rtol=1e-13)
    assert total.n_rows == 50
    assert OuterProductStats.from_dict(total.to_dict()).matrix.tolist() == total.matrix.tolist()
