"""Loading statistics checks them: hostile and damaged files are refused.

Each case takes valid saved statistics, spoils one thing (the hostile-file
factory below), and expects a ``ValueError`` naming the problem, from
``from_dict`` and from ``load`` (which also names the file). Regression tests
of issue 11 defect 8: all of these used to load silently.
"""

import re
import tracemalloc
import zipfile

import numpy as np
import pytest

from skbigreg.stats import (
    FoldStatistics,
    GramStats,
    GroupedGramStats,
    LevelMeans,
    MultiwayGroupedStats,
    OuterProductStats,
    QRStats,
)


def _data(seed=0, n=60, k=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    return X, X @ [1.0, -1.0] + rng.normal(size=n), rng.uniform(0.5, 2, n), rng.integers(0, 4, n)


def _gram():
    X, y, w, _ = _data()
    return GramStats.from_arrays(X, y, w)


def _qr():
    X, y, w, _ = _data()
    return QRStats.from_arrays(X, y, w)


def _grouped():
    X, y, w, g = _data()
    return GroupedGramStats.from_arrays(X, y, g, w)


def _levels():
    X, y, w, g = _data()
    return LevelMeans.from_arrays(np.column_stack([X, y]), g, w, g // 2)


def _multiway():
    X, y, w, g = _data()
    names = np.array(["north", "south", "east"])[np.arange(len(g)) % 3]
    return MultiwayGroupedStats.from_arrays(X, y, (g, names), w)


def _swap_rows(keys):
    out = keys.copy()
    out[[-1, -2]] = out[[-2, -1]]
    return out


def _folds():
    X, y, w, g = _data()
    return FoldStatistics(tuple(GramStats.from_arrays(X[g == k], y[g == k], w[g == k]) for k in range(4)))


def _outer():
    return OuterProductStats.from_rows(_data()[0])


def hostile(stats, tmp_path, **changes):
    """Saved ``stats`` with arrays replaced (a value), added, or removed (None)."""
    data = dict(stats.to_dict())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value(data[key]) if callable(value) else np.asarray(value)
    path = tmp_path / "hostile.npz"
    np.savez(path, **data)
    return data, path


def _swap_labels(labels):
    out = labels.copy()
    out[[0, 1]] = out[[1, 0]]
    return out


CASES = [
    # (build, changes, message)
    (_gram, {"comoment": lambda c: -c}, "not positive semi-definite"),
    (_gram, {"comoment": lambda c: c + np.triu(np.ones_like(c), 1)}, "not symmetric"),
    (_gram, {"n_rows": -5}, "'n_rows' must hold integers"),
    (_gram, {"n_rows": 1e30}, "'n_rows' must hold integers"),
    (_gram, {"n_rows": 2.5}, "'n_rows' must hold integers"),
    (_gram, {"weight_sum": -1.0}, "negative weight"),
    (_gram, {"weight_sum": 0.0}, "zero weight_sum"),
    (_gram, {"n_rows": 0}, "n_rows = 0"),
    (_gram, {"mean": lambda m: np.where(np.arange(len(m)) == 1, np.nan, m)}, "'mean' contains NaN"),
    (_gram, {"comoment": lambda c: c * np.inf}, "'comoment' contains NaN or infinity"),
    (_gram, {"weight_sum": np.inf}, "'weight_sum' contains NaN or infinity"),
    (_gram, {"shape": [1.5, 1.0]}, "'shape' must hold integers"),
    (_gram, {"shape": [-1.0, 4.0]}, "'shape' must hold integers"),
    (_gram, {"shape": [3.0, 1.0]}, r"'mean' has shape \(3,\).*implies \(4,\)"),
    (_gram, {"mean": lambda m: np.append(m, 0.0)}, r"'mean' has shape \(4,\).*implies \(3,\)"),
    (_gram, {"extra": np.zeros(3)}, r"unknown arrays \['extra'\]"),
    (_gram, {"weight_sum": None}, r"lack the arrays \['weight_sum'\]"),
    (_gram, {"mean": np.array(["a", "b", "c"])}, "must hold real numbers"),
    (_gram, {"__schema__": "skbigreg.QRStats"}, "schema"),
    (_qr, {"r": lambda r: r + np.tril(np.ones_like(r), -1)}, "not upper triangular"),
    (_grouped, {"labels": lambda g: g[:-1]}, r"'n_rows' has shape \(4,\).*implies \(3,\)"),
    (_grouped, {"labels": lambda g: np.array([0, 1, 1, 3])}, "duplicates"),
    (_grouped, {"labels": _swap_labels}, "not sorted"),
    (_grouped, {"labels": np.array([0.0, 1.0, 2.0, np.nan])}, "labels 'labels' contain NaN"),
    (_grouped, {"n_features": 7.0}, "n_features = 7 exceeds"),
    (_grouped, {"n_rows": lambda n: -n}, "'n_rows' must hold integers"),
    (_grouped, {"comoment": lambda c: -c}, "not positive semi-definite"),
    (_levels, {"cluster": None}, "'cluster' must be saved exactly when"),
    (_levels, {"cluster": lambda c: c[:-1]}, r"'cluster' has shape \(3,\).*implies \(4,\)"),
    (_levels, {"weight_sum": lambda w: -w}, "negative weight"),
    (_levels, {"labels": np.array([0, 0, 1, 2])}, "duplicates"),
    (_multiway, {"labels1": None}, "do not agree"),
    (_multiway, {"labels2": np.array([1, 2])}, "do not agree"),
    (_multiway, {"way_sizes": lambda s: s + [0, 0, 1]}, "add up to"),
    (_multiway, {"keys": lambda k: k + 1}, "exceed its"),
    (_multiway, {"keys": _swap_rows}, r"subset \(0, 1\) are not unique and sorted"),
    (_multiway, {"labels1": np.array(["east", "east", "south"])}, "duplicates"),
    (_multiway, {"comoment": lambda c: -c}, "not positive semi-definite"),
    (_multiway, {"n_features": 9.0}, "n_features = 9 exceeds"),
    (_folds, {"accumulator": "skbigreg.Other"}, "unknown accumulator"),
    (_folds, {"r": np.zeros((4, 3, 3))}, "saved as 'comoment' alone"),
    (_folds, {"mean": lambda m: m[:, :2]}, r"'mean' has shape \(4, 2\).*implies \(4, 3\)"),
    (_folds, {"n_rows": lambda n: n + 0.5}, "'n_rows' must hold integers"),
    (_outer, {"matrix": lambda m: -m}, "not positive semi-definite"),
]


@pytest.mark.parametrize(("build", "changes", "message"), CASES)
def test_spoiled_statistics_are_refused(build, changes, message, tmp_path):
    stats = build()
    data, path = hostile(stats, tmp_path, **changes)
    with pytest.raises(ValueError, match=message):
        type(stats).from_dict(data)
    with pytest.raises(ValueError, match=message) as error:
        type(stats).load(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("build", [_gram, _qr, _grouped, _levels, _multiway, _folds, _outer])
def test_unspoiled_statistics_load(build, tmp_path):
    stats = build()
    _, path = hostile(stats, tmp_path)
    again = type(stats).load(path)
    assert type(again) is type(stats)


def test_computed_moments_pass_the_checks_at_large_offsets(tmp_path):
    # Rounding in accumulation must stay far inside the load tolerances.
    X, y, w, _ = _data(1, n=500)
    X = np.column_stack([X + 1e6, X[:, 0] * 3 + 1e6])  # offsets, a collinear column
    for cls in (GramStats, QRStats):
        total = cls.from_arrays(X, y, w)
        parts = [cls.from_arrays(X[i : i + 7], y[i : i + 7], w[i : i + 7]) for i in range(0, 500, 7)]
        for stats in (total, sum(parts), total - parts[0] if cls is GramStats else total):
            cls.from_dict(stats.to_dict())


def test_zero_weight_rows_round_trip():
    X, y, _, _ = _data()
    stats = GramStats.from_arrays(X, y, np.zeros(len(X)))
    again = GramStats.from_dict(stats.to_dict())
    assert again.n_rows == len(X) and again.weight_sum == 0


# -- files that are not saved statistics ---------------------------------------
def _npy(path):
    with open(path, "wb") as f:  # np.save(path) would append ".npy" to the name
        np.save(f, np.zeros(3))


def _text(path):
    path.write_text("n_rows,weight_sum\n3,3.0\n")


def _garbage(path):
    path.write_bytes(np.random.default_rng(0).bytes(300))


def _truncated(path):
    _gram().save(path)
    path.write_bytes(path.read_bytes()[:-40])


def _corrupted(path):
    stats = _gram()
    stats.save(path)
    content = bytearray(path.read_bytes())
    at = bytes(content).index(stats.comoment.tobytes()) + 20
    content[at] ^= 0xFF  # one byte of the co-moment data, so its CRC fails
    path.write_bytes(bytes(content))


def _pickled(path):
    np.savez(path, **{**_gram().to_dict(), "mean": np.array([object()] * 3, dtype=object)})


def _not_npy_member(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_npy, "single .npy array"),
        (_text, "not an .npz archive"),
        (_garbage, "not an .npz archive"),
        (_truncated, "damaged or truncated .npz archive"),
        (_corrupted, "member 'comoment' is not a readable .npy array.*CRC"),
        (_pickled, "pickles are refused"),
        (_not_npy_member, "'notes.txt' is not a .npy array"),
    ],
)
def test_files_that_are_not_statistics_are_named(write, message, tmp_path):
    path = tmp_path / "stats.npz"
    write(path)
    with pytest.raises(ValueError, match=message) as error:
        GramStats.load(path)
    assert str(path) in str(error.value)


def test_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "absent.npz"))):
        GramStats.load(tmp_path / "absent.npz")


