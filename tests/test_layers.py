"""The package's layers hold: imports point down, no circle, sklearn's private names in one place.

Every module of skbigreg is read with :mod:`ast` (nothing is imported), so
function-local and relative imports count like the others.
"""

import ast
import sys
from pathlib import Path

import pytest

import skbigreg

PACKAGE = Path(skbigreg.__file__).parent

# Top to bottom: a unit (a subpackage, or a module at the package's top) may
# import units below it, never above. Units on one row share a level. The
# package's own ``__init__`` holds metadata only, at the bottom with the
# modules anyone may import.
LAYERS = [
    ("_cli", "__main__", "spark_daemon"),
    ("formula",),
    ("linear_model",),
    ("model_selection",),
    ("inference",),
    ("base",),
    ("passes",),
    ("solvers",),
    ("stats",),
    ("parallel",),
    ("io",),
    ("datasets",),
    ("glm",),
    ("_compat", "exceptions", "__init__"),
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}
ANYONE_MAY_IMPORT = {"_compat", "exceptions", "__init__"}
# stats is built unchanged on any worker: numpy, scipy and the standard library only
STATS_MAY_IMPORT = {"numpy", "scipy"}
COMPAT = "_compat.py"

# Violations in today's code that are being fixed elsewhere. Remove each entry
# when its import is gone: the test fails on an entry that is no longer a
# violation, so this set can only shrink. Never add to it.
KNOWN_VIOLATIONS = set()


# -- reading the imports -------------------------------------------------------------
def _module_of(path):
    """``skbigreg/io/_files.py`` -> ``("skbigreg.io._files", False)`` (is it a package?)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _unit_of_file(relative):
    """The layer unit of a file given relative to the package: ``io/_files.py`` -> ``io``."""
    first = Path(relative).parts[0]
    return first[:-3] if first.endswith(".py") else first


def imports_of(source, module, is_package):
    """``(imported module, names)`` for every import statement of ``source``.

    Relative imports are made absolute; ``from A import b`` gives ``(A, ("b",))``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((base, tuple(alias.name for alias in node.names)))
    return found


def units_imported(target, names):
    """The skbigreg units an import reaches (``from skbigreg import io`` reaches ``io``)."""
    parts = target.split(".")
    if parts[0] != "skbigreg":
        return []
    if len(parts) > 1:
        return [parts[1]]
    return [name if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file() or name in LEVEL
            else "__init__" for name in names] or ["__init__"]


def _package_imports():
    """``{file relative to the package: [(imported module, names), ...]}``."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module, is_package = _module_of(path)
        found[path.relative_to(PACKAGE).as_posix()] = imports_of(path.read_text(), module, is_package)
    return found


# -- the rules ---------------------------------------------------------------------------
def upward_imports(imports):
    """``"file -> unit.module"`` for every import of a unit above the file's own."""
    bad = set()
    for relative, targets in imports.items():
        source = _unit_of_file(relative)
        for target, names in targets:
            for unit in units_imported(target, names):
                if unit == source or unit in ANYONE_MAY_IMPORT or unit not in LEVEL:
                    continue
                if source in LEVEL and LEVEL[unit] < LEVEL[source]:
                    bad.add(f"{relative} -> {target.removeprefix('skbigreg.') or unit}")
    return bad


def circles(imports):
    """Sets of units that import each other, directly or through others."""
    graph = {}
    for relative, targets in imports.items():
        source = _unit_of_file(relative)
        for target, names in targets:
            graph.setdefault(source, set()).update(
                u for u in units_imported(target, names) if u != source)
    reach = {unit: _reachable(graph, unit) for unit in graph}
    found = {frozenset({a, *(b for b in reach[a] if a in reach.get(b, ()))}) for a in graph}
    return {circle for circle in found if len(circle) > 1}


