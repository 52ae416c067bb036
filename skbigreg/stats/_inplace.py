"""Dense K x K linear algebra done in place, for wide designs.

A design with thousands of columns (a one-hot factor) makes every K x K
matrix tens of MiB (32 MiB at K = 2,000). The solve needs the co-moment
matrix, a triangular factor and the inverse ``(X'WX)^-1``; these helpers let
the factor be made, scaled, inverted and symmetrised in the one array LAPACK
works on, with only row bands of a few MiB as temporaries. The arithmetic
is that of the whole-matrix expressions they replace, element by element.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

# Elements per temporary band of rows (4 MiB of float64).
_BAND_ELEMENTS = 2**19


def _bands(n_rows, n_columns):
    """Slices of consecutive rows, each about ``_BAND_ELEMENTS`` elements."""
    step = max(1, _BAND_ELEMENTS // max(n_columns, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def unit_diagonal_copy(a, d):
    """``a / outer(d, d)`` as a new Fortran-ordered array, a band of rows at a time.

    Fortran order lets LAPACK factor the result in place; the bands keep the
    temporary ``outer(d, d)`` to a few MiB.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 9.0]])
    >>> unit_diagonal_copy(a, np.sqrt(np.diag(a)))
    array([[1.        , 0.33333333],
           [0.33333333, 1.        ]])
    """
    out = np.empty(a.shape, order="F")
    for band in _bands(*a.shape):
        np.divide(a[band], np.outer(d[band], d), out=out[band])
    return out


def cholesky_in_place(a):
    """Upper Cholesky factor of the Fortran-ordered ``a``, written over ``a``.

    Raises ``numpy.linalg.LinAlgError`` when ``a`` is not positive definite.
    """
    return linalg.cholesky(a, lower=False, overwrite_a=True, check_finite=False)


def triangular_condition(r):
    """1-norm condition estimate of the upper-triangular ``r`` (LAPACK ``trcon``).

    Reads ``r`` in place when it is Fortran-ordered. Raises
    ``numpy.linalg.LinAlgError`` when ``r`` is singular.

    Examples
    --------
    >>> import numpy as np
    >>> float(triangular_condition(np.array([[1.0, 0.0], [0.0, 1e-3]])))
    1000.0
    """
    rcond, info = lapack.dtrcon(np.asfortranarray(r), norm="1", uplo="U")
    if info != 0 or rcond <= 0:
        raise np.linalg.LinAlgError("singular triangular factor")
    return 1.0 / rcond


def inverse_from_cholesky(r):
    """``(r'r)^-1`` from its upper Cholesky factor ``r``, written over ``r``.

    LAPACK ``potri`` forms ``r^-1 r^-T`` in the upper triangle of the same
    array; the lower triangle is then copied from it a band at a time. ``r``
    must be Fortran-ordered (as :func:`cholesky_in_place` leaves it) and is
    destroyed.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> r = cholesky_in_place(np.asfortranarray(a))
    >>> bool(np.allclose(inverse_from_cholesky(r), np.linalg.inv(a)))
    True
    """
    inverse, info = lapack.dpotri(r, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError("singular triangular factor")
    symmetrise_from_upper(inverse)
    return inverse


def symmetrise_from_upper(a):
    """Copy the strict upper triangle of the square ``a`` onto its lower one, in place."""
    for band in _bands(*a.shape):
        # Rows of the band, columns left of it: the transposed upper block.
        a[band, : band.start] = a[: band.start, band].T
        block = a[band, band]
        lower = np.tril_indices(block.shape[0], -1)
        block[lower] = block.T[lower]
