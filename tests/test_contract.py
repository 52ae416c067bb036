"""The contract every public estimator keeps, checked the same way for all of them.

Bad rows and bad row labels raise a ``ValueError`` that names the problem and
leave the fitted state exactly as it was (deep compare of ``vars``); a failed
``fit_chunks`` too. Chunking and order do not change the fit beyond 1e-10.
Empty chunks are no-ops, all-zero-weight chunks remove rows. Degenerate
designs give a warning and a finite answer. ``results()`` is the one type.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
import pandas as pd
import pytest

from skbigreg import linear_model as lm
from skbigreg.inference import RegressionResults
from skbigreg.model_selection import FoldGridSearchCV


@dataclass(frozen=True)
class Case:
    """One estimator: how to make it, what it reads, what it promises."""

    make: object
    label: str | None = None  # the row label it reads besides clusters, or None
    target: str = "gaussian"  # "gaussian", "binary" or "count"
    clusters: bool = False  # reads clusters
    inference: bool = True  # has results()
    partial_fit: bool = True
    rtol: float = 1e-10  # chunking/order invariance
    fit_kwargs: dict = field(default_factory=dict)

    @property
    def id(self):
        return type(self.make()).__name__


CASES = [
    Case(lambda: lm.CumulativeLinearRegression(cov_type="HC1"), clusters=True),
    Case(lambda: lm.CumulativeLinearRegression(solver="qr"), clusters=True),
    Case(lambda: lm.CumulativeRidge(alpha=1.0), inference=False),
    Case(lambda: lm.CumulativeLasso(alpha=0.01), inference=False),
    Case(lambda: lm.CumulativeElasticNet(alpha=0.01), inference=False),
    Case(lambda: lm.CumulativeRidgeCV(), label="groups", inference=False),
    Case(lambda: lm.CumulativeLassoCV(alphas=5), label="groups", inference=False),
    Case(lambda: lm.CumulativeElasticNetCV(alphas=5), label="groups", inference=False),
    Case(lambda: FoldGridSearchCV(lm.CumulativeRidge(), {"alpha": [0.1, 1.0]}),
         label="groups", inference=False),
    Case(lambda: lm.CumulativeIVRegression(endogenous=[0], instruments=[2], cov_type="HC1"),
         clusters=True),
    Case(lambda: lm.CumulativeFixedEffectsRegression(cov_type="HC1"), label="entities",
         clusters=True),
    Case(lambda: lm.GroupedLinearRegression(), label="partitions", inference=False),
]

IDS = [case.id + ("-qr" if "qr" in repr(case.make()) else "") for case in CASES]


def _data(case, n=200, seed=0):
    """The issue's set-up: two informative columns, a third, five labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = X @ [1.0, -1.0, 0.5]
    if case.target == "binary":
        y = (eta + rng.logistic(size=n) > 0).astype(float)
    elif case.target == "count":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    else:
        y = eta + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    g = rng.integers(0, 5, n)
    return X, y, w, g


def _labels(case, g):
    labels = {}
    if case.label is not None:
        labels[case.label] = g
    if case.clusters:
        labels["clusters"] = g
    return labels


def _take(labels, rows):
    return {name: None if values is None else values[rows] for name, values in labels.items()}


def _fitted(case, n=200):
    X, y, w, g = _data(case, n)
    est = case.make()
    est.fit(X, y, sample_weight=w, **_labels(case, g))
    return est, (X, y, w, g)


def _state(est):
    return joblib.hash(vars(est))


def _chunks(X, y, w, labels, edges):
    return [{"X": X[a:b], "y": y[a:b], "sample_weight": w[a:b], **_take(labels, slice(a, b))}
            for a, b in zip(edges[:-1], edges[1:])]


# -- bad rows ------------------------------------------------------------------
BAD_ROWS = {
    "nan-X": (lambda X, y, w: (np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X), y, w),
              "NaN"),
    "inf-X": (lambda X, y, w: (np.where(np.arange(X.size).reshape(X.shape) == 4, np.inf, X), y, w),
              "infinity"),
    "nan-y": (lambda X, y, w: (X, np.where(np.arange(len(y)) == 3, np.nan, y), w), "NaN"),
    "features": (lambda X, y, w: (X[:, :2], y, w), "features"),
    "negative-weight": (lambda X, y, w: (X, y, np.where(np.arange(len(w)) == 2, -1.0, w)),
                        "[Nn]egative"),
    "short-weight": (lambda X, y, w: (X, y, w[:-1]), "sample_weight|shape|inconsistent"),
}


