"""Reader for the NIST StRD linear least-squares files in tests/data/nist_strd."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "nist_strd"

# model form per file (not machine-readable in the files; see their README)
POLYNOMIAL_DEGREE = {
    "Norris": 1, "Pontius": 2, "NoInt1": 1, "NoInt2": 1, "Filip": 10,
    "Wampler1": 5, "Wampler2": 5, "Wampler3": 5, "Wampler4": 5, "Wampler5": 5,
}
NO_INTERCEPT = {"NoInt1", "NoInt2"}
_NUMBER = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class NistProblem:
    name: str
    X: np.ndarray
    y: np.ndarray
    fit_intercept: bool
    params: np.ndarray  # certified, intercept first when fitted
    bse: np.ndarray
    resid_std: float
    rsquared: float


def load(name):
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    params, bse = [], []
    for line in lines:
        m = re.match(rf"\s+B\d+\s+({_NUMBER})\s+({_NUMBER})\s*$", line)
        if m:
            params.append(float(m.group(1)))
            bse.append(float(m.group(2)))
    resid_std = _value(lines, "Standard Deviation")
    rsquared = _value(lines, "R-Squared")
    start = next(i for i, l in enumerate(lines) if re.match(r"^Data:\s+y", l))
    data = np.array([[float(v) for v in l.split()] for l in lines[start + 1 :] if l.strip()])
    y, x = data[:, 0], data[:, 1:]
    degree = POLYNOMIAL_DEGREE.get(name)
    X = x if degree is None else np.column_stack([x[:, 0] ** p for p in range(1, degree + 1)])
    return NistProblem(
        name, X, y, name not in NO_INTERCEPT, np.array(params), np.array(bse), resid_std, rsquared
    )


def _value(lines, label):
    for line in lines:
        m = re.match(rf"\s+(?:Residual\s+)?{label}\s+({_NUMBER})\s*$", line)
        if m:
            return float(m.group(1))
    raise ValueError(label)


def lre(estimate, certified):
    """Log relative error, capped at 15 (absolute where the certified value is 0)."""
    estimate, certified = np.atleast_1d(estimate), np.atleast_1d(certified)
    err = np.abs(estimate - certified)
    rel = np.where(certified != 0, err / np.abs(np.where(certified != 0, certified, 1)), err)
    with np.errstate(divide="ignore"):
        return np.minimum(15.0, -np.log10(rel))
