"""Block partitions: the rows of each natural partition cut into blocks.

A block is the unit a score-matching representative summarises (Li & Yang):
an equal-depth grid of weighted quantiles per covariate, k-means clusters,
the paper's subset clustering, or the natural partitions alone. Every pass
rebuilds the same blocks (the k-means seed is fixed in :class:`PartitionSpec`);
a streamed fit keeps each chunk's k-means centres (:class:`BlockCentres`)
and only assigns rows to them on later passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from sklearn.metrics import pairwise_distances_argmin

__all__ = [
    "BlockCentres",
    "PartitionSpec",
    "equal_depth_cells",
    "kmeans_cells",
    "kmeans_centres",
    "nearest_centre",
    "partition_labels",
    "subset_kmeans_cells",
]


@dataclass(frozen=True)
class PartitionSpec:
    """How rows are cut into blocks inside each natural partition.

    ``scheme`` is ``"grid"`` (equal-depth: ``n_bins`` weighted-quantile bins
    per covariate, empty cells dropped), ``"kmeans"`` (``n_clusters``
    clusters, capped at the rows), ``"subset_kmeans"`` (centres from
    ``subset_size`` random rows, every row to its nearest centre) or
    ``"none"`` (the natural partitions alone). ``seed`` fixes the k-means
    initialisation so that every pass rebuilds the same blocks.
    """

    scheme: str = "grid"
    n_bins: int = 4
    n_clusters: int = 1000
    subset_size: int = 100_000
    seed: int = 0


def equal_depth_cells(X, n_bins, weight=None, codes=None):
    """Cell of each row on the grid of per-covariate weighted quantiles.

    Cut points are the ``j / n_bins`` quantiles (``inverted_cdf``: the
    smallest value whose cumulative weight share reaches ``j / n_bins``, so
    integer weights act exactly as repeated rows); repeated cut points
    (constant or discrete covariates) are merged. With ``codes`` (dense
    natural-partition codes) every partition gets its own quantiles, all
    partitions at once: one sort by (partition, value) per covariate. A
    partition whose weights sum to zero is cut on its row counts. Returns
    dense labels ``0..K-1``, ordered by partition, then cell.
    """
    n, d = X.shape
    codes = np.zeros(n, dtype=np.intp) if codes is None else codes
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    n_parts = int(codes.max()) + 1
    bins = np.zeros((n, d), dtype=np.int64)
    if n_bins > 1:
        weight = np.ones(n) if weight is None else weight
        total = np.bincount(codes, weight, minlength=n_parts)
        weight = np.where(total[codes] > 0, weight, 1.0)
        total = np.bincount(codes, weight, minlength=n_parts)
        starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_parts))])
        for j in range(d):
            bins[:, j] = _quantile_bins(X[:, j], codes, weight, total, starts, n_bins)
    radix = n_bins ** np.arange(d, dtype=np.int64)
    if n_parts * n_bins**d < 2**62:
        return np.unique(codes * n_bins**d + bins @ radix, return_inverse=True)[1].ravel()
    return np.unique(np.column_stack([codes, bins[:, ::-1]]), axis=0, return_inverse=True)[1].ravel()


def _quantile_bins(x, codes, weight, total, starts, n_bins):
    """Number of distinct per-partition cut points <= x, for every row."""
    order = np.argsort(x)
    # then a stable sort by partition (a radix sort when the codes fit in int16)
    small = codes.dtype if total.size > np.iinfo(np.int16).max else np.int16
    order = order[np.argsort(codes[order].astype(small), kind="stable")]
    xs, cs = x[order], codes[order]
    n, first = x.size, starts[:-1]
    # cumulative weight within each partition (rows sorted by partition, then x)
    cum = np.cumsum(weight[order])
    cum -= np.concatenate([[0.0], cum[starts[1:-1] - 1]])[cs]
    scaled_total = total[cs]
    # first sorted row of each run of equal values within a partition
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (xs[1:] != xs[:-1]) | (cs[1:] != cs[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    steps = np.zeros(n + 1, dtype=np.int64)
    previous = np.full(total.size, -1)
    for j in range(1, n_bins):
        # the cut is the first row whose cumulative share reaches j / m
        # (compared as cum m >= j W); rows from the start of its value's run on
        # lie at or above it, and a cut equal to the previous one adds nothing
        below = np.bincount(cs, cum * n_bins < j * scaled_total, minlength=total.size)
        below = below.astype(np.intp)
        cut = run_start[np.minimum(first + below, n - 1)]
        distinct = cut != previous
        np.add.at(steps, cut[distinct], 1)
        np.add.at(steps, starts[1:][distinct], -1)
        previous = cut
    bins = np.empty(n, dtype=np.int64)
    bins[order] = np.cumsum(steps[:-1])
    return bins


# Full k-means (K = 1000 on 10^5 rows, d = 7) spent ~2/3 of its time in the
# k-means++ seeding on every row and the rest in ~130 Lloyd iterations. Seeding
# on 10 K random rows with one local trial, then at most 30 Lloyd iterations on
# every row, measured on the paper's mzNormal set-up: 0.5% more within-block sum
# of squares (83,114 vs 82,684), the same SMR RMSE (benchmarks/bench_speed.py).
_SEED_ROWS_PER_CLUSTER = 10
_LLOYD_MAX_ITER = 30


def kmeans_cells(X, n_clusters, weight=None, seed=0):
    """k-means cluster of each row: :func:`kmeans_centres`, then the nearest centre.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    >>> labels = kmeans_cells(X, 2)
    >>> bool((labels[:5] == labels[0]).all() and (labels[5:] != labels[0]).all())
    True
    """
    return nearest_centre(X, kmeans_centres(X, n_clusters, weight, seed))


def kmeans_centres(X, n_clusters, weight=None, seed=0):
    """k-means centres of the rows (K capped at the rows), empty clusters dropped.

    The centres are seeded by k-means++ (one local trial) on
    ``10 K`` random rows, then refined by at most 30 Lloyd iterations of
    scikit-learn's KMeans on every row; each row's label is its nearest
    final centre. Against scikit-learn's default (k-means++ on every row,
    Lloyd to convergence), on K = 1000 blocks of 10^5 rows: 0.5% more
    within-block sum of squares, about a tenth of the time.
    """
    k = min(n_clusters, X.shape[0])
    rows = np.random.default_rng(seed).permutation(X.shape[0])[:_SEED_ROWS_PER_CLUSTER * k]
    rows.sort()
    weight = _kmeans_weight(weight)
    seed_weight = None if weight is None or not weight[rows].sum() > 0 else weight[rows]
    centres, _ = kmeans_plusplus(X[rows], k, sample_weight=seed_weight, random_state=seed,
                                 n_local_trials=1)
    model = KMeans(n_clusters=k, init=centres, n_init=1, max_iter=_LLOYD_MAX_ITER)
    model.fit(X, sample_weight=weight)
    return _used_centres(model.cluster_centers_, model.labels_)


def subset_kmeans_cells(X, n_clusters, subset_size, weight=None, seed=0):
    """The paper's subset clustering: centres from a random subset, nearest centre for all."""
    return nearest_centre(X, subset_kmeans_centres(X, n_clusters, subset_size, weight, seed))


