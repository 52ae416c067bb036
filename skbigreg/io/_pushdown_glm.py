"""SQL push-down of one IRLS pass (logistic and Poisson regression, canonical links).

# z = eta + (y - mu) / V(mu),  W = w V(mu),  s = w (y - mu) [1, x]   (canonical links: nu = 1)

At given coefficients each row's linear predictor, mean, variance and
working response are computed in SQL, and the database returns the
weighted co-moments of ``[x, z]`` centred about a given shift (the
previous pass's means: ``sum W (v - c)``, ``sum W (v - c)(v - c)'``, then
corrected exactly to the weighted means -- never raw sums), the count of
saturated rows and, on the pass at the final coefficients, the deviance,
Pearson statistic, score outer products (per cluster too) and the sums of
the log-likelihood. The convergence loop stays in Python
(:mod:`skbigreg.solvers._irls_streamed`), one query per pass.

The formulas are those of :func:`skbigreg.passes.irls_pass` for these two
families: the logistic mean and its complement each from the stable form
(no overflow), ``log mu`` and ``log(1 - mu)`` without underflow; the
Poisson mean ``exp(eta)`` with ``eta`` capped at 709 (beyond, a double
overflows; only a diverging trial step goes there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._pushdown import _corrected, _params, _symmetric

# As skbigreg.passes._irls: a row is saturated at the support's edge.
_SATURATED = 1e-8
_SUPPORTED = {("binomial", "logit"), ("poisson", "log")}
_EXP_CAP = 709.0


@dataclass(frozen=True)
class IRLSSums:
    """One IRLS pass's sums (arrays; :mod:`skbigreg.passes` builds the :class:`IRLSPass`)."""

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    comoment: np.ndarray
    n_saturated: int
    complete: dict | None  # deviance, pearson, meat, cluster labels/sums, likelihood terms


def check_family(family, link):
    """Refuse a family or link whose pass is not compiled to SQL."""
    if (family.name, link.name) not in _SUPPORTED:
        raise ValueError(
            f"A SQL push-down runs IRLS for logistic (binomial, logit link) and Poisson "
            f"(log link) regression; got family {family.name!r} with link {link.name!r}. "
            "Pull the rows instead (fit_chunks(read_sql(...)))."
        )


def response_outside(pushdown, family, binary):
    """The SQL condition of a response outside the family's support (as ``check_y``)."""
    y = f"z{pushdown._size() - 1}"
    if binary:
        return f"{y} <> 0 AND {y} <> 1"
    return {"poisson": f"{y} < 0", "binomial": f"{y} < 0 OR {y} > 1"}[family.name]


def check_response(pushdown, family, binary, n_outside):
    """Refuse responses outside the family's support: ``n_outside`` rows meet
    :func:`response_outside` (counted by the first query's scan)."""
    if n_outside:
        target = pushdown.target
        if binary:
            raise ValueError(f"target: column {target!r} has {n_outside} value(s) other "
                             "than 0 and 1; a push-down logistic fit needs the event coded 1.")
        support = {"poisson": "non-negative responses (y >= 0)",
                   "binomial": "responses in [0, 1] (proportions)"}[family.name]
        raise ValueError(f"target: column {target!r} has {n_outside} value(s) outside "
                         f"the support: the {family.name} family needs {support}.")


