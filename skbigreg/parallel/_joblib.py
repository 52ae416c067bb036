"""joblib's ``Parallel`` over any registered backend, results as they complete.

Thread and process backends (threading, loky, dask) hand results back as
they complete (``return_as="generator_unordered"``), so a stream of chunks
never sits in memory. Backends that cannot (joblibspark's ``"spark"``, which
runs each call as a Spark job) give a list: the calls are still dispatched
a few at a time (``pre_dispatch``), and only their results -- small
statistics -- are held until the end.
"""

from __future__ import annotations

from joblib import Parallel, delayed


def parallel_map(func, items, n_jobs, **kwargs):
    """``func(item, **kwargs)`` for every item on joblib workers, in any order.

    Parameters
    ----------
    func : callable
        A module-level function (it is shipped to workers).
    items : iterable
        Consumed lazily.
    n_jobs : int
        joblib's meaning; the backend is the active one
        (:func:`joblib.parallel_config`), else threads.

    Returns
    -------
    iterable
        The results, in the order the backend delivers them.
    """
    calls = (delayed(func)(item, **kwargs) for item in items)
    try:
        parallel = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator_unordered")
    except ValueError as error:
        if "does not support return_as" not in str(error):
            raise
        parallel = Parallel(n_jobs=n_jobs, prefer="threads", return_as="list")
    return parallel(calls)