def subset_kmeans_centres(X, n_clusters, subset_size, weight=None, seed=0):
    """Centres of the paper's subset clustering, those nearest to no row dropped.

    The centres come from scikit-learn's MiniBatchKMeans on ``subset_size``
    random rows (full Lloyd iterations with K = 1000 on 10^5 rows take tens
    of seconds; mini-batches a few); every row then goes to its nearest
    centre.
    """
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rows = rng.choice(n, size=subset_size, replace=False) if subset_size < n else slice(None)
    sub_weight = None if weight is None else weight[rows]
    k = min(n_clusters, X[rows].shape[0])
    model = MiniBatchKMeans(
        n_clusters=k, n_init=1, batch_size=4096, random_state=seed
    ).fit(X[rows], sample_weight=_kmeans_weight(sub_weight))
    return _used_centres(model.cluster_centers_, model.predict(X))


def _used_centres(centres, labels):
    return centres[np.unique(labels)]


def nearest_centre(X, centres):
    """Index of each row's nearest centre (Euclidean; the first on ties)."""
    return pairwise_distances_argmin(X, centres)


@dataclass(frozen=True)
class BlockCentres:
    """k-means blocks kept as centres: ``K x d`` numbers per natural partition.

    A streamed fit cuts each chunk once and assigns its rows to the nearest
    kept centre on every later pass, instead of clustering the chunk again;
    the labels are those of :func:`partition_labels` on the first pass.
    ``keys`` are the chunk's sorted natural partitions (None: no partitions).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> spec = PartitionSpec("kmeans", n_clusters=4)
    >>> centres = BlockCentres.fit(X, spec)
    >>> centres.centres[0].shape
    (4, 2)
    >>> bool((centres.labels(X) == partition_labels(X, spec)).all())
    True
    """

    keys: np.ndarray | None
    centres: tuple

    @classmethod
    def fit(cls, X, spec, weight=None, partitions=None):
        """The centres :func:`partition_labels` cuts the rows with."""
        if partitions is None:
            return cls(None, (_centres(X, spec, weight),))
        keys, codes = np.unique(np.asarray(partitions), return_inverse=True)
        return cls(keys, tuple(
            _centres(X[rows], spec, None if weight is None else weight[rows])
            for rows in _partition_rows(codes.ravel())
        ))

    def labels(self, X, partitions=None):
        """Dense block labels: each row's nearest centre of its own partition."""
        if self.keys is None:
            return nearest_centre(X, self.centres[0])
        keys, codes = np.unique(np.asarray(partitions), return_inverse=True)
        if keys.shape != self.keys.shape or not np.array_equal(keys, self.keys):
            raise ValueError("The chunk's partitions differ from those it had on the first "
                             "pass: a streamed source must give the same chunks on every pass.")
        labels = np.empty(codes.size, dtype=np.intp)
        offset = 0
        for rows, centres in zip(_partition_rows(codes.ravel()), self.centres):
            labels[rows] = nearest_centre(X[rows], centres) + offset
            offset += centres.shape[0]
        return labels