def irls_sums(pushdown, family, *, coef, intercept, columns, shift, fit_intercept, complete,
              response_mean):
    """One IRLS pass at ``(coef, intercept)`` over ``columns`` of the features.

    ``coef`` None starts from the family's starting means (Poisson's reads
    ``response_mean``, which also centres the response's own moments).
    ``shift`` centres the co-moments of ``[x[columns], z]`` (any fixed
    centre is exact; a close one keeps the digits).
    """
    k = len(columns)
    y = f"z{pushdown._size() - 1}"
    names = [f"c{j}" for j in range(k + 1)] + ["my"]
    values = [*shift, response_mean]
    if coef is not None:
        names += ["b0"] + [f"b{j + 1}" for j in range(k)]
        values += [intercept, *coef]
    eta = _eta(family, coef, columns, y)
    mean_parts = _mean_parts(family, y)
    # Each stage is fenced: its columns (eta, mu, var, ...) are computed once
    # per row, not inlined into every expression that reads them.
    fence = pushdown.relation.driver.fence
    sql = ("WITH " + pushdown._src(with_clusters=complete and pushdown.clusters is not None)
           + ", " + _params("p", None, np.asarray(values, dtype=float), names)
           + f", a AS (SELECT src.*, {eta} AS eta FROM src CROSS JOIN p{fence})"
           + f", b AS (SELECT a.*, {mean_parts} FROM a{fence})"
           + ", s AS (SELECT b.*, CASE WHEN (var <= " + repr(_SATURATED) + f" AND ABS({y} - mu) <= "
           + repr(_SATURATED) + f") OR var <= 0 THEN 1 ELSE 0 END AS sat FROM b{fence})"
           + ", q AS (SELECT s.*, CASE WHEN sat = 1 THEN 0.0 "
           + f"ELSE w * var END AS ww, w * ({y} - mu) AS score, " + ", ".join(
               [f"z{columns[j]} - p.c{j} AS u{j}" for j in range(k)]
               + [f"CASE WHEN sat = 1 THEN eta ELSE eta + ({y} - mu) / var END - p.c{k} AS u{k}"])
           + f" FROM s CROSS JOIN p{fence})")
    items = ["COUNT(*) AS n", "SUM(ww) AS sw",
             "SUM(CASE WHEN sat = 1 AND w > 0 THEN 1 ELSE 0 END) AS nsat"]
    items += [f"SUM(ww * u{j}) AS d{j}" for j in range(k + 1)]
    items += [f"SUM(ww * u{i} * u{j}) AS c{i}_{j}" for i, j in zip(*np.triu_indices(k + 1))]
    grouped = complete and pushdown.clusters is not None
    if complete:
        items += _complete_items(family, pushdown, columns, fit_intercept, y)
    sql += (" SELECT " + ("g, " if grouped else "") + ", ".join(items) + " FROM q CROSS JOIN p"
            + (" GROUP BY g" if grouped else ""))
    table = pushdown.relation.run(sql)
    columns_out = {name: table.column(name).to_numpy(zero_copy_only=False)
                   for name in table.column_names}
    labels = None
    if grouped:
        order = np.argsort(columns_out["g"], kind="stable")
        columns_out = {name: values[order] for name, values in columns_out.items()}
        labels = columns_out.pop("g")
    total = {name: _number_sum(values) for name, values in columns_out.items()}
    weight_sum = float(total["sw"])
    shift_out, comoment = _corrected(total, k + 1, weight_sum)
    extra = None
    if complete:
        size = k + int(fit_intercept)
        extra = {
            "deviance": float(total["dev"]), "pearson": float(total["pearson"]),
            "meat": _symmetric(total, "h", size),
            "cluster_labels": labels,
            "cluster_sums": None if labels is None else np.column_stack(
                [np.asarray(columns_out[f"s{j}"], dtype=float) for j in range(size)]),
            "likelihood": {name: total.get(name) for name in
                           ("log_w", "w_log_w", "loglike", "w_const", "wmin", "wmax")},
            "response": (float(total["sw_y"]), float(total["dy"]), float(total["cyy"])),
        }
    return IRLSSums(int(total["n"]), weight_sum, np.asarray(shift, dtype=float) + shift_out,
                    comoment, int(total["nsat"]), extra)


def _number_sum(values):
    values = np.asarray(values)
    if values.dtype == object:
        values = np.array([np.nan if v is None else v for v in values], dtype=float)
    if values.size and np.all(np.isnan(values.astype(float))):
        return None
    return float(np.nansum(values.astype(float)))


def _eta(family, coef, columns, y):
    if coef is None:  # the family's starting means, as Family.start_mu
        if family.name == "binomial":
            return f"LN(({y} + 0.5) / 2 / (1 - ({y} + 0.5) / 2))"
        return f"LN(({y} + p.my) / 2)"
    terms = ["p.b0"] + [f"z{columns[j]} * p.b{j + 1}" for j in range(len(columns))]
    return " + ".join(terms)


