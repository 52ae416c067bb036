"""The two interchangeable accumulators: centred Gram and TSQR factor.

Both describe rows of ``Z = [X, y]`` (``K`` features, ``T`` targets) by

* ``n_rows`` -- rows seen (degrees of freedom count rows),
* ``weight_sum`` -- sum of the sample weights,
* ``mean`` -- weighted mean of ``Z``,
* a second moment of the centred rows: ``comoment`` ``C`` (Gram) or its
  upper-triangular factor ``r`` with ``R'R = C`` (TSQR).

Merging uses the pairwise update of Chan, Golub & LeVeque (1979)::

    C = C1 + C2 + (w1 w2 / w) d d',   d = m2 - m1

which the TSQR accumulator applies as the QR factor of ``[R1; R2; sqrt(w1 w2 / w) d']``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ._base import Field, Layout, Saved, check_same_shape, pack, unpack
from ._checks import check_moments
from ._inplace import cholesky_in_place, triangular_condition, unit_diagonal_copy
from ._moments import block_rows, centre_block, centred_blocks, merged_mean, raise_not_finite
from ._sparse import dense_row_blocks, is_sparse, sparse_gram_moments
from ._tall_qr import block_r_factor, householder_r


def centred_dims(values):
    """``D = K + T`` from the saved ``shape`` ``(K, T)``."""
    n_features, n_targets = (int(v) for v in values["shape"])
    return {"D": n_features + n_targets}


def centred_layout(schema, second, kind):
    """Saved arrays of a centred accumulator whose second moment is ``second``."""
    return Layout(
        schema,
        1,
        {
            "shape": Field((2,), "dims"),
            "n_rows": Field((), "count"),
            "weight_sum": Field((), "weight"),
            "mean": Field(("D",), "finite"),
            second: Field(("D", "D"), kind),
        },
        centred_dims,
    )


@dataclass(frozen=True)
class TriangularSystem:
    """``r_xx beta = r_xy`` with ``r_xx`` upper triangular, and the residual moments.

    Attributes
    ----------
    r_xx : ndarray of shape (K, K)
    r_xy : ndarray of shape (K, T)
    rss : ndarray of shape (T, T)
        Residual cross-products; the diagonal holds each target's RSS.
    scaled_condition : float or None
        1-norm condition estimate of ``r_xx`` with unit-norm columns when the
        accumulator had it at hand (the Gram factors the unit-diagonal
        matrix), else None.
    own_factor : bool
        Whether ``r_xx`` is a Fortran-ordered working array of the system's
        own, which a solver may overwrite (invert in place); otherwise it may
        be a view of the statistics.
    """

    r_xx: np.ndarray
    r_xy: np.ndarray
    rss: np.ndarray
    scaled_condition: float | None = None
    own_factor: bool = False


class _CentredStatistics(Saved):
    """Behaviour shared by :class:`GramStats` and :class:`QRStats`."""

    _schema = ""
    _version = 1
    _second = ""  # name of the second-moment array

    def __init__(self, n_features, n_targets, n_rows, weight_sum, mean, second):
        self.n_features = int(n_features)
        self.n_targets = int(n_targets)
        self.n_rows = int(n_rows)
        self.weight_sum = float(weight_sum)
        self.mean = np.asarray(mean, dtype=np.float64)
        setattr(self, self._second, np.asarray(second, dtype=np.float64))

    # -- construction ---------------------------------------------------
    @classmethod
    def empty(cls, n_features, n_targets=1):
        """The identity of ``+``: statistics of zero rows."""
        size = n_features + n_targets
        return cls(n_features, n_targets, 0, 0.0, np.zeros(size), np.zeros((size, size)))

    @classmethod
    def from_arrays(cls, X, y, sample_weight=None):
        """Statistics of the rows ``X`` (n, K), ``y`` (n,) or (n, T), weights (n,).

        Inputs are trusted to be float64 arrays of matching lengths; a
        non-finite result raises ``ValueError`` naming the culprit. ``X`` may
        be scipy.sparse: the Gram accumulator then uses sparse products.
        """
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(y), -1) if y.ndim == 1 else y
        if is_sparse(X):
            return cls._from_sparse(X, y, sample_weight)
        X = np.asarray(X, dtype=np.float64)
        stats = cls.empty(X.shape[1], y.shape[1])
        # NaN/inf rows are reported from the non-finite result, not mid-loop.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            for part in cls._block_statistics(X, y, sample_weight):
                stats = stats + part
        if not stats.is_finite():
            raise_not_finite(X, y, sample_weight)
        return stats

    def update(self, X, y, sample_weight=None):
        """Return the statistics of the rows seen so far plus ``X, y``."""
        return self + type(self).from_arrays(X, y, sample_weight)

    # -- merging ----------------------------------------------------------
    @property
    def shape(self):
        """``(n_features, n_targets)``."""
        return (self.n_features, self.n_targets)

    def __add__(self, other):
        """Statistics of the union of both row sets (Chan-Golub-LeVeque update)."""
        if isinstance(other, int) and other == 0:  # lets sum() start from 0
            return self.copy()
        check_same_shape(self, other)
        if other.weight_sum == 0 or self.weight_sum == 0:
            out = (self if other.weight_sum == 0 else other).copy()
            out.n_rows = self.n_rows + other.n_rows
            return out
        mean, delta, scale = merged_mean(
            self.weight_sum, self.mean, other.weight_sum, other.mean
        )
        second = self._merge_second(other, delta, scale)
        return type(self)(
            self.n_features,
            self.n_targets,
            self.n_rows + other.n_rows,
            self.weight_sum + other.weight_sum,
            mean,
            second,
        )

    __radd__ = __add__

    def copy(self):
        """An independent copy."""
        return type(self)(
            self.n_features,
            self.n_targets,
            self.n_rows,
            self.weight_sum,
            self.mean.copy(),
            getattr(self, self._second).copy(),
        )

    @classmethod
    def _block_statistics(cls, X, y, sample_weight):
        """Statistics of consecutive cache-sized blocks, each centred on its mean."""
        k, t = X.shape[1], y.shape[1]
        for block in centred_blocks(X, y, sample_weight):
            yield cls._from_block(block, k, t)

    # -- views ------------------------------------------------------------
    @property
    def mean_x(self):
        """Weighted mean of the features, shape (n_features,)."""
        return self.mean[: self.n_features]

    @property
    def mean_y(self):
        """Weighted mean of the targets, shape (n_targets,)."""
        return self.mean[self.n_features :]

    @property
    def cxx(self):
        """Centred ``X'WX``, shape (K, K)."""
        return self.comoment[: self.n_features, : self.n_features]

    @property
    def cxy(self):
        """Centred ``X'Wy``, shape (K, T)."""
        return self.comoment[: self.n_features, self.n_features :]

    @property
    def cyy(self):
        """Centred ``y'Wy``, shape (T, T)."""
        return self.comoment[self.n_features :, self.n_features :]

    def is_finite(self):
        """Whether means and centred co-moments are all finite.

        The co-moments, not only the stored second moment: a TSQR factor of
        values near 1e300 stays finite while ``r'r`` overflows, and every
        solve and standard error reads ``r'r``, so the QR accumulator refuses
        the same data as the Gram one.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(np.isfinite(self.mean).all() and np.isfinite(self.comoment).all())

    def moments(self, center=True):
        """Cross-product matrix of ``[X, y]``: centred (``C``) or raw (``Z'WZ``)."""
        C = self.comoment
        if center:
            return C
        # C + w m m', built in one array (no second K x K temporary).
        raw = np.multiply.outer(self.mean, self.mean)
        raw *= self.weight_sum
        raw += C
        return raw

    def allclose(self, other, rtol=1e-10, atol=0.0):
        """Equality within tolerance of counts, means and centred moments."""
        if self.shape != other.shape or self.n_rows != other.n_rows:
            return False
        scale = max(np.abs(self.comoment).max(), 1.0) if atol == 0 else 1.0
        return bool(
            np.isclose(self.weight_sum, other.weight_sum, rtol=rtol)
            and np.allclose(self.mean, other.mean, rtol=rtol, atol=atol)
            and np.allclose(
                self.comoment, other.comoment, rtol=rtol, atol=atol or rtol * scale
            )
        )

    # -- serialisation ----------------------------------------------------
    def to_dict(self):
        """Plain numeric arrays with a schema name and version."""
        return pack(
            self._schema,
            self._version,
            {
                "shape": self.shape,
                "n_rows": self.n_rows,
                "weight_sum": self.weight_sum,
                "mean": self.mean,
                self._second: getattr(self, self._second),
            },
        )

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output, checking every array; never executes code."""
        fields = unpack(data, cls._layout)
        n_features, n_targets = (int(v) for v in fields["shape"])
        check_moments(
            fields["n_rows"], fields["weight_sum"], fields[cls._second], f"{cls._schema} data"
        )
        return cls(
            n_features,
            n_targets,
            int(fields["n_rows"]),
            float(fields["weight_sum"]),
            fields["mean"],
            fields[cls._second],
        )

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_features={self.n_features}, "
            f"n_targets={self.n_targets}, n_rows={self.n_rows}, "
            f"weight_sum={self.weight_sum:g})"
        )


# The constructor parameters GramStats and QRStats share, apart from what
# ``second`` holds.
_PARAMETERS_DOC = """Parameters
    ----------
    n_features, n_targets : int
        ``K`` and ``T``.
    n_rows : int
        Rows seen.
    weight_sum : float
        Sum of sample weights.
    mean : ndarray of shape (K + T,)
        Weighted means of ``[X, y]``.
    second : ndarray of shape (K + T, K + T)
        {second}"""


class GramStats(_CentredStatistics):
    """Mergeable centred Gram statistics of ``Z = [X, y]``.

    Stores the weighted count, the weighted means and the centred co-moment
    matrix ``C = sum_i w_i (z_i - m)(z_i - m)'`` whose blocks are
    ``Cxx``, ``Cxy`` and ``Cyy``. Memory: ``(K + T)^2`` numbers.

    Centred moments keep the digits that raw sums ``X'X`` lose when columns
    have large offsets; the raw cross-products are recovered exactly as
    ``C + w m m'`` (:meth:`moments` with ``center=False``).

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 3)), rng.normal(size=100)
    >>> halves = GramStats.from_arrays(X[:40], y[:40]) + GramStats.from_arrays(X[40:], y[40:])
    >>> halves.allclose(GramStats.from_arrays(X, y))
    True
    >>> bool(np.allclose(halves.cxx, np.cov(X.T, bias=True) * 100))
    True
    """

    _schema = "skbigreg.GramStats"
    _second = "comoment"
    _layout = centred_layout(_schema, _second, "comoment")

    @classmethod
    def _from_block(cls, block, n_features, n_targets):
        Z = block.scaled
        # C = Z'Z on the centred block: numpy dispatches A.T @ A to BLAS syrk.
        return cls(n_features, n_targets, block.n_rows, block.weight_sum, block.mean, Z.T @ Z)

    def _merge_second(self, other, delta, scale):
        return self.comoment + other.comoment + scale * np.outer(delta, delta)

    @classmethod
    def _from_sparse(cls, X, y, sample_weight):
        """Statistics of a sparse chunk from sparse products (no densified copy).

        Columns stored in more than half of the rows are centred before the
        products, the others after them, losing at most ``log10 2`` digits
        (:mod:`skbigreg.stats._sparse`).
        """
        n_rows, weight_sum, mean, comoment = sparse_gram_moments(X, y, sample_weight)
        return cls(X.shape[1], y.shape[1], n_rows, weight_sum, mean, comoment)

    @classmethod
    def _block_statistics(cls, X, y, sample_weight):
        """Cache-sized blocks; centring costs a pass only where offsets demand it.

        An unweighted block is first reduced to raw products (one ``syrk``
        straight on the input, no copy) and centred algebraically,
        ``C = Z'Z - n m m'``. That subtraction loses ``log10(1 + m_j^2 / s_j^2)``
        digits on column ``j``; where any column's offset exceeds its spread
        (``m_j^2 > s_j^2``) the block is recomputed from explicitly centred
        rows, so no block keeps less than the centred accuracy minus a third
        of a digit.
        """
        k, t = X.shape[1], y.shape[1]
        if sample_weight is not None:
            yield from super()._block_statistics(X, y, sample_weight)
            return
        rows = block_rows(k + t)
        for start in range(0, len(X), rows):
            Xb, yb = X[start : start + rows], y[start : start + rows]
            part = _raw_block(cls, Xb, yb)
            if part is None:
                part = cls.from_arrays_centred(Xb, yb)
            yield part

    @classmethod
    def from_arrays_centred(cls, X, y, sample_weight=None):
        """As :meth:`from_arrays`, always centring each block explicitly."""
        k, t = X.shape[1], y.shape[1]
        return sum(
            (cls._from_block(b, k, t) for b in centred_blocks(X, y, sample_weight)),
            cls.empty(k, t),
        )

    def __sub__(self, other):
        """Statistics of the rows of ``self`` that are not in ``other``.

        ``other`` must describe a subset of the rows of ``self`` (e.g. one
        fold of the total); the means are recovered without forming raw sums.
        """
        check_same_shape(self, other)
        weight_sum = self.weight_sum - other.weight_sum
        n_rows = self.n_rows - other.n_rows
        if n_rows < 0 or weight_sum < -1e-12 * max(self.weight_sum, 1.0):
            raise ValueError("Cannot subtract statistics of more rows than the total.")
        if weight_sum <= 1e-15 * max(self.weight_sum, 1.0):
            out = type(self).empty(self.n_features, self.n_targets)
            out.n_rows = n_rows
            return out
        # m_rest = m + (w_part / w_rest)(m - m_part): no raw sums, so no offset loss.
        mean = self.mean + (other.weight_sum / weight_sum) * (self.mean - other.mean)
        delta = mean - other.mean
        scale = other.weight_sum * weight_sum / self.weight_sum
        comoment = self.comoment - other.comoment - scale * np.outer(delta, delta)
        return type(self)(
            self.n_features, self.n_targets, n_rows, weight_sum, mean, comoment
        )

    def triangular(self, center=True):
        """The least-squares system in triangular form, by Cholesky.

        Returns ``TriangularSystem(r_xx, r_xy, rss)`` with ``r_xx'r_xx = X'WX``,
        ``r_xx'r_xy = X'Wy`` and ``rss = y'Wy - r_xy'r_xy`` (the Schur
        complement, a sum of squares rather than ``y'y - b'X'y``), centred or
        raw. ``X'WX`` is scaled to unit diagonal before the factorisation,
        whose condition is returned too. Raises ``numpy.linalg.LinAlgError``
        when it is not positive definite.

        Memory: one K x K array besides the co-moment, factored, scaled and
        (by the solver) inverted in place.
        """
        A = self.moments(center)
        k = self.n_features
        Axx, Axy, Ayy = A[:k, :k], A[:k, k:], A[k:, k:]
        d = np.sqrt(np.diag(Axx))
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("a feature has zero variance")
        r_xx = cholesky_in_place(unit_diagonal_copy(Axx, d))
        # The factor of the unit-diagonal matrix has unit-norm columns: its
        # condition is the scaled one, read before r_xx is scaled in place.
        condition = triangular_condition(r_xx)
        r_xx *= d
        r_xy = linalg.solve_triangular(r_xx, Axy, trans="T", check_finite=False)
        return TriangularSystem(
            r_xx, r_xy, Ayy - r_xy.T @ r_xy, scaled_condition=condition, own_factor=True
        )


class QRStats(_CentredStatistics):
    """Mergeable TSQR statistics: the R factor of the centred, weighted ``[X, y]``.

    Same interface as :class:`GramStats`; the second moment is kept as an
    upper-triangular ``r`` with ``r'r = C``, never squared, so solves keep
    about twice the correct digits of the Gram on ill-conditioned designs
    (polynomials, near-collinear columns). A chunk costs a Householder QR
    instead of a ``syrk``: CholeskyQR with level-3 products where the
    block is well conditioned, Householder QR where it is not (see
    ``skbigreg.stats._tall_qr``).

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import GramStats, QRStats
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    >>> q = QRStats.from_arrays(X[:20], y[:20]) + QRStats.from_arrays(X[20:], y[20:])
    >>> bool(np.allclose(q.comoment, GramStats.from_arrays(X, y).comoment))
    True
    """

    _schema = "skbigreg.QRStats"
    _second = "r"
    _layout = centred_layout(_schema, _second, "upper")

    @classmethod
    def _block_statistics(cls, X, y, sample_weight):
        """One R factor per cache-sized centred block (:func:`block_r_factor`).

        Each block is centred into a Fortran-ordered buffer, the layout the
        triangular solve of CholeskyQR reads fastest, factored in place (it
        is centred again from the rows if CholeskyQR gives up on it), and
        its factor preconditions the next block.
        """
        k, t = X.shape[1], y.shape[1]
        rows = block_rows(k + t)
        buffer = np.empty((min(rows, len(X)), k + t), order="F")
        preconditioner = None
        for start in range(0, len(X), rows):
            part = (X[start : start + rows], y[start : start + rows],
                    None if sample_weight is None else sample_weight[start : start + rows])
            # a contiguous buffer for the last, shorter block too (in-place solves)
            out = buffer if len(part[0]) == len(buffer) else np.empty_like(buffer[: len(part[0])])
            block = centre_block(out, *part)
            r, preconditioner = block_r_factor(
                out, preconditioner, refill=lambda: centre_block(out, *part))
            yield cls(k, t, block.n_rows, block.weight_sum, block.mean, r)

    @classmethod
    def _from_sparse(cls, X, y, sample_weight):
        """A sparse chunk densified one cache-sized block of rows at a time.

        The Householder QR needs dense rows: memory stays that of a block,
        but the cost is that of the dense design (use the Gram solver for
        sparse speed).
        """
        return sum(
            (cls.from_arrays(b.X, b.y, b.sample_weight)
             for b in dense_row_blocks(X, y, sample_weight)),
            cls.empty(X.shape[1], y.shape[1]),
        )

    def _merge_second(self, other, delta, scale):
        stacked = np.vstack([self.r, other.r, np.sqrt(scale) * delta[None, :]])
        return householder_r(stacked, self.r.shape[0])

    @property
    def comoment(self):
        """Centred co-moment matrix ``r'r``."""
        return self.r.T @ self.r

    def factor(self, center=True):
        """Upper-triangular ``R`` with ``R'R`` = :meth:`moments`."""
        if center:
            return self.r
        top = np.sqrt(self.weight_sum) * self.mean[None, :]
        return householder_r(np.vstack([self.r, top]), self.r.shape[0])

    def triangular(self, center=True):
        """The least-squares system in triangular form, read off the R factor.

        ``rss = r_yy'r_yy`` is a sum of squares of the factor's last block:
        no cancelling subtraction at all.
        """
        R = self.factor(center)
        k = self.n_features
        r_yy = R[k:, k:]
        return TriangularSystem(R[:k, :k], R[:k, k:], r_yy.T @ r_yy)


for _cls, _second in (
    (GramStats, "Centred co-moment matrix, stored as the attribute ``comoment``."),
    (QRStats, "Upper-triangular factor of the centred co-moments, stored as ``r``."),
):
    _cls.__doc__ = _cls.__doc__.replace(
        "{parameters}", _PARAMETERS_DOC.replace("{second}", _second)
    )


def _raw_block(cls, Xb, yb):
    """Gram statistics of a block from raw products, or None if offsets forbid it."""
    k = Xb.shape[1]
    sums = np.concatenate([Xb.sum(axis=0), yb.sum(axis=0)])
    size = k + yb.shape[1]
    raw = np.empty((size, size))
    raw[:k, :k] = Xb.T @ Xb  # BLAS syrk on the input itself: no copy
    raw[:k, k:] = Xb.T @ yb
    raw[k:, :k] = raw[:k, k:].T
    raw[k:, k:] = yb.T @ yb
    return raw_block_statistics(cls, k, len(Xb), sums, raw)


def raw_block_statistics(cls, n_features, n, sums, raw):
    """Gram statistics of ``n`` unweighted rows of ``Z = [X, y]`` from ``sum z`` and ``Z'Z``.

    None if some column's offset exceeds its spread: the block must then be
    centred explicitly (see ``GramStats._block_statistics``).
    """
    k = n_features
    mean = sums / n
    comoment = raw - n * np.outer(mean, mean)
    spread = np.diag(comoment) / n
    offset = mean**2
    # Keep the raw form only where every column's offset is within its spread
    # (a zero-mean column is exact as it is); NaN spreads fall back too.
    if np.any((offset > 0) & ~(offset <= spread)):
        return None
    return cls(k, len(mean) - k, n, float(n), mean, comoment)
