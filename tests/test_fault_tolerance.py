"""A worker process killed mid-fit: Dask reschedules its tasks, the fit is unchanged."""

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skbigreg.linear_model import CumulativeLinearRegression

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

N_PARTITIONS = 24
SECONDS_PER_PARTITION = 0.25


def _finished(dask_scheduler):
    """Tasks of the slow layer held in memory on some worker (run on the scheduler)."""
    return sum(
        1 for key, ts in dask_scheduler.tasks.items()
        if "slow" in str(key) and ts.state == "memory"
    )


def _kill_one_worker_when_busy(client, timeout=60):
    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(_finished) < 3:
        if time.monotonic() > deadline:
            raise TimeoutError("no partition finished in time")
        time.sleep(0.05)
    pids = client.run(os.getpid)  # worker address -> process id
    victim = pids[sorted(pids)[0]]
    os.kill(victim, signal.SIGKILL)
    return victim


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def _slow(block):
    time.sleep(SECONDS_PER_PARTITION)
    return block


def test_fit_survives_a_killed_worker(cluster):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_PARTITIONS * 500, 4))
    y = X @ [1.0, -2.0, 3.0, 0.5] + rng.normal(size=len(X))
    ref = CumulativeLinearRegression(cov_type="HC1").fit(X, y)
    with distributed.Client(cluster, timeout=30) as client:
        client.wait_for_workers(3, timeout=60)
        Xd = da.from_array(X, chunks=(500, 4)).map_blocks(_slow, name="slow")
        yd = da.from_array(y, chunks=500)
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(CumulativeLinearRegression(cov_type="HC1").fit, Xd, yd)
            killed = _kill_one_worker_when_busy(client)
            est = future.result(timeout=180)
        assert killed not in client.run(os.getpid).values()
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.results().bse, ref.results().bse, rtol=1e-10)
    assert est.n_samples_seen_ == len(X)
