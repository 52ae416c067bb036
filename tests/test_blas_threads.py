"""``single_blas_thread``: every BLAS library on one thread inside, restored after.

Oracle: threadpoolctl's own report of the loaded libraries' thread counts.
"""

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  -- scipy's OpenBLAS loaded, as in a fit
from threadpoolctl import threadpool_info, threadpool_limits

from skbigreg.parallel._blas import single_blas_thread


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_one_thread_inside_and_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with single_blas_thread():
            assert _blas_threads() == [1] * len(before)
            with single_blas_thread():  # nested: still one, and not restored early
                assert _blas_threads() == [1] * len(before)
            assert _blas_threads() == [1] * len(before)
        assert _blas_threads() == before


def test_restored_after_an_error():
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with pytest.raises(ZeroDivisionError):
            with single_blas_thread():
                np.ones(3) @ np.ones(3)
                1 / 0
        assert _blas_threads() == before
        with single_blas_thread():  # usable again after the error
            assert _blas_threads() == [1] * len(before)
