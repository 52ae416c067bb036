"""Formulas on chunked data: a frozen encoding, then the estimators of :mod:`skbigreg.linear_model`.

``ols("y ~ x + C(carrier)", data)`` freezes the encoding of the formula
(categorical levels, state of stateful transforms) before the statistics
pass, encodes every chunk with it, and returns the fitted estimator, whose
``results()`` carries the formula's term names. ``feols`` and ``iv`` read
fixest's ``|`` syntax for absorbed effects and instruments.
"""

try:
    import formulaic  # noqa: F401
    import narwhals  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError(
        "skbigreg.formula needs formulaic and narwhals: pip install 'skbigreg[formula]'."
    ) from exc

from ._api import feols, fepois, fit_formula, glm, iv, logit, ols
from ._predict import design, get_prediction, predict
from ._spec import FormulaSpec

__all__ = [
    "FormulaSpec",
    "design",
    "feols",
    "fepois",
    "fit_formula",
    "get_prediction",
    "glm",
    "iv",
    "logit",
    "ols",
    "predict",
]