@pytest.mark.parametrize("bad", list(BAD_ROWS))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_rows_raise_and_leave_the_fit_as_it_was(case, bad):
    est, (X, y, w, g) = _fitted(case)
    before = _state(est)
    corrupt, message = BAD_ROWS[bad]
    Xb, yb, wb = corrupt(X[:40], y[:40], w[:40])
    labels = _take(_labels(case, g), slice(0, 40))
    with pytest.raises(ValueError, match=message):
        est.partial_fit(Xb, yb, sample_weight=wb, **labels)
    assert _state(est) == before
    chunks = _chunks(X, y, w, _labels(case, g), [0, 100, 200])
    chunks.append({"X": Xb, "y": yb, "sample_weight": wb, **labels})
    with pytest.raises(ValueError, match=message):
        est.fit_chunks(chunks)
    assert _state(est) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_feature_names_raise_and_leave_the_fit_as_it_was(case):
    X, y, w, g = _data(case)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = case.make().fit(frame, y, sample_weight=w, **_labels(case, g))
    before = _state(est)
    renamed = frame.rename(columns={"b": "z"}).iloc[:40]
    with pytest.raises(ValueError, match="feature names"):
        est.partial_fit(renamed, y[:40], sample_weight=w[:40], **_take(_labels(case, g), slice(0, 40)))
    assert _state(est) == before


# -- bad labels ----------------------------------------------------------------
def _bad_labels(case, g):
    """(name of the bad label, labels of a 40-row chunk, message) for each defect."""
    out = []
    for name in _labels(case, g):
        good = g[:40]
        nan = good.astype(float)
        nan[7] = np.nan
        none = good.astype(object)
        none[7] = None
        out += [
            (f"{name}-nan", {name: nan}, f"{name} has 1 missing"),
            (f"{name}-none", {name: none}, f"{name} has 1 missing"),
            (f"{name}-short", {name: good[:-1]}, f"{name} has shape"),
            (f"{name}-missing-later", {name: None}, f"{name} is missing from this chunk"),
            (f"{name}-type-change", {name: good.astype(str)}, f"{name} labels were of type"),
            (f"{name}-mixed", {name: np.array([1, "a"] * 20, dtype=object)},
             f"{name} mixes labels"),
        ]
    return out


LABEL_CASES = [(case, bad) for case in CASES for bad in range(6 * len(_labels(case, np.zeros(1))))]


@pytest.mark.parametrize(
    "case, index", LABEL_CASES,
    ids=[f"{IDS[CASES.index(case)]}-{index}" for case, index in LABEL_CASES],
)
def test_bad_labels_raise_naming_the_label_and_leave_the_fit_as_it_was(case, index):
    est, (X, y, w, g) = _fitted(case)
    before = _state(est)
    name, bad, message = _bad_labels(case, g)[index]
    labels = {**_take(_labels(case, g), slice(0, 40)), **bad}
    with pytest.raises(ValueError, match=message):
        est.partial_fit(X[:40], y[:40], sample_weight=w[:40], **labels)
    assert _state(est) == before
    chunks = _chunks(X, y, w, _labels(case, g), [0, 100, 200])
    chunks.append({"X": X[:40], "y": y[:40], "sample_weight": w[:40], **labels})
    with pytest.raises(ValueError, match=message):
        est.fit_chunks(chunks)
    assert _state(est) == before


@pytest.mark.parametrize("case", [c for c in CASES if _labels(c, np.zeros(1))],
                         ids=[IDS[i] for i, c in enumerate(CASES) if _labels(c, np.zeros(1))])
def test_a_label_given_later_but_not_at_first_is_refused(case):
    X, y, w, g = _data(case)
    est = case.make().partial_fit(X[:100], y[:100], sample_weight=w[:100])
    before = _state(est)
    with pytest.raises(ValueError, match="is given with this chunk but was not"):
        est.partial_fit(X[100:], y[100:], sample_weight=w[100:], **_take(_labels(case, g), slice(100, 200)))
    assert _state(est) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_chunk_label_the_estimator_does_not_read_is_refused(case):
    X, y, w, g = _data(case)
    unread = next(name for name in ("entities", "partitions", "groups", "clusters")
                  if name not in _labels(case, g))
    chunks = _chunks(X, y, w, {**_labels(case, g), unread: g}, [0, 100, 200])
    with pytest.raises(ValueError, match=f"'{unread}'.*does not read"):
        case.make().fit_chunks(chunks)


@pytest.mark.parametrize("chunk", [(np.ones((3, 3)), np.ones(3), np.ones(3)),
                                   {"X": np.ones((3, 3)), "y": np.ones(3), "entity": np.ones(3)}])
def test_chunks_name_their_fields(chunk):
    """Defect 1: a third element was read as weights (firm ids became weights)."""
    with pytest.raises(TypeError, match="e.g. {'X': X"):
        lm.CumulativeLinearRegression().fit_chunks([chunk])


# -- fit_chunks is all or nothing ------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_failed_fit_chunks_leaves_the_previous_fit(case):
    est, (X, y, w, g) = _fitted(case)
    before = _state(est)
    chunks = _chunks(X, y, w, _labels(case, g), [0, 50, 100, 150, 200])
    chunks[2] = {**chunks[2], "y": np.full(50, np.nan)}
    with pytest.raises(ValueError, match="NaN"):
        est.fit_chunks(chunks)
    assert _state(est) == before