def _reachable(graph, start):
    seen, stack = set(), [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def unknown_units(imports):
    units = {_unit_of_file(relative) for relative in imports}
    for targets in imports.values():
        for target, names in targets:
            units.update(units_imported(target, names))
    return units - set(LEVEL)


def private_sklearn_imports(imports):
    bad = set()
    for relative, targets in imports.items():
        if relative == COMPAT:
            continue
        for target, names in targets:
            if target.split(".")[0] != "sklearn":
                continue
            private = [p for p in target.split(".") if p.startswith("_")]
            private += [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.add(f"{relative} -> {target} ({', '.join(private)})")
    return bad


def foreign_imports_of_stats(imports):
    bad = set()
    for relative, targets in imports.items():
        if _unit_of_file(relative) != "stats":
            continue
        for target, names in targets:
            top = target.split(".")[0]
            if top in sys.stdlib_module_names or top in STATS_MAY_IMPORT:
                continue
            units = units_imported(target, names)
            if top == "skbigreg" and all(u in {"stats", "_compat", "exceptions"} for u in units):
                continue
            bad.add(f"{relative} -> {target}")
    return bad


# -- the package -------------------------------------------------------------------------
IMPORTS = _package_imports()


def test_every_unit_has_a_layer():
    unknown = unknown_units(IMPORTS)
    assert not unknown, (
        f"skbigreg units {sorted(unknown)} are not in LAYERS of tests/test_layers.py: "
        "add each to its place in the order (see DESIGN.md)"
    )


def test_no_import_points_up_the_layers():
    new = upward_imports(IMPORTS) - KNOWN_VIOLATIONS
    assert not new, f"imports up the layers (top to bottom: {LAYERS}): {sorted(new)}"


def test_no_circle_between_units():
    found = {" <-> ".join(sorted(circle)) for circle in circles(IMPORTS)}
    new = {f"circle: {circle}" for circle in found} - KNOWN_VIOLATIONS
    assert not new, f"units that import each other: {sorted(new)}"


def test_stats_imports_numpy_and_scipy_only():
    assert not foreign_imports_of_stats(IMPORTS)


def test_private_sklearn_names_only_in_compat():
    bad = private_sklearn_imports(IMPORTS) - KNOWN_VIOLATIONS
    assert not bad, f"private scikit-learn names outside skbigreg/{COMPAT}: {sorted(bad)}"


def test_known_violations_are_still_violations():
    current = (upward_imports(IMPORTS) | private_sklearn_imports(IMPORTS)
               | {f"circle: {' <-> '.join(sorted(c))}" for c in circles(IMPORTS)})
    fixed = KNOWN_VIOLATIONS - current
    assert not fixed, f"fixed: remove {sorted(fixed)} from KNOWN_VIOLATIONS"


# -- the reader and the rules, on made-up modules ----------------------------------------
def test_relative_and_function_local_imports_are_read():
    source = "import numpy\nfrom ..parallel import tree_sum\n\ndef f():\n    from . import _dask\n"
    assert imports_of(source, "skbigreg.io._chunks", False) == [
        ("numpy", ()), ("skbigreg.parallel", ("tree_sum",)), ("skbigreg.io", ("_dask",))]
    assert imports_of("from . import linear_model", "skbigreg._cli", False) == [
        ("skbigreg", ("linear_model",))]
    assert imports_of("from .stats import X", "skbigreg.solvers", True) == [("skbigreg.solvers.stats", ("X",))]
    assert units_imported("skbigreg", ("linear_model", "__version__")) == ["linear_model", "__init__"]


def test_the_rules_catch_what_they_forbid():
    made_up = {
        "io/_chunks.py": [("skbigreg.parallel", ("dask_partitions",))],
        "parallel/_stream.py": [("skbigreg.io", ("iter_chunks",)), ("skbigreg.exceptions", ())],
        "stats/_x.py": [("sklearn.utils", ("check_array",)), ("skbigreg.glm", ("LINKS",))],
        "linear_model/_y.py": [("sklearn.utils.validation", ("_num_samples", "check_is_fitted"))],
        "_compat.py": [("sklearn.utils._param_validation", ("Interval",))],
        "newpkg/_z.py": [("skbigreg.stats", ())],
    }
    assert upward_imports(made_up) == {"io/_chunks.py -> parallel"}
    assert circles(made_up) == {frozenset({"io", "parallel"})}
    assert foreign_imports_of_stats(made_up) == {"stats/_x.py -> sklearn.utils", "stats/_x.py -> skbigreg.glm"}
    assert private_sklearn_imports(made_up) == {
        "linear_model/_y.py -> sklearn.utils.validation (_num_samples)"}
    assert unknown_units(made_up) == {"newpkg"}


@pytest.mark.parametrize("unit", ["stats", "io", "parallel", "_cli"])
def test_the_package_is_read(unit):
    # the reader sees the real package (an empty reading would pass every rule)
    assert any(_unit_of_file(relative) == unit and targets for relative, targets in IMPORTS.items())
