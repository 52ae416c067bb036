"""Which data columns a formula reads, and which of them need a first pass.

Read off the formula's factors (``np.log(x)``, ``C(carrier)``,
``center(age)``) with :mod:`ast`, before any row is read.
"""

from __future__ import annotations

import ast

from formulaic import Formula
from formulaic.parser.types import Factor
from formulaic.transforms import TRANSFORMS

# Transforms whose output for a row depends on other rows of the same chunk:
# chunked, they would silently compute something else.
_ROW_DEPENDENT = {"lag"}


def factor_expressions(formula):
    """The factor expressions of every term on both sides of a formulaic formula."""
    parsed = Formula(formula)
    sides = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed]
    return [factor for side in sides for term in side for factor in term.factors
            if factor.eval_method is not Factor.EvalMethod.LITERAL]


def data_names(factor):
    """Names a factor looks up in the data: ``np.log(x)`` -> ``["x"]``.

    Callables (``np.log``, ``C``, ``center``) and keyword values are not
    data; a name that is not a column is reported by the caller.
    """
    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        return [factor.expr]
    tree = ast.parse(factor.expr, mode="eval")
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            skip.add(id(node.func))
            if isinstance(node.func, ast.Name) and node.func.id == "C":
                # C(column, Sum) / C(column, levels=[...]): the rest is the coding, not data
                rest = node.args[1:] + [keyword.value for keyword in node.keywords]
                skip.update(id(inner) for arg in rest for inner in ast.walk(arg))
        elif isinstance(node, ast.Attribute):
            skip.add(id(node.value))
    names = [node.id for node in ast.walk(tree)
             if isinstance(node, ast.Name) and id(node) not in skip]
    names += [call.args[0].value for call in _calls(tree, "Q")
              if call.args and isinstance(call.args[0], ast.Constant)]
    return list(dict.fromkeys(names))


def is_stateful(factor):
    """Does the factor call a stateful transform (``center``, ``scale``, splines...)?

    Their state (a mean, knots) is a property of the whole data, so it is
    fixed by a first pass before any chunk is encoded. ``Q`` (quoting a
    column name) holds no state worth fixing.
    """
    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        return False
    tree = ast.parse(factor.expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in _ROW_DEPENDENT:
                raise ValueError(
                    f"The term {factor.expr!r} uses {name}(), whose value for a row depends on "
                    "the rows before it in the same chunk, so a chunked fit would differ from "
                    "the fit in memory; compute the lagged column before the fit."
                )
            if name != "Q" and getattr(TRANSFORMS.get(name), "__is_stateful_transform__", False):
                return True
    return False


def _calls(tree, name):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id == name]


def categorical_arguments(factor):
    """Columns passed to ``C(...)``: categorical whatever their dtype."""
    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        return []
    calls = _calls(ast.parse(factor.expr, mode="eval"), "C")
    return [call.args[0].id for call in calls if call.args and isinstance(call.args[0], ast.Name)]
