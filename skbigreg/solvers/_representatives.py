"""Block partitions and weighted representative rows (MR and SMR).

A block of rows becomes one weighted row (Li & Yang): the mean
representative (MR) ``(xbar_k, ybar_k, n_k)``, or the score-matching
representative (SMR) ``(x*_k, ybar_k, n_k)`` whose GLM score at the current
``beta`` equals the block's score:

# n_k (ybar_k - h(eta*)) nu(eta*) x*_k = S_k,   eta* solves n_k (ybar_k - h(eta)) nu(eta) eta = C_k

with ``S_k = sum_i w_i e_i x_i``, ``C_k = sum_i w_i e_i eta_i`` and
``e_i = (y_i - mu_i) nu(eta_i)`` at ``beta``.

The sign split (the paper's Remark 3.1): a block whose scalar equation has
no usable root, or (``sign_split="hull"``) whose ``x*_k``
leaves the block's bounding box, is split by the sign of ``e_i`` into two
pieces, each with its own representative. Near the full-data MLE a block's
``sum e_i`` is noise, and ``x*_k - xbar_k = sum e_i (x_i - xbar_k) / sum
e_i`` (to first order) is a ratio of two noises: most representatives then
lie far outside their blocks, inflate the representatives' information and
stall the iteration (the fit on the representatives moves by ``I_R^-1 s``
instead of ``I^-1 s``). A block with a root is split only when both pieces
have one, so no block loses its exact score; a piece without a usable root
is represented by its mean point (kind ``"fallback"``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans

from ..glm import GaussianFamily, IdentityLink

__all__ = [
    "BlockSums",
    "ChunkSums",
    "PartitionSpec",
    "RepresentativeSets",
    "RepresentativeTask",
    "Representatives",
    "block_sums",
    "build_representatives",
    "equal_depth_cells",
    "kmeans_cells",
    "partition_labels",
    "represent_task",
    "subset_kmeans_cells",
    "summarise_task",
]

# Offsets (in units of max(|eta0|, 1), or |eta0| for links defined on eta > 0)
# scanned on either side of the mean representative's eta0 for sign changes of
# the scalar score-matching equation: fine near eta0, reaching ~4000 units.
_SCAN = np.sinh(np.linspace(-9.0, 9.0, 401))
_CENTRE = _SCAN.size // 2
_NEAR = 25  # half-width of the first, narrow scan (offsets up to ~1.3 units)
# Relative sizes below which a sum is rounding noise, and below which the
# score-matching denominator n (ybar - h) nu makes x* explode.
_ROUNDING = 1e-10
_EXPLODES = 1e-8
_MAX_BRACKET_STEPS = 200
# Relative slack of the bounding-box test: a representative on the box's face
# up to rounding is inside.
_BOX_SLACK = 1e-9
SIGN_SPLITS = ("auto", "hull", "no_root")


# --------------------------------------------------------------------------- partitions


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


def kmeans_cells(X, n_clusters, weight=None, seed=0):
    """k-means cluster of each row (scikit-learn's KMeans, K capped at the rows)."""
    k = min(n_clusters, X.shape[0])
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X, sample_weight=_kmeans_weight(weight))
    return np.unique(model.labels_, return_inverse=True)[1]


