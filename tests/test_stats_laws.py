"""Merge laws of every mergeable statistics type, checked against numpy.

One registry of (type, build, oracle) entries and one set of parametrized
checks, in the shape of river's statistics tests: the identity of ``+``,
commutativity, associativity, serial = two halves merged = numpy, the fold
complement ``-`` where defined, and save/load round trips. The oracles
compute each statistic directly from the rows with plain numpy.
"""

from dataclasses import dataclass

import numpy as np
import pytest

from skbigreg.model_selection import fold_statistics
from skbigreg.stats import (
    FoldStatistics,
    GramStats,
    GroupedGramStats,
    LevelMeans,
    MultiwayGroupedStats,
    OuterProductStats,
    QRStats,
    SplitStatistics,
)

N, K, T, N_SPLITS = 120, 3, 2, 4


@dataclass(frozen=True)
class Rows:
    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    groups: np.ndarray  # group / level label of each row
    fold: np.ndarray  # fold id of each row

    @property
    def Z(self):
        return np.hstack([self.X, self.y])

    def take(self, index):
        return Rows(*(a[index] for a in (self.X, self.y, self.w, self.groups, self.fold)))


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, K)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    y = X @ rng.normal(size=(K, T)) + rng.normal(size=(N, T))
    return Rows(X, y, rng.uniform(0.2, 2.0, N), rng.integers(0, 7, N), rng.integers(0, N_SPLITS, N))


# -- numpy oracles --------------------------------------------------------------
def _moments(Z, w):
    """Count, weight, weighted mean and centred weighted co-moment of the rows Z."""
    if len(Z) == 0:
        return {"n_rows": 0, "weight_sum": 0.0, "mean": np.zeros(Z.shape[1]),
                "comoment": np.zeros((Z.shape[1],) * 2)}
    mean = np.average(Z, axis=0, weights=w)
    centred = Z - mean
    return {"n_rows": len(Z), "weight_sum": w.sum(), "mean": mean,
            "comoment": (centred * w[:, None]).T @ centred}


def _stacked(per_part):
    return {key: np.array([part[key] for part in per_part]) for key in per_part[0]}


def _per_label(rows, labels_of_rows, labels, oracle):
    return _stacked([oracle(rows.take(labels_of_rows == label)) for label in labels])


def _gram_oracle(rows):
    return _moments(rows.Z, rows.w)


def _grouped_oracle(rows):
    labels = np.unique(rows.groups)
    out = _per_label(rows, rows.groups, labels, _gram_oracle)
    return {"labels": labels, **out}


