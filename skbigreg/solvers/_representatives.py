"""Weighted representative rows (MR and SMR) from block sums.

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

Pure functions on :class:`~skbigreg.stats._representatives.BlockSums`: the
rows' passes that produce them are in :mod:`skbigreg.passes`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..glm import GaussianFamily, IdentityLink
from ..stats._representatives import Representatives

__all__ = ["SIGN_SPLITS", "build_representatives", "chunk_representatives",
           "representatives_by_rule"]

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
    if beta is None:
        X, y, w = _means(blocks, keep)
        return _make(X, y, w, source, keep, "mean", float("nan"))
    return representatives_by_rule(piece_sums, beta, family, link, source, (sign_split,))[0]


def representatives_by_rule(piece_sums, beta, family, link, source, rules):
    """:func:`build_representatives` at ``beta`` under each sign-split rule of
    ``rules``: every block's and every piece's equation is solved once for all."""
    blocks = piece_sums.pieces_to_blocks()
    keep = np.flatnonzero(blocks.weight > 0)
    pearson = float(np.sum(blocks.pearson))
    X, has_root = _score_matching(blocks, keep, beta, family, link)
    splits = {"no_root": ~has_root}
    if "hull" in rules:
        splits["hull"] = ~has_root | ~_inside_box(X, blocks.x_min[keep], blocks.x_max[keep])
    wanted = np.zeros(keep.size, dtype=bool)
    for rule in rules:
        wanted |= splits[rule]
    pieces = np.concatenate([2 * keep[wanted], 2 * keep[wanted] + 1])
    pieces = np.sort(pieces[piece_sums.weight[pieces] > 0])
    piece_X, piece_ok = _score_matching(piece_sums, pieces, beta, family, link)
    # a block with a root is split only when every piece has one: a fallback
    # piece would lose the block's score, which the block's own row carries
    root_lost = has_root & np.isin(keep, pieces[~piece_ok] // 2)
    y, w = blocks.y_sum[keep] / blocks.weight[keep], blocks.weight[keep]
    out = []
    for rule in rules:
        split = splits[rule] & ~root_lost
        taken = np.isin(pieces // 2, keep[split])
        whole = ~split
        reps = _make(X[whole], y[whole], w[whole], source, keep[whole], "score", pearson)
        if taken.any():
            reps = reps + _pieces(piece_sums, pieces[taken], piece_X[taken], piece_ok[taken],
                                  source)
        out.append(reps)
    return out


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


def chunk_representatives(chunk, beta, family, link, sign_split="hull"):
    """Representatives of a :class:`ChunkSums` rebuilt at ``beta`` from its carried sums."""
    reps = build_representatives(chunk.at(beta), beta, family, link, chunk.source, sign_split)
    return replace(reps, n_rows=chunk.n_rows, information=chunk.information.sum(axis=0))