# -- chunking and order -----------------------------------------------------------
def _compare(case, est, ref, inference=True):
    est, ref = getattr(est, "best_estimator_", est), getattr(ref, "best_estimator_", ref)
    coef, expected = np.asarray(est.coef_, float), np.asarray(ref.coef_, float)
    scale = np.abs(expected).max() + 1e-300
    np.testing.assert_allclose(coef, expected, rtol=0, atol=case.rtol * scale)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=0, atol=case.rtol * scale)
    if case.inference and inference:
        np.testing.assert_allclose(np.asarray(est.results().bse), np.asarray(ref.results().bse),
                                   rtol=case.rtol * 100)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_random_chunkings_and_orders_give_the_same_fit(case, seed):
    X, y, w, g = _data(case)
    ref = case.make().fit(X, y, sample_weight=w, **_labels(case, g))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    edges = np.unique(np.concatenate([[0, len(X)], rng.integers(1, len(X), 5)]))
    labels = _take(_labels(case, g), order)
    chunks = _chunks(X[order], y[order], w[order], labels, edges)
    _compare(case, case.make().fit_chunks(chunks), ref)
    streamed = case.make()
    for chunk in chunks:
        streamed.partial_fit(**chunk)
    if hasattr(streamed, "partial_fit_scores"):  # the second pass, where errors need it
        accepted = inspect.signature(streamed.partial_fit_scores).parameters
        for chunk in chunks:
            streamed.partial_fit_scores(**{k: v for k, v in chunk.items() if k in accepted})
    _compare(case, streamed, ref)


# -- empty and zero-weight chunks ---------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_chunks_are_no_ops_and_still_checked(case):
    est, (X, y, w, g) = _fitted(case)
    before = _state(est)
    labels = _take(_labels(case, g), slice(0, 0))
    est.partial_fit(X[:0], y[:0], sample_weight=w[:0], **labels)
    assert _state(est) == before
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:0, :2], y[:0], sample_weight=w[:0], **labels)
    chunks = _chunks(X, y, w, _labels(case, g), [0, 0, 100, 100, 200, 200])
    _compare(case, case.make().fit_chunks(chunks), est)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_chunk_of_zero_weights_removes_its_rows(case):
    X, y, w, g = _data(case)
    kept = _take(_labels(case, g), slice(0, 150))
    ref = case.make().fit(X[:150], y[:150], sample_weight=w[:150], **kept)
    est = case.make().fit(X[:150], y[:150], sample_weight=w[:150], **kept)
    zero = _take(_labels(case, g), slice(150, 200))
    est.partial_fit(X[150:], y[150:], sample_weight=np.zeros(50), **zero)
    # Coefficients only: analytic weights count rows in the degrees of freedom
    # (as statsmodels' WLS does), so errors differ by the row count.
    _compare(case, est, ref, inference=False)
    with pytest.raises(ValueError, match="zero"):
        case.make().fit(X[150:], y[150:], sample_weight=np.zeros(50), **zero)


# -- degenerate designs -----------------------------------------------------------
DEGENERATE = {
    "constant": lambda X: np.column_stack([X, np.full(len(X), 3.0)]),
    "duplicated": lambda X: np.column_stack([X, X[:, 1]]),
    "collinear": lambda X: np.column_stack([X, X[:, 0] - 2 * X[:, 1]]),
    "p-greater-than-n": lambda X: np.column_stack([X, np.random.default_rng(1).normal(size=(len(X), 12))]),
}


@pytest.mark.parametrize("design", list(DEGENERATE))
@pytest.mark.parametrize("case", [c for c in CASES if c.inference], ids=[i for i, c in zip(IDS, CASES) if c.inference])
def test_degenerate_designs_warn_and_give_a_finite_answer(case, design):
    X, y, w, g = _data(case, n=10 if design == "p-greater-than-n" else 200)
    Xd = DEGENERATE[design](X)
    with pytest.warns(UserWarning):
        est = case.make().fit(Xd, y, sample_weight=w, **_labels(case, g))
    assert np.isfinite(est.coef_).all()


@pytest.mark.parametrize("case", [c for c in CASES if c.clusters], ids=[i for i, c in zip(IDS, CASES) if c.clusters])
def test_one_cluster_warns_instead_of_dividing_by_zero(case):
    X, y, w, g = _data(case)
    labels = {**_labels(case, g), "clusters": np.zeros(len(X), dtype=int)}
    est = case.make().fit(X, y, sample_weight=w, **labels)
    with pytest.warns(UserWarning, match="cluster"):
        res = est.results("cluster")
    assert np.isfinite(res.params).all()


# -- results ------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CASES if c.inference], ids=[i for i, c in zip(IDS, CASES) if c.inference])
def test_results_is_the_one_type(case):
    est, _ = _fitted(case)
    res = est.results()
    assert isinstance(res, RegressionResults)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.conf_int(alpha=0.1)
        res.summary()