def _levels_oracle(rows):
    labels = np.unique(rows.groups)
    out = _per_label(rows, rows.groups, labels, _gram_oracle)
    del out["comoment"]
    # clusters = level // 2: every level lies in one cluster, so they nest.
    return {"labels": labels, **out, "cluster": labels // 2}


def _levels_within_oracle(rows):
    """The level means, and the co-moments of the rows demeaned by level: in
    all and per cluster (clusters = level // 2, in which the levels nest)."""
    labels = np.unique(rows.groups)
    out = _per_label(rows, rows.groups, labels, _gram_oracle)
    spread = out.pop("comoment")
    clusters = np.unique(labels // 2)
    per_cluster = np.array([spread[labels // 2 == c].sum(axis=0) for c in clusters])
    return {"labels": labels, **out, "cluster": labels // 2, "within": spread.sum(axis=0),
            "cluster_within": per_cluster}


def _multiway_oracle(rows):
    """Per-cluster moments of the groups, the folds and each (group, fold) pair."""
    out = {}
    for name, keys in (("groups", rows.groups[:, None]), ("folds", rows.fold[:, None]),
                       ("pairs", np.column_stack([rows.groups, rows.fold]))):
        labels, codes = np.unique(keys, axis=0, return_inverse=True)
        per = _per_label(rows, codes.ravel(), np.arange(len(labels)), _gram_oracle)
        out.update({f"{name}_{key}": value for key, value in per.items()})
        out[f"{name}_labels"] = labels
    return out


def _folds_oracle(rows):
    return _per_label(rows, rows.fold, np.arange(N_SPLITS), _gram_oracle)


def _outer_oracle(rows):
    scores = rows.X * (rows.w * rows.y[:, 0])[:, None]
    return {"n_rows": len(scores), "matrix": scores.T @ scores}


# -- what each type reports, in the oracles' terms ----------------------------
def _gram_view(s):
    return {"n_rows": s.n_rows, "weight_sum": s.weight_sum, "mean": s.mean, "comoment": s.comoment}


def _grouped_view(s):
    return {"labels": s.labels, "n_rows": s.n_rows, "weight_sum": s.weight_sum,
            "mean": s.mean, "comoment": s.comoment}


def _levels_view(s):
    return {"labels": s.labels, "n_rows": s.n_rows, "weight_sum": s.weight_sum,
            "mean": s.mean, "cluster": s.cluster}


def _levels_within_view(s):
    return {**_levels_view(s), "within": s.within, "cluster_within": s.cluster_within}


def _multiway_view(s):
    out = {}
    for name, grouped in zip(("groups", "folds", "pairs"), s.grouped):
        labels = grouped.labels
        if labels.dtype.names:  # an intersection's record labels as a (G, 2) table
            labels = np.column_stack([labels[field] for field in labels.dtype.names])
        elif len(labels) or name != "pairs":
            labels = labels[:, None]
        else:
            labels = labels.reshape(0, 2)
        out[f"{name}_labels"] = labels
        out.update({f"{name}_{key}": value for key, value in _gram_view(grouped).items()})
    return out


def _folds_view(s):
    return _stacked([_gram_view(fold) for fold in s.folds])


def _outer_view(s):
    return {"n_rows": s.n_rows, "matrix": s.matrix}


@dataclass(frozen=True)
class Entry:
    cls: type
    build: object  # Rows -> statistics
    empty: object  # () -> statistics of no rows
    oracle: object  # Rows -> dict of arrays, from numpy
    view: object  # statistics -> dict of arrays

    def __str__(self):
        return self.cls.__name__


def _fold_build(accumulator):
    def build(rows):
        return fold_statistics(rows.X, rows.y, rows.w, rows.fold, N_SPLITS, accumulator)
    return build


REGISTRY = [
    Entry(GramStats, lambda r: GramStats.from_arrays(r.X, r.y, r.w),
          lambda: GramStats.empty(K, T), _gram_oracle, _gram_view),
    Entry(QRStats, lambda r: QRStats.from_arrays(r.X, r.y, r.w),
          lambda: QRStats.empty(K, T), _gram_oracle, _gram_view),
    Entry(GroupedGramStats, lambda r: GroupedGramStats.from_arrays(r.X, r.y, r.groups, r.w),
          lambda: GroupedGramStats.empty(K, T), _grouped_oracle, _grouped_view),
    Entry(LevelMeans, lambda r: LevelMeans.from_arrays(r.Z, r.groups, r.w, r.groups // 2),
          lambda: LevelMeans.empty(K + T), _levels_oracle, _levels_view),
    Entry(LevelMeans,
          lambda r: LevelMeans.from_arrays(r.Z, r.groups, r.w, r.groups // 2, within=True),
          lambda: LevelMeans.empty(K + T), _levels_within_oracle, _levels_within_view),
    Entry(MultiwayGroupedStats,
          lambda r: MultiwayGroupedStats.from_arrays(r.X, r.y, (r.groups, r.fold), r.w),
          lambda: MultiwayGroupedStats.empty(K, T), _multiway_oracle, _multiway_view),
    Entry(FoldStatistics, _fold_build(GramStats),
          lambda: FoldStatistics.empty(N_SPLITS, K, T), _folds_oracle, _folds_view),
    Entry(FoldStatistics, _fold_build(QRStats),
          lambda: FoldStatistics.empty(N_SPLITS, K, T, QRStats), _folds_oracle, _folds_view),
    Entry(OuterProductStats,
          lambda r: OuterProductStats.from_rows(r.X * (r.w * r.y[:, 0])[:, None]),
          lambda: OuterProductStats.empty(K), _outer_oracle, _outer_view),
]
IDS = ["gram", "qr", "grouped", "levels", "levels-within", "multiway", "folds-gram", "folds-qr", "outer"]
laws = pytest.mark.parametrize("entry", REGISTRY, ids=IDS)


def _assert_same(found, expected, rtol=1e-10):
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        if value is None:
            assert found[key] is None, key
            continue
        value, got = np.asarray(value), np.asarray(found[key])
        if value.dtype.kind in "iuU":
            np.testing.assert_array_equal(got, value, err_msg=key)
        else:
            atol = rtol * max(np.abs(value).max(initial=0.0), 1.0)
            np.testing.assert_allclose(got, value, rtol=rtol, atol=atol, err_msg=key)


def _thirds(entry, rows):
    cuts = [slice(0, 30), slice(30, 75), slice(75, N)]
    return [entry.build(rows.take(part)) for part in cuts]


@laws
def test_serial_equals_halves_merged_equals_numpy(entry):
    rows = _rows()
    expected = entry.oracle(rows)
    _assert_same(entry.view(entry.build(rows)), expected)
    first, second = entry.build(rows.take(slice(0, 50))), entry.build(rows.take(slice(50, N)))
    _assert_same(entry.view(first + second), expected)
    _assert_same(entry.view(first.merge(second)), expected)


@laws
def test_empty_is_the_identity(entry):
    part = entry.build(_rows().take(slice(0, 40)))
    _assert_same(entry.view(part + entry.empty()), entry.view(part), rtol=1e-15)
    _assert_same(entry.view(entry.empty() + part), entry.view(part), rtol=1e-15)
    _assert_same(entry.view(sum([part])), entry.view(part), rtol=0)


@laws
def test_commutative_and_associative(entry):
    a, b, c = _thirds(entry, _rows(1))
    _assert_same(entry.view(a + b), entry.view(b + a), rtol=1e-13)
    _assert_same(entry.view((a + b) + c), entry.view(a + (b + c)), rtol=1e-12)
    _assert_same(entry.view(a + b + c), entry.oracle(_rows(1)))


@laws
def test_adding_a_foreign_type_names_both(entry):
    # Issue 11 defect 10: GroupedGramStats + GramStats raised AttributeError.
    part = entry.build(_rows().take(slice(0, 40)))
    other = GramStats.empty(K, T) if entry.cls is not GramStats else QRStats.empty(K, T)
    with pytest.raises(ValueError, match=f"{entry.cls.__name__} with {type(other).__name__}"):
        part + other
    with pytest.raises(ValueError, match="Cannot merge"):
        other + part


@laws
def test_save_load_round_trip(entry, tmp_path):
    stats = entry.build(_rows(2))
    again = entry.cls.from_dict(stats.to_dict())
    _assert_same(entry.view(again), entry.view(stats), rtol=0)
    stats.save(tmp_path / "stats.npz")
    _assert_same(entry.view(entry.cls.load(tmp_path / "stats.npz")), entry.view(stats), rtol=0)
    empty = entry.empty()
    if entry.cls is not FoldStatistics:  # folds of no rows still have their folds
        _assert_same(entry.view(entry.cls.from_dict(empty.to_dict())), entry.view(empty), rtol=0)


@pytest.mark.parametrize("accumulator", [GramStats, QRStats])
def test_fold_complement_is_the_other_rows(accumulator):
    rows = _rows(3)
    folds = fold_statistics(rows.X, rows.y, rows.w, rows.fold, N_SPLITS, accumulator)
    for k in range(N_SPLITS):
        train, test = folds.split(k)
        _assert_same(_gram_view(train), _gram_oracle(rows.take(rows.fold != k)), rtol=1e-9)
        _assert_same(_gram_view(test), _gram_oracle(rows.take(rows.fold == k)))


def test_gram_subtraction_is_the_complement():
    rows = _rows(4)
    total, part = GramStats.from_arrays(rows.X, rows.y, rows.w), rows.take(slice(0, 45))
    rest = total - GramStats.from_arrays(part.X, part.y, part.w)
    _assert_same(_gram_view(rest), _gram_oracle(rows.take(slice(45, N))), rtol=1e-9)


def test_levels_stop_nesting_when_a_level_spans_two_clusters():
    rows = _rows(5)
    first = LevelMeans.from_arrays(rows.Z[:60], rows.groups[:60], rows.w[:60], rows.groups[:60] // 2)
    second = LevelMeans.from_arrays(rows.Z[60:], rows.groups[60:], rows.w[60:], rows.groups[60:] // 2 + 1)
    merged = first + second
    assert first.nested and second.nested and not merged.nested and merged.cluster is None
    again = LevelMeans.from_dict(merged.to_dict())
    assert not again.nested and again.cluster is None


def test_string_labels_round_trip():
    rows = _rows(6)
    labels = np.array(["north", "south", "east"])[rows.groups % 3]
    for stats in (GroupedGramStats.from_arrays(rows.X, rows.y, labels, rows.w),
                  LevelMeans.from_arrays(rows.Z, labels, rows.w)):
        again = type(stats).from_dict(stats.to_dict())
        assert again.labels.tolist() == ["east", "north", "south"]
        np.testing.assert_array_equal(again.mean, stats.mean)


def test_split_statistics_round_trip_and_refuse_merging(tmp_path):
    rows = _rows(7)
    parts = [rows.take(slice(0, 80)), rows.take(slice(40, N))]
    splits = SplitStatistics(
        tuple(GramStats.from_arrays(p.X, p.y, p.w) for p in parts),
        tuple(GramStats.from_arrays(p.X, p.y, p.w) for p in parts[::-1]),
    )
    splits.save(tmp_path / "splits.npz")
    again = SplitStatistics.load(tmp_path / "splits.npz")
    for k, part in enumerate(parts):
        train, test = again.split(k)
        _assert_same(_gram_view(train), _gram_oracle(part))
        _assert_same(_gram_view(test), _gram_oracle(parts[1 - k]))
    with pytest.raises(ValueError, match="cannot be merged"):
        splits + splits


@pytest.mark.parametrize(
    "levels",
    [
        np.array([5, -3, 5, 7, -3, 0]),  # compact integer range: presence table
        np.array([10**12, 3, 10**12, -(10**12)]),  # sparse range: sorting
        np.array([4, 2, 4], dtype=np.uint16),
        np.array(["b", "a", "b", "c"]),
        np.array(["b", "a", "b"], dtype=object),
        np.array([0.5, -1.0, 0.5]),
    ],
)
def test_level_codes_match_numpy_unique(levels):
    from skbigreg.stats._levels import sorted_codes

    labels, codes = sorted_codes(levels)
    expected_labels, expected_codes = np.unique(levels, return_inverse=True)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(codes, expected_codes)
    assert labels.dtype == expected_labels.dtype


def test_chunk_statistics_merge_laws():
    """ChunkStatistics merges part by part: halves equal the whole, in any order."""
    from skbigreg.stats import ChunkStatistics

    rows = _rows(5)

    def part(rows_of):
        X, y, w, g = rows.X[rows_of], rows.y[rows_of], rows.w[rows_of], rows.groups[rows_of]
        return ChunkStatistics(GramStats.from_arrays(X, y, w),
                               GroupedGramStats.from_arrays(X, y, g, w),
                               LevelMeans.from_arrays(np.column_stack([X, y]), g, w))

    n = len(rows.y)
    whole = part(slice(0, n))
    a, b, c = part(slice(0, n // 3)), part(slice(n // 3, n // 2)), part(slice(n // 2, n))
    for merged in (a + b + c, c + (b + a), sum([b, c, a])):
        np.testing.assert_allclose(merged.stats.comoment, whole.stats.comoment, rtol=1e-10)
        np.testing.assert_allclose(merged.clusters.comoment, whole.clusters.comoment,
                                   rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(merged.extra.mean, whole.extra.mean, rtol=1e-10)
        assert merged.n_rows == whole.n_rows == n
    expected = _moments(rows.Z, rows.w)["comoment"]  # numpy: weighted co-moments of [X, y]
    np.testing.assert_allclose(whole.stats.comoment, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="clusters must be given with every chunk"):
        a + ChunkStatistics(b.stats, None, b.extra)
    with pytest.raises(TypeError, match="Cannot merge ChunkStatistics with GramStats"):
        a + b.stats


def test_level_within_comoments_without_nesting_and_from_version_1():
    rows = _rows(8)
    first = LevelMeans.from_arrays(rows.Z[:60], rows.groups[:60], rows.w[:60],
                                   rows.groups[:60] // 2, within=True)
    second = LevelMeans.from_arrays(rows.Z[60:], rows.groups[60:], rows.w[60:],
                                    rows.groups[60:] // 2 + 1, within=True)
    merged = first + second  # the clusters cut across levels: no per-cluster co-moments
    assert not merged.nested and merged.cluster_within is None
    expected = _levels_within_oracle(rows)["within"]
    np.testing.assert_allclose(merged.within, expected, rtol=1e-10)
    # without the within co-moment on one side, the merge has none (never a wrong one)
    assert (first + LevelMeans.from_arrays(rows.Z[60:], rows.groups[60:])).within is None
    saved = merged.to_dict()
    saved.pop("within")
    saved["__version__"] = np.asarray(1)
    old = LevelMeans.from_dict(saved)
    assert old.within is None
    np.testing.assert_array_equal(old.mean, merged.mean)
    saved["__version__"] = np.asarray(3)
    with pytest.raises(ValueError, match="schema version 3 is not supported"):
        LevelMeans.from_dict(saved)
