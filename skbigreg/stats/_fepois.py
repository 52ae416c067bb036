"""Mergeable statistics of Poisson regression with one absorbed factor (fixest's ``fepois``).

One IRLS pass at fixed coefficients and effects maps every chunk to a
:class:`PoissonEffectsPass`: the centred weighted Gram of ``[X, r]`` (``r``
the working response) over all rows and the weighted means of ``[X, r]``
per level, with the IRLS weights ``w mu``. The within Gram of the weighted
least-squares step is their difference (the total co-moments less the
between-level part), so a step needs no second look at the rows. The
inference pass at the final iterate maps chunks to :class:`PoissonScores`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._accumulators import GramStats
from ._irls import ClusterSums
from ._levels import LevelMeans, sorted_codes
from ._outer import OuterProductStats


@dataclass(frozen=True)
class PoissonEffectsPass:
    """One IRLS pass of Poisson regression with absorbed effects; merged with ``+``.

    Attributes
    ----------
    gram : GramStats
        Centred statistics of ``[X, r]`` over all rows, weights ``w mu``
        (each level's rows shifted by a constant of the pass, see
        :class:`~skbigreg.solvers._fepois.PoissonIterate`).
    levels : LevelMeans
        Weight ``sum w mu`` and means of the same rows per level, same weights.
    deviance : float
        ``2 sum w (y log(y / mu) - (y - mu))`` at the pass's iterate.
    log_exp_sum : float
        ``log sum w exp(x' b)`` (merged by ``logaddexp``, so large ``x' b``
        do not overflow): with ``sum w y`` it gives the one intercept that
        makes the fitted counts sum to the observed ones.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats, LevelMeans, PoissonEffectsPass
    >>> X, r, w = np.array([[1.0], [2.0], [4.0]]), np.array([0.5, 1.0, 2.0]), np.ones(3)
    >>> levels = np.array([0, 0, 1])
    >>> def part(rows):
    ...     Z = np.column_stack([X[rows], r[rows]])
    ...     return PoissonEffectsPass(GramStats.from_arrays(X[rows], r[rows], w[rows]),
    ...                               LevelMeans.from_arrays(Z, levels[rows], w[rows]), 1.0, 0.0)
    >>> merged = part(slice(0, 2)) + part(slice(2, 3))
    >>> merged.levels.mean.tolist(), merged.deviance
    ([[1.5, 0.75], [4.0, 2.0]], 2.0)
    """

    gram: GramStats
    levels: LevelMeans
    deviance: float
    log_exp_sum: float

    @classmethod
    def empty(cls, n_features):
        """The identity of ``+``: a pass over no rows."""
        return cls(GramStats.empty(n_features), LevelMeans.empty(n_features + 1), 0.0, -np.inf)

    def __add__(self, other):
        return PoissonEffectsPass(self.gram + other.gram, self.levels + other.levels,
                                  self.deviance + other.deviance,
                                  float(np.logaddexp(self.log_exp_sum, other.log_exp_sum)))


@dataclass(frozen=True)
class PoissonScores:
    """The inference pass: outer products and per-cluster sums of the within scores.

    Attributes
    ----------
    meat : OuterProductStats
        ``sum s_i s_i'`` of the scores ``s_i = w_i mu_i (r_i - x_i' b) (x_i - m_x,e(i))``.
    clusters : ClusterSums or None
        Per-cluster sums of the scores, when clusters were given.
    nesting : LevelMeans or None
        Levels (one column of zeros), with clusters: whether every level lies in
        one cluster (fixest then counts the effects as one parameter). None
        with several factors, whose nesting the first pass reads.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import OuterProductStats, PoissonScores
    >>> s = np.array([[1.0], [2.0]])
    >>> total = PoissonScores(OuterProductStats.from_rows(s[:1]), None, None) + \\
    ...     PoissonScores(OuterProductStats.from_rows(s[1:]), None, None)
    >>> total.meat.matrix.tolist()
    [[5.0]]
    """

    meat: OuterProductStats
    clusters: ClusterSums | None
    nesting: LevelMeans | None

    def __add__(self, other):
        if (self.clusters is None) != (other.clusters is None):
            raise ValueError("clusters must be given with every chunk or with none.")
        if self.clusters is None:
            return PoissonScores(self.meat + other.meat, None, None)
        nesting = None if self.nesting is None else self.nesting + other.nesting
        return PoissonScores(self.meat + other.meat, self.clusters + other.clusters, nesting)


@dataclass(frozen=True)
class LevelIndex:
    """Where a chunk's rows sit among the sorted labels of the kept levels.

    Attributes
    ----------
    found : ndarray of bool, shape (n,)
        Whether each row's level is kept.
    position : ndarray of int, shape (n_found,)
        Each kept row's position among the kept labels.
    local : ndarray of int, shape (g,)
        The positions of the chunk's kept levels (sorted), and
    codes : ndarray of int, shape (n_found,)
        each kept row's index into ``local``.
    """

    found: np.ndarray
    position: np.ndarray
    local: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, known, levels):
        """Index the rows' ``levels`` against the sorted labels ``known``.

        The rows' labels are coded once (:func:`sorted_codes`, O(n) for
        compact integers); only the chunk's distinct labels are searched.

        Examples
        --------
        >>> import numpy as np
        >>> index = LevelIndex.of(np.array([2, 5]), np.array([5, 3, 2, 5]))
        >>> index.found.tolist(), index.position.tolist(), index.local.tolist()
        ([True, False, True, True], [1, 0, 1], [0, 1])
        """
        distinct, codes = sorted_codes(levels)
        where = np.minimum(np.searchsorted(known, distinct), max(len(known) - 1, 0))
        kept = known[where] == distinct if len(known) else np.zeros(len(distinct), dtype=bool)
        found = kept[codes]
        renumber = np.cumsum(kept) - 1
        local_codes = renumber[codes[found]]
        local = where[kept]
        return cls(found, local[local_codes], local, local_codes)