def _partition_rows(codes):
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    return np.split(order, starts[1:])


def _centres(X, spec, weight):
    if spec.scheme == "kmeans":
        return kmeans_centres(X, spec.n_clusters, weight, spec.seed)
    return subset_kmeans_centres(X, spec.n_clusters, spec.subset_size, weight, spec.seed)


def partition_labels(X, spec, weight=None, partitions=None):
    """Dense block labels: natural ``partitions`` refined by ``spec`` within each.

    Each natural partition is cut on its own rows only (a node partitions the
    data it holds), so K, the grid's quantiles and the k-means centres are
    per partition.
    """
    if spec.scheme in ("kmeans", "subset_kmeans"):
        return BlockCentres.fit(X, spec, weight, partitions).labels(X, partitions)
    codes = None if partitions is None else dense_codes(partitions)
    if spec.scheme == "grid":
        return equal_depth_cells(X, spec.n_bins, weight, codes)
    return np.zeros(X.shape[0], dtype=np.intp) if codes is None else codes


def dense_codes(labels):
    """Codes ``0..G-1`` of ``labels`` in sorted label order (``np.unique``'s inverse).

    Integer labels over a range not much wider than their count are coded
    by a table of the values present, in O(n), instead of a sort.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind in "biu" and labels.size:
        low, high = int(labels.min()), int(labels.max())
        if high - low <= 2 * labels.size and high <= np.iinfo(np.intp).max:
            offset = labels.astype(np.intp) - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            return (np.cumsum(present) - 1)[offset]
    return np.unique(labels, return_inverse=True)[1].ravel()


def _kmeans_weight(weight):
    return None if weight is None or weight.sum() <= 0 else weight
