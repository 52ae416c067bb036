"""partial_fit merges statistics and defers the solve until the fit is read.

A loop of ``partial_fit`` calls costs one solve; the fit read afterwards is
always that of every chunk merged so far (never a stale one), equal to
``fit`` on the same rows; pickling, ``clone`` and a failed call keep this.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skbigreg.base import CumulativeMixin
from skbigreg.linear_model import CumulativeLassoCV, CumulativeLinearRegression
from test_contract import CASES, IDS, _case_chunks, _data, _labels

LAZY = [(case, id_) for case, id_ in zip(CASES, IDS)
        if case.partial_fit == "labels" and isinstance(case.make(), CumulativeMixin)]


_PROBE = np.random.default_rng(9).normal(size=(5, 3))


def _fit_of(est):
    """The solved quantities a user reads."""
    out = {"prediction": est.predict(_PROBE, **_probe_labels(est))}
    for name in ("coef_", "intercept_", "alpha_", "l1_ratio_", "best_params_"):
        if hasattr(est, name):
            out[name] = getattr(est, name)
    return out


def _probe_labels(est):
    """Grouped models predict per partition: probe the first partition."""
    if hasattr(est, "partitions_"):
        return {"partitions": np.repeat(est.partitions_[0], len(_PROBE))}
    return {}


def _assert_same_fit(a, b, rtol):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert a[key] == b[key], key
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=1e-12, err_msg=key)


def _partial(case, chunks):
    return _partial_onto(case.make(), chunks)


def _counting_solves(monkeypatch, est):
    calls = []
    solve = type(est)._solve

    def counted(self):
        calls.append(1)
        return solve(self)

    monkeypatch.setattr(type(est), "_solve", counted)
    return calls


@pytest.mark.parametrize("case", [c for c, _ in LAZY], ids=[i for _, i in LAZY])
def test_a_partial_fit_loop_solves_once_and_equals_fit(monkeypatch, case):
    X, y, w, g = _data(case, n=400)
    chunks = _case_chunks(case, X, y, w, g, np.linspace(0, 400, 9).astype(int))
    calls = _counting_solves(monkeypatch, case.make())
    est = _partial(case, chunks)
    assert calls == []  # eight chunks merged, nothing solved yet
    fitted = _fit_of(est)
    assert len(calls) == 1
    _fit_of(est)
    assert len(calls) == 1  # read again: solved already
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = case.make().fit(X, y, sample_weight=w, **_labels(case, g))
    _assert_same_fit(fitted, _fit_of(reference), case.rtol)


@pytest.mark.parametrize("case", [c for c, _ in LAZY], ids=[i for _, i in LAZY])
def test_the_fit_read_is_never_stale(case):
    """Read after the first half, then merge the second: the read is of all rows."""
    X, y, w, g = _data(case, n=400)
    chunks = _case_chunks(case, X, y, w, g, [0, 200, 400])
    est = _partial(case, chunks[:1])
    first = _fit_of(est)
    est = _partial_onto(est, chunks[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = case.make().fit(X, y, sample_weight=w, **_labels(case, g))
    _assert_same_fit(_fit_of(est), _fit_of(reference), case.rtol)
    assert not np.allclose(first["prediction"], _fit_of(est)["prediction"], rtol=1e-6)


def _partial_onto(est, chunks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk in chunks:
            chunk = dict(chunk)
            est.partial_fit(chunk.pop("X"), chunk.pop("y"), **chunk)
    return est


@pytest.mark.parametrize("case", [c for c, _ in LAZY], ids=[i for _, i in LAZY])
def test_pickled_and_cloned_before_the_solve(case):
    X, y, w, g = _data(case, n=400)
    chunks = _case_chunks(case, X, y, w, g, [0, 150, 400])
    est = _partial(case, chunks)
    restored = pickle.loads(pickle.dumps(est))
    assert not hasattr(clone(est), "coef_")
    _assert_same_fit(_fit_of(restored), _fit_of(est), 1e-15)


def test_a_failed_partial_fit_keeps_the_unsolved_state_and_its_answer():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), rng.normal(size=300)
    est = CumulativeLinearRegression()
    est.partial_fit(X[:100], y[:100]).partial_fit(X[100:200], y[100:200])
    before = dict(vars(est))
    bad = X[200:].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad, y[200:])
    assert vars(est).keys() == before.keys()
    reference = CumulativeLinearRegression().fit(X[:200], y[:200])
    np.testing.assert_allclose(est.coef_, reference.coef_, rtol=1e-12)


def test_a_chunk_without_positive_weight_is_refused_by_its_own_call():
    """The weight check is not deferred with the solve."""
    est = CumulativeLinearRegression()
    with pytest.raises(ValueError, match="weight"):
        est.partial_fit(np.ones((3, 1)), np.ones(3), sample_weight=np.zeros(3))
    assert not hasattr(est, "stats_")


def test_lasso_cv_partial_fit_does_not_refit_the_path_per_chunk(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 5))
    y = X @ [1.0, 0.0, -0.5, 0.0, 0.2] + rng.normal(size=2000)
    calls = _counting_solves(monkeypatch, CumulativeLassoCV())
    est = CumulativeLassoCV(alphas=20)
    for start in range(0, 2000, 100):
        est.partial_fit(X[start:start + 100], y[start:start + 100])
    assert est.alpha_ > 0 and len(calls) == 1