def subset_kmeans_cells(X, n_clusters, subset_size, weight=None, seed=0):
    """The paper's subset clustering: centres from a random subset, nearest centre for all.

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
    return np.unique(model.predict(X), return_inverse=True)[1]


def partition_labels(X, spec, weight=None, partitions=None):
    """Dense block labels: natural ``partitions`` refined by ``spec`` within each.

    Each natural partition is cut on its own rows only (a node partitions the
    data it holds), so K, the grid's quantiles and the k-means centres are
    per partition.
    """
    if partitions is None:
        return _cells(X, spec, weight)
    codes = np.unique(np.asarray(partitions), return_inverse=True)[1].ravel()
    if spec.scheme == "none":
        return codes
    if spec.scheme == "grid":
        return equal_depth_cells(X, spec.n_bins, weight, codes)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    labels = np.empty(codes.size, dtype=np.intp)
    offset = 0
    for rows in np.split(order, starts[1:]):
        cells = _cells(X[rows], spec, None if weight is None else weight[rows])
        labels[rows] = cells + offset
        offset += int(cells.max()) + 1
    return labels


def _cells(X, spec, weight):
    if spec.scheme == "grid":
        return equal_depth_cells(X, spec.n_bins, weight)
    if spec.scheme == "kmeans":
        return kmeans_cells(X, spec.n_clusters, weight, spec.seed)
    if spec.scheme == "subset_kmeans":
        return subset_kmeans_cells(X, spec.n_clusters, spec.subset_size, weight, spec.seed)
    return np.zeros(X.shape[0], dtype=np.intp)


def _kmeans_weight(weight):
    return None if weight is None or weight.sum() <= 0 else weight


def _dense_rows(bins, base):
    # mixed-radix code when it fits in int64, else unique rows
    d = bins.shape[1]
    if base**d < 2**62:
        code = bins @ (base ** np.arange(d, dtype=np.int64))
        return np.unique(code, return_inverse=True)[1].ravel()
    return np.unique(bins, axis=0, return_inverse=True)[1].ravel()


# --------------------------------------------------------------------------- block sums


@dataclass(frozen=True)
class BlockSums:
    """Weighted sums per group (a block, or a sign piece of a block) at ``beta``.

    Attributes
    ----------
    weight : ndarray of shape (G,)
        ``n_k = sum w_i``.
    y_sum : ndarray of shape (G,)
        ``sum w_i y_i``.
    x_sum : ndarray of shape (G, p)
        ``sum w_i x_i``.
    score : ndarray of shape (G, p)
        ``S_k = sum w_i e_i x_i`` (zeros for a mean pass).
    score_eta : ndarray of shape (G,)
        ``C_k = sum w_i e_i eta_i``.
    pearson : ndarray of shape (G,)
        ``sum w_i (y_i - mu_i)^2 / V(mu_i)`` (NaN for a mean pass).
    abs_score : ndarray of shape (G,)
        ``sum w_i |e_i|``, the scale against which a block score is negligible.
    abs_scale : ndarray of shape (G,)
        ``sum w_i (|y_i| + |mu_i|) |nu_i|``, the rounding scale of ``e_i``.
    spread : ndarray of shape (G,)
        ``sum w_i |z_i - zbar_k|`` around the *block* mean of a fixed random
        projection ``z_i = x_i' r``: zero when every row of the block has
        the same covariates (and, almost surely, only then).
    x_abs : ndarray of shape (G,)
        ``sum w_i |z_i|``, the rounding scale of ``spread``.
    x_min, x_max : ndarray of shape (G, p)
        Coordinate-wise minimum and maximum of the rows of positive weight
        (NaN when there are none): the bounding box a representative is
        checked against. They merge by ``fmin``/``fmax``, not by addition.
        None when not gathered (the mean pass, or ``sign_split="no_root"``).
    """

    weight: np.ndarray
    y_sum: np.ndarray
    x_sum: np.ndarray
    score: np.ndarray
    score_eta: np.ndarray
    pearson: np.ndarray
    abs_score: np.ndarray
    abs_scale: np.ndarray
    spread: np.ndarray
    x_abs: np.ndarray
    x_min: np.ndarray | None
    x_max: np.ndarray | None

    def pieces_to_blocks(self):
        """Merge the two sign pieces ``2k`` and ``2k + 1`` of every block ``k``."""
        sums = {f: _pairs(getattr(self, f)) for f in _SUM_FIELDS}
        if self.x_min is None:
            return BlockSums(**sums, x_min=None, x_max=None)
        return BlockSums(
            **sums,
            x_min=_pairs(self.x_min, np.fmin),
            x_max=_pairs(self.x_max, np.fmax),
        )


_SUM_FIELDS = (
    "weight", "y_sum", "x_sum", "score", "score_eta", "pearson",
    "abs_score", "abs_scale", "spread", "x_abs",
)


def _projection(p):
    # fixed, so that every pass and every node use the same direction
    return np.random.default_rng(20240601).uniform(0.5, 1.5, p)


def _pairs(values, merge=np.add):
    return merge.reduce(values.reshape(values.shape[0] // 2, 2, *values.shape[1:]), axis=1)


def _group_boxes(design, weight, groups, n_groups):
    """Coordinate-wise min and max of each group's rows of positive weight.

    NaN for a group without such rows. One unbuffered scatter per column
    (``ufunc.at`` on 1-d data; a transposed copy costs more than the
    strides): no sort and no gather of rows.
    """
    index = np.where(weight > 0, groups, n_groups)  # zero weights: a spare slot
    lo = np.full((design.shape[1], n_groups + 1), np.inf)
    hi = np.full_like(lo, -np.inf)
    for j in range(design.shape[1]):
        np.minimum.at(lo[j], index, design[:, j])
        np.maximum.at(hi[j], index, design[:, j])
    lo, hi = lo[:, :n_groups].T.copy(), hi[:, :n_groups].T.copy()
    empty = lo[:, 0] > hi[:, 0]
    lo[empty] = np.nan
    hi[empty] = np.nan
    return lo, hi


def block_sums(design, y, weight, labels, n_blocks, beta, family, link, boxes=True):
    """Sums per sign piece: group ``2k + (e_i > 0)`` for block ``k``.

    ``boxes=False`` skips the pieces' bounding boxes (a gather of every
    row), which only the ``"hull"`` sign split reads.

    With ``beta=None`` (the mean pass) every row goes to piece ``2k`` and
    the score sums are zero. Every sum is a product with one sparse
    (pieces x rows) indicator in CSC form: one entry per row, built without
    sorting, applied to all columns at once.
    """
    n, p = design.shape
    scalars = np.empty((n, 7))
    scalars[:, 0] = 1.0
    scalars[:, 1] = y
    if beta is None:
        scalars[:, 2:] = 0.0
        scalars[:, 3] = np.nan
        groups = 2 * labels
    else:
        eta = design @ beta
        mu = link.inverse(eta)
        nu = family.nu(link, eta)
        e = (y - mu) * nu
        np.multiply(e, eta, out=scalars[:, 2])
        with np.errstate(divide="ignore", invalid="ignore"):  # mu on the boundary
            scalars[:, 3] = (y - mu) ** 2 / family.variance(mu)
        np.abs(e, out=scalars[:, 4])
        scalars[:, 5] = (np.abs(y) + np.abs(mu)) * np.abs(nu)
        groups = 2 * labels + (e > 0)
    indicator = sparse.csc_array((weight, groups, np.arange(n + 1)), shape=(2 * n_blocks, n))
    x_sum = indicator @ design
    # spread of a fixed random projection z = x'r around its *block* mean:
    # zero when the block's rows share x (and, almost surely, only then)
    projection = design @ _projection(p)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty blocks
        block_mean = _pairs(x_sum) @ _projection(p) / _pairs(indicator @ scalars[:, 0])
    np.abs(projection - block_mean[labels], out=scalars[:, 6])
    sums = indicator @ scalars
    spread_scale = indicator @ np.abs(projection)
    x_min, x_max = _group_boxes(design, weight, groups, 2 * n_blocks) if boxes else (None, None)
    score = np.zeros_like(x_sum)
    if beta is not None:
        # the same indicator carrying w_i e_i: no rows-by-p temporary
        score = sparse.csc_array(
            (weight * e, groups, np.arange(n + 1)), shape=indicator.shape
        ) @ design
    return BlockSums(
        weight=sums[:, 0],
        y_sum=sums[:, 1],
        x_sum=x_sum,
        score=score,
        score_eta=sums[:, 2],
        pearson=sums[:, 3],
        abs_score=sums[:, 4],
        abs_scale=sums[:, 5],
        spread=sums[:, 6],
        x_abs=spread_scale,
        x_min=x_min,
        x_max=x_max,
    )


# --------------------------------------------------------------------------- representatives


@dataclass(frozen=True)
class Representatives:
    """Weighted representative rows: what a node sends to the coordinator.

    Attributes
    ----------
    X : ndarray of shape (R, p)
        Representative design rows (the intercept coordinate of an SMR row
        need not be 1).
    y : ndarray of shape (R,)
        Block mean responses ``ybar_k``.
    weight : ndarray of shape (R,)
        Block weights ``n_k`` (sum of the rows' sample weights).
    source : ndarray of shape (R,)
        Index of the chunk (node) the block came from.
    block : ndarray of shape (R,)
        Block label within its chunk (two rows share it after a sign split).
    kind : ndarray of shape (R,)
        ``"mean"`` (MR point), ``"score"`` (SMR row), ``"split"`` (SMR row
        of a sign piece) or ``"fallback"`` (a piece without a usable root,
        represented by its mean point).
    pearson : float
        Sum over the rows of ``w (y - mu)^2 / V(mu)`` at the ``beta`` the
        representatives were built at (NaN for mean representatives).
    n_rows : int
        Rows summarised.
    information : ndarray of shape (p, p) or None
        The rows' expected information ``sum w_i nu_i h'_i x_i x_i'`` at the
        ``beta`` the representatives were built at (None for mean
        representatives): p x p numbers per node, for standard errors.
    """

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    source: np.ndarray
    block: np.ndarray
    kind: np.ndarray
    pearson: float
    n_rows: int
    information: np.ndarray | None = None

    def __add__(self, other):
        arrays = {
            name: np.concatenate([getattr(self, name), getattr(other, name)])
            for name in ("X", "y", "weight", "source", "block", "kind")
        }
        both = self.information is not None and other.information is not None
        return Representatives(
            **arrays,
            pearson=self.pearson + other.pearson,
            n_rows=self.n_rows + other.n_rows,
            information=self.information + other.information if both else None,
        )

    def sorted(self):
        """The same rows ordered by (source, block), whatever order they merged in."""
        order = np.lexsort((self.block, self.source))
        return Representatives(
            self.X[order], self.y[order], self.weight[order], self.source[order],
            self.block[order], self.kind[order], self.pearson, self.n_rows, self.information,
        )

    @property
    def n_blocks(self):
        return np.unique(np.column_stack([self.source, self.block]), axis=0).shape[0]


@dataclass(frozen=True)
class RepresentativeSets:
    """The representatives of the same blocks under both sign-split rules.

    What a node sends under ``sign_split="auto"``: the coordinator keeps
    the set whose information matches the rows' (see
    :func:`skbigreg.linear_model._smr._contracting`). Both carry the rows'
    information.
    """

    hull: Representatives
    no_root: Representatives

    def __add__(self, other):
        return RepresentativeSets(self.hull + other.hull, self.no_root + other.no_root)

    def sorted(self):
        return RepresentativeSets(self.hull.sorted(), self.no_root.sorted())


def build_representatives(piece_sums, beta, family, link, source=0, sign_split="hull"):
    """Representatives of the blocks summarised by ``piece_sums``.

    ``beta=None`` gives the mean representatives (MR); otherwise the
    score-matching ones at ``beta`` (SMR) with the sign split where needed:
    for blocks without a usable root, and (``sign_split="hull"``) for blocks
    whose representative leaves their bounding box, when both pieces have a
    root. Blocks of zero total weight are dropped.
    """
    blocks = piece_sums.pieces_to_blocks()
    keep = np.flatnonzero(blocks.weight > 0)
    pearson = float(np.sum(blocks.pearson)) if beta is not None else float("nan")
    if beta is None:
        X, y, w = _means(blocks, keep)
        return _make(X, y, w, source, keep, "mean", pearson)
    X, has_root = _score_matching(blocks, keep, beta, family, link)
    split = ~has_root
    if sign_split == "hull":
        split |= ~_inside_box(X, blocks.x_min[keep], blocks.x_max[keep])
    pieces = np.concatenate([2 * keep[split], 2 * keep[split] + 1])
    pieces = np.sort(pieces[piece_sums.weight[pieces] > 0])
    piece_X, piece_ok = _score_matching(piece_sums, pieces, beta, family, link)
    # a block with a root is split only when every piece has one: a fallback
    # piece would lose the block's score, which the block's own row carries
    split &= ~(has_root & np.isin(keep, pieces[~piece_ok] // 2))
    taken = np.isin(pieces // 2, keep[split])
    y, w = blocks.y_sum[keep] / blocks.weight[keep], blocks.weight[keep]
    whole = ~split
    reps = _make(X[whole], y[whole], w[whole], source, keep[whole], "score", pearson)
    if taken.any():
        reps = reps + _pieces(piece_sums, pieces[taken], piece_X[taken], piece_ok[taken], source)
    return reps


def _inside_box(X, lo, hi):
    """Whether each row lies in its box, on the coordinates the box spans.

    Coordinates constant within the block (the intercept, a dummy) are not
    checked: there an SMR row carries the scale ``sum_i a_i`` of its
    weights, never exactly the constant.
    """
    width = hi - lo
    slack = _BOX_SLACK * (width + np.abs(lo) + np.abs(hi))
    outside = ((X < lo - slack) | (X > hi + slack)) & (width > slack)
    return ~outside.any(axis=1)


def _pieces(piece_sums, pieces, X, ok, source):
    mean_X, y, w = _means(piece_sums, pieces)
    kind = np.where(ok, "split", "fallback")
    X = np.where(ok[:, None], X, mean_X)
    return Representatives(
        X, y, w, np.full(pieces.size, source), pieces // 2, kind, 0.0, 0
    )


def _means(sums, rows):
    w = sums.weight[rows]
    return sums.x_sum[rows] / w[:, None], sums.y_sum[rows] / w, w


def _make(X, y, w, source, block, kind, pearson):
    return Representatives(
        X, y, w, np.full(y.size, source), np.asarray(block), np.full(y.size, kind),
        pearson, 0,
    )


def _score_matching(sums, rows, beta, family, link):
    """SMR rows x*_k for the groups ``rows`` and whether each is usable."""
    n = sums.weight[rows]
    xbar = sums.x_sum[rows] / n[:, None]
    # the mean point carries the block score exactly when all rows share x,
    # and to rounding when the block is already fitted (every e_i ~ 0)
    exact = (sums.spread[rows] <= _ROUNDING * sums.x_abs[rows]) | (
        sums.abs_score[rows] <= _ROUNDING * sums.abs_scale[rows]
    )
    best_X = xbar.copy()
    ok = exact.copy()
    solve = rows[~exact]
    if solve.size:
        best_X[~exact], ok[~exact] = _solve_blocks(sums, solve, beta, family, link)
    return best_X, ok


def _solve_blocks(sums, rows, beta, family, link):
    n = sums.weight[rows]
    ybar = sums.y_sum[rows] / n
    xbar = sums.x_sum[rows] / n[:, None]
    score = sums.score[rows]
    c = sums.score_eta[rows] / n
    eta0 = xbar @ beta
    if isinstance(family, GaussianFamily) and isinstance(link, IdentityLink):
        candidates = _quadratic_roots(ybar, c)
    else:
        candidates = _scanned_roots(ybar, c, eta0, family, link)
    best_X = np.full_like(xbar, np.nan)
    best_dist = np.full(n.size, np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for eta in candidates:
            denom = n * (ybar - link.inverse(eta)) * family.nu(link, eta)
            X = score / denom[:, None]
            dist = np.linalg.norm(X - xbar, axis=1)
            # a denominator at rounding level of the block's |e| makes x* explode
            dist[np.abs(denom) <= _EXPLODES * sums.abs_score[rows]] = np.inf
            better = np.isfinite(dist) & (dist < best_dist)
            best_X[better], best_dist[better] = X[better], dist[better]
    return best_X, np.isfinite(best_dist)


def _quadratic_roots(ybar, c):
    # (ybar - eta) eta = c  <=>  eta^2 - ybar eta + c = 0
    disc = ybar**2 - 4 * c
    root = np.sqrt(np.where(disc >= 0, disc, np.nan))
    return [(ybar + root) / 2, (ybar - root) / 2]


def _scalar_equation(eta, ybar, c, family, link):
    return (ybar - link.inverse(eta)) * family.nu(link, eta) * eta - c


def _scanned_roots(ybar, c, eta0, family, link):
    """Nearest root on each side of eta0: scan for a sign change, then bracket-solve.

    A narrow window of the scan grid first; only blocks lacking a bracket on
    a side are scanned on the whole grid.
    """
    scale = np.abs(eta0) if link.domain_positive else np.maximum(np.abs(eta0), 1.0)
    brackets = np.full((2, 2, eta0.size), np.nan)  # (right, left) x (lo, hi)
    todo = np.arange(eta0.size)
    for half in (_NEAR, _CENTRE):
        if todo.size == 0:
            break
        offsets = _SCAN[_CENTRE - half : _CENTRE + half + 1]
        grid = eta0[todo, None] + scale[todo, None] * offsets
        change = _sign_changes(grid, ybar[todo, None], c[todo, None], family, link)
        sides = (change[:, half:], change[:, :half][:, ::-1])
        starts = (half + sides[0].argmax(axis=1), half - 1 - sides[1].argmax(axis=1))
        for side, found, start in zip((0, 1), (sides[0].any(axis=1), sides[1].any(axis=1)), starts):
            rows = todo[found]
            brackets[side, 0, rows] = grid[found, start[found]]
            brackets[side, 1, rows] = grid[found, start[found] + 1]
        todo = todo[~(sides[0].any(axis=1) & sides[1].any(axis=1))]
    return [_refine(lo, hi, ybar, c, family, link) for lo, hi in brackets]


def _sign_changes(grid, ybar, c, family, link):
    with np.errstate(all="ignore"):
        valid = np.isfinite(grid) & ((grid > 0) if link.domain_positive else True)
        values = _scalar_equation(np.where(valid, grid, 1.0), ybar, c, family, link)
        values = np.where(valid, values, np.nan)
    finite = np.isfinite(values)
    sign = np.sign(values)
    return (sign[:, :-1] * sign[:, 1:] <= 0) & finite[:, :-1] & finite[:, 1:]


def _refine(lo, hi, ybar, c, family, link):
    """Roots inside sign-change brackets ``[lo, hi]``, all blocks at once.

    Regula falsi with the Illinois modification (the retained end's value is
    halved when the same end is kept twice), falling back to bisection when
    the secant point is not strictly inside: superlinear and never leaves
    the bracket. Stops at a bracket of ``4 eps`` relative width or an exact
    zero.
    """
    rows = np.flatnonzero(np.isfinite(lo))
    eta = np.full(lo.size, np.nan)
    if rows.size == 0:
        return eta
    a, b = lo[rows].copy(), hi[rows].copy()
    yb, cc = ybar[rows], c[rows]
    with np.errstate(all="ignore"):
        fa, fb = (_scalar_equation(v, yb, cc, family, link) for v in (a, b))
        active = np.arange(a.size)
        kept = np.zeros(a.size, dtype=np.int8)  # +1: a kept last time, -1: b kept
        for _ in range(_MAX_BRACKET_STEPS):
            done = (fa[active] == 0) | (fb[active] == 0) | (
                np.abs(b[active] - a[active])
                <= 4 * np.finfo(float).eps * np.maximum(np.abs(a[active]), np.abs(b[active]))
            )
            active = active[~done]
            if active.size == 0:
                break
            A, B, FA, FB = a[active], b[active], fa[active], fb[active]
            x = B - FB * (B - A) / (FB - FA)
            inside = np.isfinite(x) & (x > np.minimum(A, B)) & (x < np.maximum(A, B))
            x = np.where(inside, x, (A + B) / 2)
            fx = _scalar_equation(x, yb[active], cc[active], family, link)
            same_as_a = np.sign(fx) == np.sign(FA)
            # replace the end with fx's sign; halve the other end's value if
            # that end is kept a second time in a row (Illinois)
            new_a = np.where(same_as_a, x, A)
            new_b = np.where(same_as_a, B, x)
            keep = np.where(same_as_a, -1, 1)
            new_fa = np.where(same_as_a, fx, np.where(kept[active] == 1, FA / 2, FA))
            new_fb = np.where(same_as_a, np.where(kept[active] == -1, FB / 2, FB), fx)
            a[active], b[active], fa[active], fb[active] = new_a, new_b, new_fa, new_fb
            kept[active] = keep
        root = np.where(np.abs(fa) <= np.abs(fb), a, b)
    eta[rows] = np.where(np.isfinite(root), root, np.nan)
    return eta


# --------------------------------------------------------------------------- worker task


@dataclass(frozen=True)
class RepresentativeTask:
    """Rows one worker turns into representatives.

    ``labels`` are the rows' block labels when the blocks were cut by the
    caller (in-memory data); otherwise the worker cuts ``X`` with the spec,
    inside the natural ``partitions`` when given (streamed chunks).
    """

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    source: int
    labels: np.ndarray | None = None
    partitions: np.ndarray | None = None


def represent_task(task, beta, family, link, spec, fit_intercept, information=True,
                   sign_split="hull"):
    """Module-level worker: block labels, block sums and representatives of one task.

    With ``information`` (and a ``beta``), also the rows' expected
    information at ``beta`` (p x p), for standard errors. Under
    ``sign_split="auto"`` (with a ``beta``), both rules' representatives
    with the rows' information (:class:`RepresentativeSets`).
    """
    both = sign_split == "auto" and beta is not None
    want_information = information or both
    labels = task.labels
    if labels is None:
        labels = partition_labels(task.X, spec, task.weight, task.partitions)
    design = _design(task.X, fit_intercept)
    n_blocks = int(labels.max()) + 1 if labels.size else 0
    hull = beta is not None and sign_split in ("hull", "auto")
    sums = block_sums(design, task.y, task.weight, labels, n_blocks, beta, family, link,
                      boxes=hull)
    information = None
    if beta is not None and want_information:
        fisher = task.weight * family.fisher_weight(link, design @ beta)
        information = (design * fisher[:, None]).T @ design
    rules = ("hull", "no_root") if both else (sign_split,)
    reps = [
        replace(build_representatives(sums, beta, family, link, task.source, rule),
                n_rows=int(task.y.size), information=information)
        for rule in rules
    ]
    return RepresentativeSets(*reps) if both else reps[0]


@dataclass(frozen=True)
class ChunkSums:
    """A chunk's piece sums and per-piece information at ``beta``: enough to
    rebuild its representatives at another ``beta`` without its rows.

    The score of every piece is carried to a new ``b`` to first order,
    ``S(b) = S(beta) - I (b - beta)`` with ``I = sum w_i nu_i h'_i x_i x_i'``
    the piece's expected information, and ``C(b) = b' S(b)`` (exact, since
    ``C = sum e_i x_i' b``). The pieces' rows and bounding boxes stay those
    of ``beta``. Memory: ``2 K (p^2 + 4p + 8)`` numbers for a chunk of ``K``
    blocks.

    Attributes
    ----------
    sums : BlockSums
        Piece sums (groups ``2k`` and ``2k + 1``) at ``beta``.
    information : ndarray of shape (2K, p, p)
    beta : ndarray of shape (p,)
    source : int
    n_rows : int
    """

    sums: BlockSums
    information: np.ndarray
    beta: np.ndarray
    source: int
    n_rows: int

    def at(self, beta):
        """Piece sums with the scores carried to ``beta`` to first order."""
        correction = self.information @ (np.asarray(beta) - self.beta)
        score = self.sums.score - correction
        return replace(
            self.sums,
            score=score,
            score_eta=score @ beta,
            abs_score=self.sums.abs_score + np.abs(correction).sum(axis=1),
        )

    def representatives(self, beta, family, link, sign_split="hull"):
        """Representatives rebuilt at ``beta`` from the carried sums."""
        reps = build_representatives(self.at(beta), beta, family, link, self.source, sign_split)
        return replace(reps, n_rows=self.n_rows, information=self.information.sum(axis=0))


def summarise_task(task, beta, family, link, spec, fit_intercept):
    """Module-level worker: a task's :class:`ChunkSums` at ``beta``."""
    labels = task.labels
    if labels is None:
        labels = partition_labels(task.X, spec, task.weight, task.partitions)
    design = _design(task.X, fit_intercept)
    n_blocks = int(labels.max()) + 1 if labels.size else 0
    sums = block_sums(design, task.y, task.weight, labels, n_blocks, beta, family, link)
    eta = design @ beta
    groups = 2 * labels + ((task.y - link.inverse(eta)) * family.nu(link, eta) > 0)
    fisher = task.weight * family.fisher_weight(link, eta)
    p = design.shape[1]
    # per-piece sum of f_i x_i x_i': one sparse product on the rows' outer products
    outer = (design[:, :, None] * design[:, None, :]).reshape(-1, p * p)
    indicator = sparse.csc_array((fisher, groups, np.arange(task.y.size + 1)),
                                 shape=(2 * n_blocks, task.y.size))
    information = (indicator @ outer).reshape(-1, p, p)
    return ChunkSums(sums, information, np.asarray(beta, float), task.source, int(task.y.size))


def _design(X, fit_intercept):
    return np.column_stack([np.ones(X.shape[0]), X]) if fit_intercept else np.asarray(X, float)
