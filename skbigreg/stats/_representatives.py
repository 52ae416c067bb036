"""Mergeable statistics of score-matching representatives (Li & Yang).

:class:`BlockSums` are a chunk's weighted sums per block (or sign piece of a
block) at the current ``beta``; :class:`ChunkSums` keep them with the pieces'
information, so a chunk's representatives can be rebuilt at another
``beta`` without its rows. :class:`Representatives` are the weighted rows a
node sends to the coordinator; they merge by concatenation (``+``), and
:meth:`Representatives.sorted` makes the merge independent of its order.
:class:`RepresentativeSets` carry the same blocks under both sign-split
rules. The passes that build them from rows are in :mod:`skbigreg.passes`,
the representatives' construction and the SMR iteration in
:mod:`skbigreg.solvers`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["BlockSums", "ChunkSums", "RepresentativeSets", "Representatives", "piece_pairs"]


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
        sums = {f: piece_pairs(getattr(self, f)) for f in _SUM_FIELDS}
        if self.x_min is None:
            return BlockSums(**sums, x_min=None, x_max=None)
        return BlockSums(
            **sums,
            x_min=piece_pairs(self.x_min, np.fmin),
            x_max=piece_pairs(self.x_max, np.fmax),
        )


_SUM_FIELDS = (
    "weight", "y_sum", "x_sum", "score", "score_eta", "pearson",
    "abs_score", "abs_scale", "spread", "x_abs",
)



def piece_pairs(values, merge=np.add):
    """Merge rows ``2k`` and ``2k + 1`` (the two sign pieces of block ``k``)."""
    return merge.reduce(values.reshape(values.shape[0] // 2, 2, *values.shape[1:]), axis=1)



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

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import Representatives
    >>> a = Representatives(np.ones((1, 2)), np.array([0.5]), np.array([4.0]),
    ...                     np.array([1]), np.array([0]), np.array(["mean"]), np.nan, 4)
    >>> b = Representatives(np.ones((2, 2)), np.array([0.2, 0.9]), np.array([3.0, 5.0]),
    ...                     np.array([0, 0]), np.array([0, 1]), np.array(["mean"] * 2),
    ...                     np.nan, 8)
    >>> merged = (a + b + Representatives.empty(2)).sorted()
    >>> merged.source, merged.n_rows, merged.n_blocks
    (array([0, 0, 1]), 12, 3)
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

    @classmethod
    def empty(cls, n_params):
        """No rows: the identity of ``+``."""
        return cls(
            np.zeros((0, n_params)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.intp),
            np.zeros(0, dtype=np.intp), np.zeros(0, dtype="<U8"), 0.0, 0,
        )

    @property
    def n_params(self):
        return self.X.shape[1]

    def _is_empty(self):
        return self.y.size == 0 and self.n_rows == 0 and self.information is None

    def __add__(self, other):
        """Concatenated rows; summed Pearson sums, row counts and information.

        The information is kept only when both sides carry it (mean
        representatives do not). An empty side (:meth:`empty`) is the identity.
        """
        if not isinstance(other, Representatives):
            return NotImplemented
        if self.n_params != other.n_params:
            raise ValueError(
                f"Cannot merge representatives of {self.n_params} and {other.n_params} "
                f"parameters (X shapes {self.X.shape} and {other.X.shape})."
            )
        if other._is_empty():
            return self
        if self._is_empty():
            return other
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
    :func:`skbigreg.solvers._smr.choose_sign_split`). Both carry the rows'
    information.
    """

    hull: Representatives
    no_root: Representatives

    @classmethod
    def empty(cls, n_params):
        """No rows under either rule: the identity of ``+``."""
        return cls(Representatives.empty(n_params), Representatives.empty(n_params))

    def __add__(self, other):
        if not isinstance(other, RepresentativeSets):
            return NotImplemented
        return RepresentativeSets(self.hull + other.hull, self.no_root + other.no_root)

    def sorted(self):
        return RepresentativeSets(self.hull.sorted(), self.no_root.sorted())


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

