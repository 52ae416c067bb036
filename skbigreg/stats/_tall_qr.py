"""The R factor of a tall, narrow block of rows: preconditioned CholeskyQR, else Householder.

Only ``R`` is kept (the TSQR accumulator stacks and merges R factors), so the
orthogonal factor of a block is never needed. For a block ``A`` (rows x
``K + T`` columns) and an upper-triangular preconditioner ``P``::

    Q = A P^-1       (BLAS trsm)
    S = chol(Q'Q)    (BLAS syrk and a small Cholesky)
    R = S P

gives ``R'R = A'A`` using level-3 products only, where a Householder QR of
so few columns spends its time in level-2 updates (about twice as slow here
for the same factor). When ``Q`` is well conditioned -- ``S`` passes a
condition estimate (LAPACK ``trcon``) -- the rounding errors of the syrk and
the Cholesky are those of a near-orthonormal matrix, a few units of roundoff
relative to ``Q'Q = I``, and the triangular solve is backward stable row by
row with column-wise errors proportional to ``||a_j||``; so ``R`` is the exact
factor of a block perturbed column by column by a few units of roundoff, the
guarantee Householder QR gives. With ``P`` the Cholesky factor of the block's
own Gram this is CholeskyQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya,
2015; Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa, 2020): the first
Cholesky may be inaccurate (it squares the condition number), the second one
is not, because ``Q`` is then nearly orthonormal.

Consecutive blocks of a chunk usually look alike, so the previous block's
``R`` is tried first as the preconditioner: a block then costs one trsm and
one syrk. A block for which no preconditioner gives a well-conditioned ``Q``
(fewer rows than columns, a constant column, a degree-10 polynomial such as
NIST's Filip) is factored by Householder QR, whose ``R`` still serves the
next block as a preconditioner.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack

# Largest accepted 1-norm condition estimate of S = chol(Q'Q). An orthonormal Q
# gives 1; the previous block's factor typically leaves 2-4 on i.i.d. rows.
# The error of S relative to Q'Q grows with the square of this number, so it
# is kept small: a block beyond it is preconditioned by its own Gram or
# factored by Householder, never accepted with fewer digits.
_MAX_CONDITION = 16.0

# Column panel width of the blocked Householder QR. A tall, narrow block
# spends LAPACK's unblocked geqrf in level-2 updates; geqrt with narrow
# panels applies each panel's reflectors to the rest as one level-3 product.
_QR_PANEL = 16


def householder_r(A, size):
    """Square upper-triangular R of ``A`` (zero-padded when A has fewer rows).

    Householder QR (LAPACK ``geqrt``, blocked by column panels), so the
    factor keeps the digits a Gram would square away.
    """
    m, n = A.shape
    if m == 0:
        return np.zeros((size, size))
    panel = max(1, min(_QR_PANEL, m, n))
    factored, _, info = lapack.dgeqrt(panel, np.array(A, dtype=np.float64, order="F"),
                                      overwrite_a=1)
    if info != 0:
        raise ValueError(f"LAPACK dgeqrt failed (info={info}).")
    r = np.triu(factored[: min(m, n)])
    if r.shape[0] < size:
        r = np.vstack([r, np.zeros((size - r.shape[0], size))])
    return r


def block_r_factor(A, preconditioner=None, refill=None):
    """R factor of the tall block ``A`` and the preconditioner for the next block.

    Parameters
    ----------
    A : ndarray of shape (m, n), Fortran order
        The centred, weighted block. Overwritten when ``refill`` is given
        (no copy of the block), else left unchanged.
    preconditioner : ndarray of shape (n, n) or None
        An upper-triangular factor of a similar block (the previous one).
    refill : callable or None
        Writes the block into ``A`` again (after a CholeskyQR attempt that
        gave up on it).

    Returns
    -------
    r : ndarray of shape (n, n)
        Upper triangular with ``r'r = A'A`` to Householder accuracy.
    preconditioner : ndarray of shape (n, n) or None
        ``r`` when it can precondition the next block (non-singular), else None.
    """
    n = A.shape[1]
    in_place = refill is not None
    r = None
    if A.shape[0] > n:
        if preconditioner is not None:
            r = _cholesky_qr(A, preconditioner, in_place)
            if r is None and in_place:
                refill()
        if r is None:
            own = _gram_cholesky(A)
            r = None if own is None else _cholesky_qr(A, own, in_place)
            if r is None and own is not None and in_place:
                refill()
    if r is None:
        r = householder_r(A, n)
    diagonal = np.abs(np.diag(r))
    usable = bool(np.all(np.isfinite(r)) and np.all(diagonal > 0))
    return r, (r if usable else None)


def _cholesky_qr(A, P, in_place):
    """``S P`` with ``S = chol(Q'Q)``, ``Q = A P^-1``; None unless Q is well conditioned."""
    Q = blas.dtrsm(1.0, P, A, side=1, lower=0, overwrite_b=int(in_place))
    # upper triangle of Q'Q; scipy's BLAS like every call here (switching between
    # numpy's and scipy's libraries lets one's idle threads slow the other)
    S, info = lapack.dpotrf(blas.dsyrk(1.0, Q, trans=1), lower=0, clean=1, overwrite_a=1)
    if info != 0:
        return None
    rcond, info = lapack.dtrcon(S, norm="1", uplo="U")
    if info != 0 or not rcond * _MAX_CONDITION >= 1.0:  # NaN is refused too
        return None
    # S P of two upper-triangular factors (S's lower part is zeroed): upper triangular
    return blas.dtrmm(1.0, P, S, side=1, lower=0, overwrite_b=1)


def _gram_cholesky(A):
    """Cholesky factor of ``A'A`` scaled to unit diagonal first; None if not positive definite.

    Only a preconditioner: its own error (the squared condition number) is
    corrected by the CholeskyQR step that uses it.
    """
    G = blas.dsyrk(1.0, A, trans=1)  # upper triangle of A'A: all potrf reads
    d = np.sqrt(np.diag(G))
    if not np.all(d > 0):  # a constant column (or NaN): rank deficient
        return None
    R, info = lapack.dpotrf(G / np.outer(d, d), lower=0, clean=1, overwrite_a=1)
    return R * d if info == 0 else None
