"""Fold assignment by hashing, and per-fold statistics gathered in one pass.

The statistics types themselves (:class:`~skbigreg.stats.FoldStatistics`,
:class:`~skbigreg.stats.SplitStatistics`) live in :mod:`skbigreg.stats`.

A row's fold is a seeded hash of the row's own values (or of its group
label), never of its position: a ``partial_fit`` stream, a one-shot ``fit``
and a parallel fit of the same rows put every row in the same fold, whatever
the chunking or order. This differs from scikit-learn's ``KFold``, which
cuts the rows by position. Identical rows always share a fold.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from numbers import Integral

import numpy as np
from sklearn.model_selection import check_cv

from ..io._sql_hash import RowHash
from ..parallel import single_blas_thread
from ..stats import FoldStatistics, GramStats, SplitStatistics, is_sparse
from ..stats._folds import SortedFoldGram
from ..stats._moments import block_rows, raise_not_finite
from ..stats._sparse import as_csr

DEFAULT_N_SPLITS = 5
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Rows per piece when sorting rows into folds: the sorted copy stays in cache
# while each fold's slice keeps enough rows for efficient products and few merges
# (the raw Gram path takes the smaller cache block of its rows, see _raw_fold_gram).
_PIECE_ROWS = 1 << 14
# Fewest rows per fold in a piece, on average, however many folds.
_ROWS_PER_FOLD = 256


# splitmix64's finaliser: (shift, multiplier) of its xorshift-multiply steps, and
# its closing shift (the SQL row hash of ``io._sql_hash`` compiles the same steps).
_MIX_STEPS = ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB))
_MIX_LAST_SHIFT = 31


def _mix(h):
    """splitmix64 finaliser: an avalanche of the 64 bits of ``h`` (uint64 array)."""
    with np.errstate(over="ignore"):
        for shift, multiplier in _MIX_STEPS:
            h = h ^ (h >> np.uint64(shift))
            h = h * np.uint64(multiplier)
        return h ^ (h >> np.uint64(_MIX_LAST_SHIFT))


def _seed_key(random_state):
    return np.uint64(0 if random_state is None else int(random_state) % 2**64)


def row_hashes(X, y, random_state=None):
    """A seeded 64-bit hash of each row of ``[X, y]``, from its values alone.

    # h_i = mix(seed ^ Σ_j bits(z_ij) m_j mod 2^64),  m_j odd and seeded

    Integer arithmetic modulo 2^64 is exact, so the hash of a row does not
    depend on the other rows, the chunk or the machine. A zero's bits are
    zero, so a scipy.sparse ``X`` is hashed from its stored values alone and
    every row gets the hash of its dense copy.
    """
    y = y.reshape(len(y), -1)
    seed = _seed_key(random_state)
    return _row_hashes(X, y, seed, _multipliers(X.shape[1] + y.shape[1], seed))


def _multipliers(n_columns, seed):
    """The odd seeded multiplier ``m_j`` of each column of ``[X, y]`` (read-only)."""
    return _cached_multipliers(int(n_columns), int(seed))


@lru_cache(maxsize=64)
def _cached_multipliers(n_columns, seed):
    # Made once per shape and seed: a stream of small chunks (a partial_fit
    # loop) would otherwise spend about a tenth of each chunk's fold map here.
    columns = np.arange(1, n_columns + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        multipliers = _mix(columns * _GOLDEN + np.uint64(seed)) | np.uint64(1)
    multipliers.flags.writeable = False
    return multipliers


def _row_hashes(X, y, seed, multipliers):
    """:func:`row_hashes` of 2-D ``y``, given the seed and the multipliers."""
    with np.errstate(over="ignore"):
        if is_sparse(X):
            h = _sparse_row_sums(X, multipliers[: X.shape[1]])
        else:
            # einsum's integer loop is faster than matmul's, and than a float64
            # product of 16-bit limbs (converting the limbs alone costs more);
            # both wrap mod 2^64.
            h = np.einsum("ij,j->i", _bits(X), multipliers[: X.shape[1]])
        h += np.einsum("ij,j->i", _bits(y), multipliers[X.shape[1]:])
        return _mix(h ^ seed)


def row_hash_spec(n_columns, n_splits, random_state=None):
    """The integers of :func:`hash_folds` on rows of ``n_columns`` values, for SQL.

    Returns
    -------
    skbigreg.io._sql_hash.RowHash
        Seed, per-column multipliers, the finaliser's steps and ``n_splits``:
        what a database needs to give each row the fold :func:`hash_folds`
        gives it.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.model_selection._folds import _mix, row_hash_spec
    >>> spec = row_hash_spec(3, 5, random_state=7)
    >>> len(spec.multipliers), spec.n_splits, all(m % 2 == 1 for m in spec.multipliers)
    (3, 5, True)
    >>> z = np.array([[0.5, -0.0, 2.0]])  # one row of [X, y], hashed by hand
    >>> bits = [int(b) for b in z.view(np.uint64)[0]]
    >>> h = (sum(b * m for b, m in zip(bits, spec.multipliers)) % 2**64) ^ spec.seed
    >>> h = int(_mix(np.array([h], dtype=np.uint64))[0])
    >>> ((h >> 32) * spec.n_splits) >> 32 == int(hash_folds(z[:, :2], z[:, 2], 5, 7)[0])
    True
    """
    seed = _seed_key(random_state)
    return RowHash(int(seed), tuple(int(m) for m in _multipliers(n_columns, seed)),
                   _MIX_STEPS, _MIX_LAST_SHIFT, int(n_splits))


def _bits(A):
    """The IEEE-754 bit patterns of a float64 array, as uint64 (no copy if C-ordered)."""
    return np.ascontiguousarray(A, dtype=np.float64).view(np.uint64)


def _sparse_row_sums(X, multipliers):
    """``sum_j bits(x_ij) m_j mod 2^64`` of each row of sparse ``X``, over its stored values."""
    X = as_csr(X)
    terms = _bits(X.data) * multipliers[X.indices]
    # Differences of a wrapping cumulative sum: exact modulo 2^64, empty rows included.
    cumulative = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(terms, dtype=np.uint64)])
    return cumulative[X.indptr[1:]] - cumulative[X.indptr[:-1]]


def label_hashes(labels, random_state=None):
    """A seeded 64-bit hash of each label (its ``str``), independent of the chunk."""
    labels = np.asarray(labels)
    unique, inverse = np.unique(labels, return_inverse=True)
    key = int(_seed_key(random_state)).to_bytes(8, "little")
    digests = [
        hashlib.blake2b(str(label).encode(), digest_size=8, key=key).digest()
        for label in unique
    ]
    return np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)[inverse.ravel()]


def hash_folds(X, y, n_splits, random_state=None, groups=None):
    """Fold id in ``[0, n_splits)`` of each row: of its values, or of its group.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    n_splits : int
    random_state : int or None
        Seed of the hash (None means 0).
    groups : array-like of shape (n_samples,), optional
        With groups, all rows of a group share a fold.

    Returns
    -------
    ndarray of shape (n_samples,) of int64

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.model_selection import hash_folds
    >>> X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    >>> folds = hash_folds(X, y, 3, random_state=0)
    >>> bool((hash_folds(X[3:], y[3:], 3, random_state=0) == folds[3:]).all())
    True
    """
    if groups is not None:
        h = label_hashes(groups, random_state)
    else:
        h = row_hashes(X, y, random_state)
    return _fold_of_hash(h, n_splits).astype(np.int64)


def _fold_of_hash(h, n_splits):
    """Fold ids (uint64) of 64-bit hashes: multiply-shift maps the top 32 bits
    uniformly onto ``[0, n_splits)``."""
    top = h >> np.uint64(32)
    return (top * np.uint64(n_splits)) >> np.uint64(32)


def _row_folds(X, y, n_splits, random_state):
    """``fold_of(rows)``: :func:`hash_folds` of a slice of rows, multipliers made once."""
    seed = _seed_key(random_state)
    multipliers = _multipliers(X.shape[1] + y.shape[1], seed)
    return lambda rows: _fold_of_hash(_row_hashes(X[rows], y[rows], seed, multipliers), n_splits)


def fold_statistics(X, y, sample_weight, fold, n_splits, accumulator):
    """Per-fold statistics of one chunk, in one pass over its rows.

    ``fold`` holds each row's fold id in ``[0, n_splits)``. Rows are sorted
    into folds piece by piece in cache, so the pass costs about one
    accumulation of the chunk, not one per fold. A scipy.sparse ``X``
    is cut into its folds' rows, each mapped with sparse products.
    """
    fold = np.asarray(fold)
    if is_sparse(X):
        X = as_csr(X)
        return FoldStatistics(tuple(
            _subset(accumulator, X, y, sample_weight, np.flatnonzero(fold == k))
            for k in range(n_splits)
        ))
    return _staged_fold_statistics(
        X, y, sample_weight, lambda rows: fold[rows], n_splits, accumulator
    )


def _staged_fold_statistics(X, y, sample_weight, fold_of, n_splits, accumulator):
    """Per-fold statistics; ``fold_of(rows)`` gives the fold ids of a row slice.

    The chunk is read once from memory, one piece of a few MiB at a time:
    the piece's fold ids are computed (e.g. hashed) while it is in cache,
    its rows are gathered, sorted by fold, into one reused buffer (a single
    ``take``), and each fold's contiguous slice of that buffer is
    accumulated where it lies. No per-fold staging copy of the chunk is
    made, and the buffer is rewritten while it is still in cache.
    Unweighted Gram statistics sum each fold's raw products over the pieces
    (:class:`~skbigreg.stats._folds.SortedFoldGram`) unless the offsets of
    the data call for explicitly centred blocks.
    """
    if accumulator is GramStats and sample_weight is None:
        folds = _raw_fold_gram(X, y, fold_of, n_splits)
        if folds is not None:
            return folds
    n_features, n_targets = X.shape[1], y.shape[1]
    folds = [accumulator.empty(n_features, n_targets) for _ in range(n_splits)]
    piece = _piece_rows(X.shape[0], n_splits)
    X_sorted, y_sorted = np.empty((piece, n_features)), np.empty((piece, n_targets))
    w_sorted = None if sample_weight is None else np.empty(piece)
    for rows, _, order, bounds in _sorted_pieces(X.shape[0], fold_of, n_splits, piece):
        m = len(order)
        np.take(X[rows], order, axis=0, out=X_sorted[:m], mode="clip")
        np.take(y[rows], order, axis=0, out=y_sorted[:m], mode="clip")
        if w_sorted is not None:
            np.take(sample_weight[rows], order, out=w_sorted[:m], mode="clip")
        for k in np.flatnonzero(np.diff(bounds)):
            fold_rows = slice(bounds[k], bounds[k + 1])
            w = None if w_sorted is None else w_sorted[fold_rows]
            folds[k] = folds[k] + accumulator.from_arrays(
                X_sorted[fold_rows], y_sorted[fold_rows], w)
    return FoldStatistics(tuple(folds))


def _raw_fold_gram(X, y, fold_of, n_splits):
    """Unweighted per-fold Gram statistics from raw products.

    None if the first piece's offsets call for explicitly centred blocks
    throughout (the caller's path); a later block whose offsets forbid raw
    products is recomputed from its own rows.

    Each piece is hashed and its rows placed by fold
    (:class:`_SortedPieces`), then multiplied, BLAS on one thread.
    """
    n_rows, n_features, n_targets = X.shape[0], X.shape[1], y.shape[1]
    fold = np.empty(n_rows, dtype=np.uint8 if n_splits <= 256 else np.uint32)

    def refill(k, start, stop):
        index = start + np.flatnonzero(fold[start:stop] == k)
        return GramStats.from_arrays(X[index], y[index])

    gram = SortedFoldGram(n_splits, n_features, n_targets, refill)
    # A piece of a cache block's rows: gathered, sorted and multiplied while in cache.
    piece = _piece_rows(n_rows, n_splits, block_rows(n_features + n_targets + 1))
    sort_piece = _SortedPieces(X, y, fold_of, n_splits, piece, fold)
    # NaN/inf rows are reported from the non-finite result, not mid-loop.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"), single_blas_thread():
        for start, Z_sorted, bounds in map(sort_piece, range(0, n_rows, piece)):
            gram.add(Z_sorted, bounds, len(Z_sorted))
            if start == 0 and not gram.pooled_offsets_fit():
                return None
            gram.close_full_blocks()
        folds = gram.result()
    if not all(stats.is_finite() for stats in folds.folds):
        raise_not_finite(X, y)
    return folds


class _SortedPieces:
    """``sort_piece(start)``: the piece of rows from ``start`` as ``[X, y, 1]`` sorted by fold.

    Returns ``(start, Z_sorted, bounds)``: fold ``k``'s rows are
    ``Z_sorted[bounds[k]:bounds[k + 1]]``, a view of one reused buffer
    (valid until the next call); each row's fold id is written to ``fold``.
    """

    def __init__(self, X, y, fold_of, n_splits, piece, fold):
        self.X, self.y, self.fold_of, self.piece, self.fold = X, y, fold_of, piece, fold
        self.splits = np.arange(n_splits + 1)
        n_features, n_columns = X.shape[1], X.shape[1] + y.shape[1] + 1
        # [X, y, 1]: one syrk per fold gives X'X, X'y, y'y, the sums and the count.
        self.Z_sorted = np.ones((piece, n_columns))
        # (no columns: nothing to place, and a zero-width item is no dtype)
        self.X_part = _rows_as_items(self.Z_sorted[:, :n_features]) if n_features else None
        self.position = np.empty(piece, dtype=np.intp)
        self.positions = np.arange(piece)

    def __call__(self, start):
        X, y, n_features = self.X, self.y, self.X.shape[1]
        rows = slice(start, min(start + self.piece, X.shape[0]))
        Z_sorted = self.Z_sorted
        ids, order, bounds = _fold_order(self.fold_of(rows), self.fold.dtype, self.splits)
        self.fold[rows] = ids
        m = len(order)
        # Scatter each row to its sorted place (position[order[i]] = i): one
        # copy of whole rows straight into the strided X part of Z, where a
        # gather (take) into a strided ``out`` would go through a buffer.
        position = self.position[:m]
        position[order] = self.positions[:m]
        if self.X_part is not None:
            self.X_part[position] = _rows_as_items(np.ascontiguousarray(X[rows], dtype=np.float64))
        for j in range(y.shape[1]):
            np.take(y[rows, j], order, out=Z_sorted[:m, n_features + j], mode="clip")
        return start, Z_sorted[:m], bounds


def _rows_as_items(A):
    """The rows of a 2-D float64 array with contiguous rows, as a 1-D array of
    opaque items (one per row; a view, so assigning items copies whole rows)."""
    return A.view(np.dtype((np.void, 8 * A.shape[1])))[:, 0]


def _piece_rows(n_rows, n_splits, largest=None):
    """Rows per piece: ``_PIECE_ROWS`` (or ``largest`` if smaller), but enough for every fold."""
    largest = _PIECE_ROWS if largest is None else min(largest, _PIECE_ROWS)
    return min(n_rows, max(largest, _ROWS_PER_FOLD * n_splits))


def _sorted_pieces(n_rows, fold_of, n_splits, piece):
    """Yield ``(rows, ids, order, bounds)`` per piece of ``piece`` rows: its
    slice, its fold ids, the order that sorts it by fold (stable), and where
    each fold's rows start in that order."""
    id_type = np.uint8 if n_splits <= 256 else np.uint32
    splits = np.arange(n_splits + 1)
    for start in range(0, n_rows, piece):
        rows = slice(start, min(start + piece, n_rows))
        yield (rows, *_fold_order(fold_of(rows), id_type, splits))


def _fold_order(fold_ids, id_type, splits):
    """``(ids, order, bounds)``: the fold ids as ``id_type``, the stable order
    that sorts them, and where each fold's rows start in that order."""
    # Stable sort of small ids: numpy sorts 8/16-bit integers by radix.
    ids = np.asarray(fold_ids).astype(id_type)
    order = np.argsort(ids, kind="stable")
    return ids, order, np.searchsorted(ids[order], splits)


def _subset(accumulator, X, y, sample_weight, index):
    w = None if sample_weight is None else sample_weight[index]
    if len(index) == 0:
        return accumulator.empty(X.shape[1], y.shape[1])
    return accumulator.from_arrays(X[index], y[index], w)


def n_splits_of(cv):
    """The number of hashed folds for ``cv`` None or int, else None."""
    if cv is None:
        return DEFAULT_N_SPLITS
    if isinstance(cv, Integral):
        return int(cv)
    return None


def chunk_fold_statistics(X, y, sample_weight, groups, cv, random_state, accumulator):
    """Fold (or split) statistics of one validated chunk for any ``cv``.

    ``cv`` None or int: hashed folds (of the rows, or of ``groups``). A
    splitter or an iterable of ``(train, test)`` pairs: its splits of these
    rows; when the test sets partition the rows, the result is a mergeable
    :class:`FoldStatistics`, otherwise a :class:`SplitStatistics`.
    """
    n_splits = n_splits_of(cv)
    if n_splits is not None:
        if groups is not None:
            # Label hashing needs all of the chunk's labels at once (np.unique).
            fold = hash_folds(X, y, n_splits, random_state, groups)
            return fold_statistics(X, y, sample_weight, fold, n_splits, accumulator)
        if is_sparse(X):
            fold = hash_folds(X, y, n_splits, random_state)
            return fold_statistics(X, y, sample_weight, fold, n_splits, accumulator)
        return _staged_fold_statistics(
            X, y, sample_weight, _row_folds(X, y, n_splits, random_state), n_splits, accumulator
        )
    y_split = y[:, 0] if y.shape[1] == 1 else y
    splits = list(check_cv(cv).split(X, y_split, groups))
    tests = [np.asarray(test, dtype=np.int64) for _, test in splits]
    fold = np.full(X.shape[0], -1, dtype=np.int64)
    counts = np.zeros(X.shape[0], dtype=np.int64)
    for k, test in enumerate(tests):
        fold[test] = k
        np.add.at(counts, test, 1)
    partition = bool(np.all(counts == 1)) and all(
        np.array_equal(np.sort(train), np.flatnonzero(fold != k))
        for k, (train, _) in enumerate(splits)
    )
    if partition:
        return fold_statistics(X, y, sample_weight, fold, len(splits), accumulator)
    return SplitStatistics(
        tuple(_subset(accumulator, X, y, sample_weight, np.asarray(train, dtype=np.int64))
              for train, _ in splits),
        tuple(_subset(accumulator, X, y, sample_weight, test) for test in tests),
    )