def _mean_parts(family, y):
    """``mu``, ``var`` (= the Fisher weight, canonical links), ``lmu``, ``lcm``."""
    if family.name == "binomial":
        mu = "CASE WHEN eta >= 0 THEN 1 / (1 + EXP(-eta)) ELSE EXP(eta) / (1 + EXP(eta)) END"
        cm = "CASE WHEN eta >= 0 THEN EXP(-eta) / (1 + EXP(-eta)) ELSE 1 / (1 + EXP(eta)) END"
        lmu = "CASE WHEN eta >= 0 THEN -LN(1 + EXP(-eta)) ELSE eta - LN(1 + EXP(eta)) END"
        lcm = "CASE WHEN eta >= 0 THEN -eta - LN(1 + EXP(-eta)) ELSE -LN(1 + EXP(eta)) END"
        # the logit link's h'(eta) = mu (1 - mu) from mu and its complement
        return (f"{mu} AS mu, ({mu}) * ({cm}) AS var, {lmu} AS lmu, {lcm} AS lcm")
    cap = repr(_EXP_CAP)
    return (f"EXP(LEAST(eta, {cap})) AS mu, EXP(LEAST(eta, {cap})) AS var, "
            f"LEAST(eta, {cap}) AS lmu, 0.0 AS lcm")


def _complete_items(family, pushdown, columns, fit_intercept, y):
    """Deviance, Pearson, scores ``w (y - mu) [1, x]`` and likelihood sums."""
    k = len(columns)
    design = (["1"] if fit_intercept else []) + [f"z{columns[j]}" for j in range(k)]
    # each row's score w (y - mu) is a column of the pass's last stage
    items = [f"SUM(score * {design[j]}) AS s{j}" for j in range(len(design))]
    items += [f"SUM(score * score * {design[i]} * {design[j]}) AS h{i}_{j}"
              for i, j in zip(*np.triu_indices(len(design)))]
    xlogy = "CASE WHEN {a} = 0 THEN 0 ELSE {a} * LN({a}) END"
    if family.name == "binomial":
        unit = (xlogy.format(a=y) + " + " + xlogy.format(a=f"(1 - {y})")
                + f" - CASE WHEN {y} = 0 THEN 0 ELSE {y} * lmu END"
                + f" - CASE WHEN {y} = 1 THEN 0 ELSE (1 - {y}) * lcm END")
        loglike = (f"CASE WHEN {y} = 0 THEN 0 ELSE {y} * lmu END"
                   f" + CASE WHEN {y} = 1 THEN 0 ELSE (1 - {y}) * lcm END")
        const = f"-LGAMMA({y} + 1) - LGAMMA(2 - {y})"  # log Gamma(2) = 0
    else:
        unit = f"CASE WHEN {y} = 0 THEN 0 ELSE {y} * (LN({y}) - lmu) END - ({y} - mu)"
        loglike = f"CASE WHEN {y} = 0 THEN 0 ELSE {y} * lmu END - mu"
        const = f"LGAMMA({y} + 1)"
    items += [f"SUM(w * ({unit})) * 2 AS dev",
              f"SUM(CASE WHEN var > 0 THEN w * ({y} - mu) * ({y} - mu) / var END) AS pearson",
              "SUM(CASE WHEN w > 0 THEN LN(w) END) AS log_w",
              "SUM(CASE WHEN w > 0 THEN w * LN(w) ELSE 0 END) AS w_log_w",
              f"SUM(w * ({loglike})) AS loglike",
              "MIN(w) AS wmin", "MAX(w) AS wmax",
              "SUM(w) AS sw_y"]
    if pushdown.relation.driver.lgamma:
        items.append(f"SUM(w * ({const})) AS w_const")
    # the response's own moments, centred about its mean from query 1
    items += [f"SUM(w * ({y} - p.my)) AS dy", f"SUM(w * ({y} - p.my) * ({y} - p.my)) AS cyy"]
    return items


def response_constant(pushdown, family):
    """``sum w c(y)`` through a ``GROUP BY`` the response, for engines without
    ``LGAMMA`` (PostgreSQL): Poisson ``log y!``, binomial ``-log C(1, y)``."""
    from scipy import special

    y = f"z{pushdown._size() - 1}"
    table = pushdown.relation.run("WITH " + pushdown._src() + f" SELECT {y} AS y, SUM(w) AS sw "
                                  "FROM src GROUP BY " + y)
    values = np.asarray(table.column("y").to_numpy(zero_copy_only=False), dtype=float)
    weights = np.asarray(table.column("sw").to_numpy(zero_copy_only=False), dtype=float)
    if family.name == "poisson":
        return float(weights @ special.gammaln(values + 1))
    return float(weights @ (-special.gammaln(values + 1) - special.gammaln(2 - values)))