# -- huge claims are refused before anything is allocated ----------------------
def _write_member(archive, key, array=None, header=None, compress=False, zeros=0):
    """A ``.npy`` member: a real array, or a bare header followed by ``zeros`` zero bytes."""
    info = zipfile.ZipInfo(f"{key}.npy")
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=True) as f:
        if array is not None:
            np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)
            return
        np.lib.format.write_array_header_1_0(f, header)
        block = bytes(2**20)
        for start in range(0, zeros, len(block)):
            f.write(block[: min(len(block), zeros - start)])


def _claiming(path, shape, comoment_shape, mean_shape=None, zeros=0, compress=False):
    """Small Gram statistics whose co-moment header claims ``comoment_shape``."""
    size = int(sum(shape))
    mean_shape = mean_shape or (size,)
    header = {"descr": "<f8", "fortran_order": False, "shape": comoment_shape}
    with zipfile.ZipFile(path, "w") as archive:
        _write_member(archive, "__schema__", np.asarray("skbigreg.GramStats"))
        _write_member(archive, "__version__", np.asarray(1))
        _write_member(archive, "shape", np.asarray(shape, dtype=float))
        _write_member(archive, "n_rows", np.asarray(0.0))
        _write_member(archive, "weight_sum", np.asarray(0.0))
        _write_member(archive, "mean", np.zeros(mean_shape))
        _write_member(archive, "comoment", header=header, zeros=zeros, compress=compress)


