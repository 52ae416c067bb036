"""BLAS threads for the small solves between chunks."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _blas_libraries():
    # Found once (inspecting the loaded libraries costs ~1 ms); by the first
    # solve both numpy's and scipy's OpenBLAS are loaded.
    return tuple(lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas")


_state = threading.local()


@contextmanager
def single_blas_thread():
    """Context manager: every BLAS library limited to one thread.

    numpy and scipy wheels each ship their own OpenBLAS. After a K x K scipy
    solve, scipy's idle BLAS threads keep spinning and steal the cores from
    numpy's ``syrk`` on the next chunk (a 3x slowdown of a chunk stream on 2
    cores). K x K solves gain nothing from threads, so they run on one.
    Nested uses (a search solving many candidates) set the limit once.

    Multi-pass models whose BLAS calls are each a few milliseconds (the SMR
    passes: a matrix-vector product over the rows, small Gram blocks) run
    wholly on one thread as well. A threaded call hands half its work to a
    second thread and waits for it; on a machine whose other cores are busy
    that thread waits for a time slice, so the wall time of a fit grows
    far beyond its CPU time and varies between runs and processes
    (measured on 2 loaded cores: an SMR fit at 2.5 s wall for 0.8 s of CPU
    with numpy's OpenBLAS on two threads, 0.96 s for 0.74 s on one).
    """
    if getattr(_state, "active", False):
        yield
        return
    _state.active = True
    # Each library's own get/set calls, not threadpoolctl's generic limiter:
    # a partial_fit loop enters this once per chunk, and the limiter's
    # bookkeeping cost about a tenth of a small chunk's map.
    libraries = _blas_libraries()
    previous = [lib.num_threads for lib in libraries]
    try:
        for lib, threads in zip(libraries, previous):
            if threads != 1:
                lib.set_num_threads(1)
        yield
    finally:
        for lib, threads in zip(libraries, previous):
            if threads != 1:
                lib.set_num_threads(threads)
        _state.active = False
