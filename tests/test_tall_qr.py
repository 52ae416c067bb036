"""The R factor of tall blocks: preconditioned CholeskyQR against Householder QR."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from nist import load, lre
from skbigreg.linear_model import CumulativeLinearRegression
from skbigreg.parallel import single_blas_thread
from skbigreg.stats import QRStats
from skbigreg.stats._moments import block_rows
from skbigreg.stats._tall_qr import block_r_factor, householder_r
from test_nist import QR_COEF


def _centred(Z, w=None):
    w = np.ones(len(Z)) if w is None else w
    mean = w @ Z / w.sum()
    return np.asfortranarray(np.sqrt(w)[:, None] * (Z - mean))


def _same_factor(r, reference, rtol):
    """Equal R factors up to the signs of their rows (R is unique up to them)."""
    assert_allclose(np.abs(r), np.abs(reference), rtol=rtol, atol=rtol * np.abs(reference).max())


def _correlated(rng, n, k, offset=0.0):
    A = rng.standard_normal((n, k)) @ rng.standard_normal((k, k)) + offset
    return A


def test_preconditioned_block_equals_numpy_householder():
    rng = np.random.default_rng(0)
    A = _centred(_correlated(rng, 3000, 12, offset=1e4))
    neighbour = _centred(_correlated(np.random.default_rng(0), 3000, 12, offset=1e4)[::-1] * 1.1)
    preconditioner = householder_r(neighbour, 12)
    r, following = block_r_factor(A.copy(order="F"), preconditioner)
    _same_factor(r, np.linalg.qr(A, mode="r"), 1e-12)
    assert following is r


def test_block_without_preconditioner_is_cholesky_qr2():
    rng = np.random.default_rng(1)
    A = _centred(_correlated(rng, 2000, 9))
    kept = A.copy(order="F")
    r, _ = block_r_factor(A)  # no refill: A is left as it was
    assert_array_equal(A, kept)
    _same_factor(r, np.linalg.qr(kept, mode="r"), 1e-12)
    assert np.all(np.diag(r) > 0)  # a Cholesky factor, not Householder's signs


@pytest.mark.parametrize("case", ["constant column", "fewer rows than columns", "Filip"])
def test_blocks_cholesky_qr_cannot_trust_are_factored_by_householder(case):
    rng = np.random.default_rng(2)
    if case == "constant column":
        A = _centred(np.column_stack([rng.standard_normal((500, 4)), np.full(500, 3.0)]))
    elif case == "fewer rows than columns":
        A = _centred(rng.standard_normal((6, 9)))
    else:
        problem = load("Filip")
        A = _centred(np.column_stack([problem.X, problem.y]))
    original = A.copy(order="F")

    def refill():
        A[...] = original

    r, _ = block_r_factor(A, None, refill)
    assert_array_equal(r, householder_r(original, original.shape[1]))


def test_a_misleading_preconditioner_is_refused_and_the_block_refilled():
    rng = np.random.default_rng(3)
    original = _centred(_correlated(rng, 4000, 10))
    A = original.copy(order="F")
    misleading = np.diag(10.0 ** np.arange(10))  # scales nothing like the block
    refills = []

    def refill():
        refills.append(1)
        A[...] = original

    r, _ = block_r_factor(A, misleading, refill)
    assert refills == [1]
    _same_factor(r, np.linalg.qr(original, mode="r"), 1e-12)


def test_many_blocks_with_weights_equal_one_householder_qr():
    rng = np.random.default_rng(4)
    k = 60
    n = 3 * block_rows(k + 1) + 123  # four blocks, the last one short
    X = _correlated(rng, n, k, offset=50.0)
    X[n // 2 :] *= 3.0  # later blocks unlike the first: preconditioners are refused
    y = X @ rng.standard_normal(k) + 1e-3 * rng.standard_normal(n)
    w = rng.uniform(0, 2, n) * (rng.uniform(size=n) > 0.1)
    with single_blas_thread():  # as the estimators map chunks; threads only contend here
        stats = QRStats.from_arrays(X, y, w)
        reference = np.linalg.qr(_centred(np.column_stack([X, y]), w), mode="r")
    _same_factor(stats.r, reference, 1e-10)
    assert_allclose(stats.mean, w @ np.column_stack([X, y]) / w.sum(), rtol=1e-13)


@pytest.mark.parametrize("name,tiles", [("Filip", 400), ("Wampler4", 4000), ("Wampler5", 4000)])
def test_tiled_nist_designs_spanning_blocks_keep_the_certified_digits(name, tiles):
    """Each copy of the rows leaves the least-squares coefficients as certified."""
    problem = load(name)
    X, y = np.tile(problem.X, (tiles, 1)), np.tile(problem.y, tiles)
    assert len(y) > block_rows(X.shape[1] + 1)  # the fit crosses block boundaries
    est = CumulativeLinearRegression(solver="qr", fit_intercept=problem.fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Filip's conditioning is announced; not checked here
        est.fit(X, y)
    assert lre(est.results().params, problem.params).min() >= QR_COEF[name]