def _peak_bytes(load):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            load()
        return tracemalloc.get_traced_memory()[1], str(error.value)
    finally:
        tracemalloc.stop()


def test_huge_member_against_a_small_declared_shape_is_refused_unread(tmp_path):
    path = tmp_path / "claims.npz"
    _claiming(path, (2, 1), (100_000, 100_000))  # 80 GB claimed, header only
    assert path.stat().st_size < 5_000
    peak, message = _peak_bytes(lambda: GramStats.load(path))
    assert "'comoment' has shape (100000, 100000)" in message and "implies (3, 3)" in message
    assert peak < 2**20


def test_huge_consistent_claim_without_its_data_is_refused_unread(tmp_path):
    path = tmp_path / "claims.npz"
    _claiming(path, (49_999, 1), (50_000, 50_000))  # 20 GB claimed, no data
    peak, message = _peak_bytes(lambda: GramStats.load(path))
    assert "truncated or damaged" in message
    assert peak < 2**22


def test_decompression_bomb_is_refused_unread(tmp_path):
    path = tmp_path / "bomb.npz"
    # 128 MiB of zero co-moments (valid statistics of no rows) in a ~130 kB file.
    _claiming(path, (4095, 1), (4096, 4096), zeros=4096 * 4096 * 8, compress=True)
    assert path.stat().st_size < 2**20
    peak, message = _peak_bytes(lambda: GramStats.load(path))
    assert "decompression bomb" in message
    assert peak < 2**22
