"""Exponential families and link functions for generalised linear models.

Small stateless objects shared by every GLM estimator (SMR representatives,
IRLS): a family gives the variance function, deviance and the score factor
``nu(eta) = h'(eta) / V(h(eta))``; a link gives ``g``, its inverse ``h`` and
``h'``.

Examples
--------
>>> from skbigreg.glm import get_family_link
>>> family, link = get_family_link("binomial", "cloglog")
>>> float(family.nu(link, 0.0))  # e / (e - 1) at eta = 0
1.5819767068693265
"""

from ._families import (
    FAMILIES,
    BinomialFamily,
    Family,
    GammaFamily,
    GaussianFamily,
    InverseGaussianFamily,
    PoissonFamily,
    get_family_link,
)
from ._links import (
    LINKS,
    CauchitLink,
    CLogLogLink,
    IdentityLink,
    InverseLink,
    InverseSquaredLink,
    Link,
    LogitLink,
    LogLink,
    LogLogLink,
    ProbitLink,
)

__all__ = [
    "FAMILIES",
    "LINKS",
    "BinomialFamily",
    "CLogLogLink",
    "CauchitLink",
    "Family",
    "GammaFamily",
    "GaussianFamily",
    "IdentityLink",
    "InverseGaussianFamily",
    "InverseLink",
    "InverseSquaredLink",
    "Link",
    "LogLink",
    "LogLogLink",
    "LogitLink",
    "PoissonFamily",
    "ProbitLink",
    "get_family_link",
]
