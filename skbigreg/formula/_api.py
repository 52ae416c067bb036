"""Fit any estimator from a formula: freeze the encoding, then stream encoded chunks."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from formulaic import Formula
from sklearn.base import clone

from ..exceptions import CollinearityWarning
from ..io import ChunkSource, ScanReport
from ..linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeGLM,
    CumulativeIVRegression,
    CumulativeLinearRegression,
    CumulativeLogisticRegression,
    CumulativePoissonFixedEffects,
)
from ._data import frame_source
from ._parse import FormulaParts, parse_formula, split_parts
from ._spec import freeze

# Absorbed factors CumulativeIVRegression takes in one fit (``entities``, one
# column); CumulativeFixedEffectsRegression takes any number (a table label).
_MAX_ABSORBED_IV = 1


def _absorbs(estimator_class):
    """Does the estimator absorb fixed effects (an ``entities`` label in ``fit``)?"""
    return "entities" in inspect.signature(estimator_class.fit).parameters

_ENCODING_DOC = """levels : dict, optional
        Declared levels of categorical columns, ``{column: [levels]}``, in
        encoding order (the first is the reference level). Undeclared
        categorical columns are discovered in a first pass over only their
        columns.
    unseen : {"raise", "other"}, default="raise"
        A value of a declared column that is not among its levels: raise a
        ValueError naming the column and the level, or (``"other"``) count
        it in an extra level ``"other"``.
    missing : {"drop", "raise"}, default="drop"
        Rows with a missing value in a used column (or NaN in the design,
        e.g. ``np.log`` of a negative number) are dropped, as statsmodels'
        ``missing="drop"``, and counted in ``formula_report_``; or refused.
    chunk_rows : int, optional
        Rows per chunk when ``data`` is an in-memory frame or files
        (default 65,536)."""

# Parameter lines several formula functions share word for word; the
# functions' docstrings are templates filled with these (``{encoding}``...).
_SHARED_DOC = {
    "encoding": _ENCODING_DOC,
    "source": "formula : str\n    data : DataFrame, path, iterable of DataFrames or Dask DataFrame",
    "labels": 'weights : str, optional\n    cov_type : str, default="nonrobust"\n'
              "    clusters : str, optional\n    " + _ENCODING_DOC,
}


def fit_formula(estimator, formula, data, *, weights=None, clusters=None, groups=None,
                partitions=None, entities=None, levels=None, unseen="raise", missing="drop",
                chunk_rows=None):
    """Fit a copy of ``estimator`` on the design a formula makes of ``data``.

    The encoding (categorical levels, state of ``center``/``scale``/spline
    transforms) is frozen before the statistics pass and applied to every
    chunk; see :ref:`formulas`. The formula decides the intercept: an
    estimator with ``fit_intercept`` gets ``fit_intercept=True`` unless the
    formula removes it (``- 1`` or ``0 +``), and formulaic's ``Intercept``
    column becomes the estimator's intercept (``const`` in ``results()``).

    Parameters
    ----------
    estimator : estimator
        Any skbigreg estimator with ``fit_chunks`` (it is cloned, not changed).
    formula : str
        A formulaic (statsmodels/patsy-style) formula ``"y ~ x1 + C(g) + np.log(x2)"``.
    data : DataFrame, path, iterable of DataFrames or Dask DataFrame
        A pandas, polars or pyarrow frame; a parquet/CSV file, list of files,
        glob or directory; an iterable of frames (a list, or a callable
        returning a fresh iterator); a Dask DataFrame.
    weights : str, optional
        Column of sample weights.
    clusters, groups, partitions, entities : str, optional
        Columns of row labels (read as they are, not encoded).
    {encoding}

    Returns
    -------
    estimator
        The fitted copy, with ``design_spec_`` (a :class:`FormulaSpec`, also
        named ``formula_spec_``: its own ``predict``, ``score`` and
        ``results().get_prediction`` encode frames of raw rows with it, as
        do :func:`predict` and :func:`get_prediction`) and
        ``formula_report_`` (a :class:`~skbigreg.io.ScanReport`: rows read
        and dropped, per column, in the last pass).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import fit_formula
    >>> from skbigreg.linear_model import CumulativeRidge
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.normal(size=100), "g": rng.choice(["a", "b"], 100)}})
    >>> df["y"] = df["x"] + (df["g"] == "b") + rng.normal(size=100)
    >>> model = fit_formula(CumulativeRidge(alpha=1.0), "y ~ x + g", df)
    >>> list(model.feature_names_in_)
    ['x', 'g[T.b]']
    """
    roles = {"sample_weight": weights, "clusters": clusters, "groups": groups,
             "partitions": partitions, "entities": entities}
    parts = parse_formula(formula, caller="fit_formula")
    return _fit(estimator, parts, data, roles, levels, unseen, missing, chunk_rows)


fit_formula.__doc__ = fit_formula.__doc__.format(**_SHARED_DOC)


def _fit(estimator, parts, data, roles, levels, unseen, missing, chunk_rows,
         formula=None, column_params=None):
    """Freeze the encoding of ``formula`` (default: ``parts.main``), then fit a clone."""
    source = frame_source(data, chunk_rows)
    spec = freeze(formula or parts.main, source, roles=roles, levels=levels, unseen=unseen,
                  missing=missing)
    model = clone(estimator)
    params = model.get_params(deep=False)
    if "fit_intercept" in params:  # else it absorbs the intercept (fixed effects)
        model.set_params(fit_intercept=spec.has_intercept)
    if column_params is not None:  # parameters naming design columns (IV's instruments)
        model.set_params(**column_params(spec))
    passes = []
    model.fit_chunks(ChunkSource(lambda: _encoded(spec, source, passes), source.reiterable))
    report, ranges = passes[-1] if passes else (ScanReport(), None)
    _warn_constant(spec, ranges)
    model.design_spec_ = spec  # the protocol predict/get_prediction read (skbigreg.base)
    model.formula_spec_ = spec
    model.formula_report_ = report
    return model


def _encoded(spec, source, passes):
    """One pass of encoded chunks; its report and column ranges are kept when it completes.

    Chunks stay in Arrow where the source gives Arrow (files, Arrow
    tables), with the columns only looked up in their levels read
    dictionary-encoded, as parquet stores them.
    """
    report, ranges = ScanReport(), None
    for frame in source.batches(spec.columns, dictionary=spec.dictionary_columns):
        chunk = spec.encode(frame, report)
        if chunk.n_rows:
            ranges = _ranges(chunk.X.to_numpy(), ranges)
            yield chunk
    passes.append((report, ranges))


def _ranges(X, ranges):
    """Each column's (min, max) over the chunks so far, ``X`` included.

    Only columns constant so far are scanned: a column that varied once
    never becomes constant again, and its range no longer matters.
    """
    if ranges is None:
        return X.min(axis=0), X.max(axis=0)
    low, high = ranges
    open_ = np.flatnonzero(low == high)
    if len(open_):
        part = X[:, open_]
        low[open_] = np.minimum(low[open_], part.min(axis=0))
        high[open_] = np.maximum(high[open_], part.max(axis=0))
    return low, high


def _warn_constant(spec, ranges):
    """Name the terms constant over every row used: collinear with the intercept.

    The estimator's own collinearity handling gives the answer; this says
    which formula term caused it.
    """
    if ranges is None or not spec.has_intercept:
        return
    constant = [name for name, low, high in zip(spec.feature_names, *ranges) if low == high]
    if constant:
        warnings.warn(
            f"The term(s) {constant} are constant over every row used, so collinear with "
            "the intercept; drop them from the formula (or remove the intercept with '- 1').",
            CollinearityWarning, stacklevel=3,
        )


def ols(formula, data, *, weights=None, cov_type="nonrobust", clusters=None, levels=None,
        unseen="raise", missing="drop", chunk_rows=None, **kwargs):
    """Least squares (OLS, or WLS with ``weights``) from a formula, as statsmodels' ``smf.ols``.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + C(g) + x1:x2"`` (formulaic's syntax, as statsmodels').
    data : DataFrame, path, iterable of DataFrames or Dask DataFrame
        See :func:`fit_formula`.
    weights : str, optional
        Column of analytic weights (statsmodels' WLS).
    cov_type : str, default="nonrobust"
        See :class:`~skbigreg.linear_model.CumulativeLinearRegression`.
    clusters : str, optional
        Column of cluster labels (``cov_type="cluster"``).
    {encoding}
    **kwargs
        Other parameters of :class:`~skbigreg.linear_model.CumulativeLinearRegression`.

    Returns
    -------
    CumulativeLinearRegression
        Fitted, with ``design_spec_`` and ``formula_report_``; its
        ``results()`` names the formula's terms, and its ``predict`` and
        ``results().get_prediction`` take frames of raw rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import ols
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.uniform(1, 2, 200), "g": rng.choice(["a", "b", "c"], 200)}})
    >>> df["y"] = np.log(df["x"]) + (df["g"] == "c") + rng.normal(size=200)
    >>> model = ols("y ~ np.log(x) + C(g, Treatment(reference='b'))", df, chunk_rows=50)
    >>> list(model.results().params.index)
    ['const', 'np.log(x)', "C(g, Treatment(reference='b'))[T.a]", "C(g, Treatment(reference='b'))[T.c]"]
    """
    parts = parse_formula(formula, caller="ols")
    estimator = CumulativeLinearRegression(cov_type=cov_type, **kwargs)
    return _fit(estimator, parts, data, {"sample_weight": weights, "clusters": clusters},
                levels, unseen, missing, chunk_rows)


def feols(formula, data, *, weights=None, cov_type="nonrobust", clusters=None, levels=None,
          unseen="raise", missing="drop", chunk_rows=None):
    """Least squares with absorbed fixed effects, in fixest's syntax ``"y ~ x | fe"``.

    As pyfixest's ``feols``: the effects after ``|`` are absorbed (no
    dummy columns), the other terms are a formulaic formula without an
    intercept. ``"y ~ x"`` (no ``|``) is :func:`ols`; ``"y ~ x | fe | d ~ z"``
    is :func:`iv`.

    One factor (``"y ~ x | firm"``) is absorbed in the statistics pass.
    Two or more (``"y ~ x | worker + firm"``) are absorbed together by
    passes over the data (each encoded by the same frozen spec), so
    ``data`` must be readable again: a frame, files, a list of frames or a
    callable, not a one-shot iterator. See
    :class:`~skbigreg.linear_model.CumulativeFixedEffectsRegression`.

    Parameters
    ----------
    {source}
    weights : str, optional
    cov_type : str, default="nonrobust"
        See :class:`~skbigreg.linear_model.CumulativeFixedEffectsRegression`.
    clusters : str, optional
    {encoding}

    Returns
    -------
    CumulativeFixedEffectsRegression or CumulativeLinearRegression

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import feols
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.normal(size=300), "firm": rng.integers(0, 10, 300)}})
    >>> df["y"] = 2 * df["x"] + df["firm"] + rng.normal(size=300)
    >>> model = feols("y ~ x | firm", df)
    >>> list(model.results().params.index)
    ['x']
    >>> df["year"] = rng.integers(2000, 2005, 300)
    >>> two = feols("y ~ x | firm + year", df)
    >>> two.n_levels_, sorted(two.effects())
    ((10, 5), ['firm', 'year'])
    """
    has_iv = "~" in split_parts(formula)[-1] and len(split_parts(formula)) > 1
    parts = parse_formula(formula, effects=True, iv=has_iv, caller="feols")
    if parts.has_iv:
        return iv(formula, data, weights=weights, cov_type=cov_type, clusters=clusters,
                  levels=levels, unseen=unseen, missing=missing, chunk_rows=chunk_rows)
    roles = {"sample_weight": weights, "clusters": clusters}
    if not parts.effects:
        return _fit(CumulativeLinearRegression(cov_type=cov_type), parts, data, roles, levels,
                    unseen, missing, chunk_rows)
    # several factors: a table label, absorbed by passes over the (re-iterable) data
    roles["entities"] = parts.effects if len(parts.effects) > 1 else parts.effects[0]
    return _fit(CumulativeFixedEffectsRegression(cov_type=cov_type), parts, data, roles, levels,
                unseen, missing, chunk_rows)


def iv(formula, data, *, weights=None, cov_type="nonrobust", clusters=None, levels=None,
       unseen="raise", missing="drop", chunk_rows=None):
    """Two-stage least squares in fixest's syntax: ``"y ~ exog | endog ~ instruments"``.

    ``"y ~ exog | fe | endog ~ instruments"`` absorbs ``fe`` as well (one
    factor, where the IV estimator absorbs effects: ``entities``). Endogenous regressors and instruments are
    formula terms too (``np.log(z)``, ``C(g)``), encoded with the rest.

    Parameters
    ----------
    {source}
    weights : str, optional
    cov_type : str, default="nonrobust"
        See :class:`~skbigreg.linear_model.CumulativeIVRegression`.
    clusters : str, optional
    {encoding}

    Returns
    -------
    CumulativeIVRegression

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import iv
    >>> rng = np.random.default_rng(0)
    >>> z, u = rng.normal(size=(2, 500))
    >>> df = pd.DataFrame({{"z": z, "x": rng.normal(size=500), "d": z + u}})
    >>> df["y"] = df["x"] + 2 * df["d"] + u + rng.normal(size=500)
    >>> list(iv("y ~ x | d ~ z", df).results().params.index)
    ['const', 'x', 'd']
    """
    parts = parse_formula(formula, effects=True, iv=True, caller="iv")
    roles = {"sample_weight": weights, "clusters": clusters}
    if parts.effects:
        most = _MAX_ABSORBED_IV if _absorbs(CumulativeIVRegression) else 0
        _check_absorbed(parts, "CumulativeIVRegression", most)
        roles["entities"] = parts.effects[0]
    lhs, rhs = parts.main.split("~", 1)
    full = f"{lhs.strip()} ~ {rhs.strip()} + {parts.endogenous} + {parts.instruments}"

    def columns(spec):
        return {"endogenous": _part_columns(spec, parts.endogenous, "endogenous", formula),
                "instruments": _part_columns(spec, parts.instruments, "instrument", formula)}

    estimator = CumulativeIVRegression(cov_type=cov_type)
    return _fit(estimator, parts, data, roles, levels, unseen, missing, chunk_rows,
                formula=full, column_params=columns)


def glm(formula, data, *, family="gaussian", link=None, weights=None, cov_type="nonrobust",
        clusters=None, levels=None, unseen="raise", missing="drop", chunk_rows=None, **kwargs):
    """A generalized linear model from a formula, as statsmodels' ``smf.glm``.

    Parameters
    ----------
    {source}
    family, link : str or object
        See :class:`~skbigreg.linear_model.CumulativeGLM`.
    weights : str, optional
        Column of sample weights (the estimator's ``sample_weight``).
    cov_type : str, default="nonrobust"
    clusters : str, optional
    {encoding}
    **kwargs
        Other parameters of :class:`~skbigreg.linear_model.CumulativeGLM`.

    Returns
    -------
    CumulativeGLM

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import glm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.normal(size=300), "g": rng.choice(["a", "b"], 300)}})
    >>> df["n"] = rng.poisson(np.exp(0.5 * df["x"] + (df["g"] == "b")))
    >>> model = glm("n ~ x + g", df, family="poisson")
    >>> list(model.results().params.index)
    ['const', 'x', 'g[T.b]']
    """
    parts = parse_formula(formula, caller="glm")
    estimator = CumulativeGLM(family=family, link=link, cov_type=cov_type, **kwargs)
    return _fit(estimator, parts, data, {"sample_weight": weights, "clusters": clusters},
                levels, unseen, missing, chunk_rows)


def logit(formula, data, *, weights=None, cov_type="nonrobust", clusters=None, levels=None,
          unseen="raise", missing="drop", chunk_rows=None, **kwargs):
    """Logistic regression from a formula, as statsmodels' ``smf.logit`` (response 0/1).

    Parameters
    ----------
    {source}
    {labels}
    **kwargs
        Other parameters of :class:`~skbigreg.linear_model.CumulativeLogisticRegression`.

    Returns
    -------
    CumulativeLogisticRegression

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import logit
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.normal(size=400)}})
    >>> df["bought"] = (rng.random(400) < 1 / (1 + np.exp(-df["x"]))).astype(float)
    >>> list(logit("bought ~ x", df).results().params.index)
    ['const', 'x']
    """
    parts = parse_formula(formula, caller="logit")
    estimator = CumulativeLogisticRegression(cov_type=cov_type, **kwargs)
    return _fit(estimator, parts, data, {"sample_weight": weights, "clusters": clusters},
                levels, unseen, missing, chunk_rows)


def fepois(formula, data, *, weights=None, cov_type="nonrobust", clusters=None, levels=None,
           unseen="raise", missing="drop", chunk_rows=None, **kwargs):
    """Poisson regression with absorbed fixed effects, as pyfixest's ``fepois("y ~ x | fe")``.

    The factors after ``|`` (``"y ~ x | firm"``, ``"y ~ x | worker + firm"``)
    are absorbed by
    :class:`~skbigreg.linear_model.CumulativePoissonFixedEffects` (passes
    over the data every IRLS iteration, so ``data`` must be readable again);
    without ``|`` this is :func:`glm` with ``family="poisson"``.

    Parameters
    ----------
    {source}
    {labels}
    **kwargs
        Other parameters of the estimator (``tol``, ``max_iter``, ``n_jobs``).

    Returns
    -------
    CumulativePoissonFixedEffects or CumulativeGLM

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbigreg.formula import fepois
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({{"x": rng.normal(size=500), "firm": rng.integers(0, 20, 500)}})
    >>> df["n"] = rng.poisson(np.exp(0.5 * df["x"] + df["firm"] / 10))
    >>> model = fepois("n ~ x | firm", df)
    >>> list(model.results().params.index), model.n_levels_
    (['x'], 20)
    """
    parts = parse_formula(formula, effects=True, caller="fepois")
    roles = {"sample_weight": weights, "clusters": clusters}
    if not parts.effects:
        estimator = CumulativeGLM(family="poisson", cov_type=cov_type, **kwargs)
        return _fit(estimator, parts, data, roles, levels, unseen, missing, chunk_rows)
    # several factors: a table label, absorbed by nested passes over the (re-iterable) data
    roles["entities"] = parts.effects if len(parts.effects) > 1 else parts.effects[0]
    return _fit(CumulativePoissonFixedEffects(cov_type=cov_type, **kwargs), parts, data, roles,
                levels, unseen, missing, chunk_rows)


for _function in (ols, feols, iv, glm, logit, fepois):
    _function.__doc__ = _function.__doc__.format(**_SHARED_DOC)


def _check_absorbed(parts: FormulaParts, estimator, most):
    if len(parts.effects) > most:
        what = "absorbed effects" if most == 0 else f"more than {most} absorbed factor"
        raise ValueError(
            f"{estimator} does not absorb {what} yet, and the formula {parts.text!r} asks for "
            f"{parts.effects}; add the effects as dummy terms (e.g. '+ C({parts.effects[-1]})') "
            "or absorb one factor."
        )


def _part_columns(spec, part, role, formula):
    """Design columns of the terms of an IV part (``"d1 + np.log(d2)"``)."""
    terms = [str(term) for term in Formula(part) if str(term) != "1"]
    columns = spec.term_columns(terms)
    if not columns:
        raise ValueError(f"The {role} part {part!r} of {formula!r} names no column of the design.")
    return columns
