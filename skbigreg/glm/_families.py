"""Exponential families: variance, deviance, score factor nu and Fisher weight.

For a row with linear predictor eta, mean mu = h(eta) and variance function
V, the score contribution is ``(y - mu) nu(eta) x`` with
``nu = h'(eta) / V(h(eta))`` and the expected (Fisher) information
contribution is ``nu(eta) h'(eta) x x'``. For canonical links nu is the
constant 1 (-1 and -1/2 for the Gamma and inverse Gaussian canonical links
as parametrised here, which only flips a sign or a scale).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._links import LINKS, InverseLink, InverseSquaredLink, LogLink, Stateless

__all__ = [
    "FAMILIES",
    "BinomialFamily",
    "Family",
    "GammaFamily",
    "GaussianFamily",
    "InverseGaussianFamily",
    "PoissonFamily",
    "get_family_link",
]


class Family(Stateless):
    """Base class of an exponential family used with a link.

    ``links`` names the links accepted (the first is the default);
    ``has_dispersion`` says whether the scale is estimated (Gaussian, Gamma,
    inverse Gaussian) or fixed at 1 (binomial, Poisson).
    """

    name = "family"
    links: tuple[str, ...] = ()
    has_dispersion = True

    def variance(self, mu):
        raise NotImplementedError

    def unit_deviance(self, y, mu):
        raise NotImplementedError

    def check_y(self, y):
        """Raise ValueError when a response lies outside the family's support."""

    def start_mu(self, y):
        """A starting mean inside the support, as statsmodels and R use."""
        return (np.asarray(y, dtype=float) + np.mean(y)) / 2

    def nu(self, link, eta):
        """Score factor nu(eta) = h'(eta) / V(h(eta))."""
        return link.inverse_deriv(eta) / self.variance(link.inverse(eta))

    def fisher_weight(self, link, eta):
        """Fisher weight h'(eta)^2 / V(h(eta)) = nu(eta) h'(eta)."""
        return self.nu(link, eta) * link.inverse_deriv(eta)

    def deviance(self, y, eta, link, weight):
        """Weighted deviance sum_i w_i d(y_i, h(eta_i))."""
        return float(weight @ self.unit_deviance(y, link.inverse(eta)))


class GaussianFamily(Family):
    """Normal responses, V(mu) = 1."""

    name = "gaussian"
    links = ("identity", "log")

    def variance(self, mu):
        return np.ones_like(np.asarray(mu, dtype=float))

    def unit_deviance(self, y, mu):
        return (y - mu) ** 2

    def start_mu(self, y):
        return np.asarray(y, dtype=float)

    def nu(self, link, eta):
        return link.inverse_deriv(eta)


class BinomialFamily(Family):
    """Proportions in [0, 1] with weights as trial counts, V(mu) = mu (1 - mu)."""

    name = "binomial"
    links = ("logit", "probit", "cloglog", "loglog", "cauchit")
    has_dispersion = False

    def variance(self, mu):
        return mu * (1 - mu)

    def unit_deviance(self, y, mu):
        return 2 * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))

    def deviance(self, y, eta, link, weight):
        # mu and 1 - mu each from the link's accurate form; xlogy(0, 0) = 0
        mu, complement = link.inverse(eta), link.inverse_complement(eta)
        unit = -special.xlogy(y, mu)
        unit -= special.xlogy(1 - y, complement)
        if not np.all((y == 0) | (y == 1)):  # the saturated terms are 0 for 0/1 responses
            unit += special.xlogy(y, y) + special.xlogy(1 - y, 1 - y)
        return float(2 * (weight @ unit))

    def check_y(self, y):
        if np.any((y < 0) | (y > 1)):
            raise ValueError("The binomial family needs responses in [0, 1] (proportions).")

    def start_mu(self, y):
        return (np.asarray(y, dtype=float) + 0.5) / 2

    def nu(self, link, eta):
        return link.binomial_nu(eta)


class PoissonFamily(Family):
    """Counts (any y >= 0), V(mu) = mu."""

    name = "poisson"
    links = ("log", "identity")
    has_dispersion = False

    def variance(self, mu):
        return np.asarray(mu, dtype=float)

    def unit_deviance(self, y, mu):
        return 2 * (special.xlogy(y, y / mu) - (y - mu))

    def check_y(self, y):
        if np.any(y < 0):
            raise ValueError("The Poisson family needs non-negative responses (y >= 0).")

    def start_mu(self, y):
        return (np.asarray(y, dtype=float) + np.mean(y)) / 2

    def nu(self, link, eta):
        if isinstance(link, LogLink):  # canonical: exactly 1
            return np.ones_like(np.asarray(eta, dtype=float))
        return super().nu(link, eta)


class GammaFamily(Family):
    """Positive responses, V(mu) = mu^2."""

    name = "gamma"
    links = ("inverse", "log", "identity")

    def variance(self, mu):
        return np.asarray(mu, dtype=float) ** 2

    def unit_deviance(self, y, mu):
        return 2 * (-np.log(y / mu) + (y - mu) / mu)

    def check_y(self, y):
        if np.any(y <= 0):
            raise ValueError("The Gamma family needs positive responses (y > 0).")

    def start_mu(self, y):
        return np.asarray(y, dtype=float)

    def nu(self, link, eta):
        if isinstance(link, InverseLink):  # canonical up to sign: exactly -1
            return -np.ones_like(np.asarray(eta, dtype=float))
        return super().nu(link, eta)


class InverseGaussianFamily(Family):
    """Positive responses, V(mu) = mu^3."""

    name = "inverse_gaussian"
    links = ("inverse_squared", "log", "inverse", "identity")

    def variance(self, mu):
        return np.asarray(mu, dtype=float) ** 3

    def unit_deviance(self, y, mu):
        return (y - mu) ** 2 / (y * mu**2)

    def check_y(self, y):
        if np.any(y <= 0):
            raise ValueError("The inverse Gaussian family needs positive responses (y > 0).")

    def start_mu(self, y):
        return np.asarray(y, dtype=float)

    def nu(self, link, eta):
        if isinstance(link, InverseSquaredLink):  # canonical up to scale: exactly -1/2
            return np.full_like(np.asarray(eta, dtype=float), -0.5)
        return super().nu(link, eta)


FAMILIES = {
    family.name: family
    for family in (
        GaussianFamily(),
        BinomialFamily(),
        PoissonFamily(),
        GammaFamily(),
        InverseGaussianFamily(),
    )
}


def get_family_link(family, link=None):
    """The (family, link) objects named by ``family`` and ``link``.

    ``link=None`` takes the family's default (its canonical link, or logit
    for the binomial family). Raises ValueError for a link the family does
    not accept.
    """
    fam = FAMILIES[family] if isinstance(family, str) else family
    name = fam.links[0] if link is None else (link if isinstance(link, str) else link.name)
    if name not in fam.links:
        raise ValueError(
            f"The {fam.name} family accepts the links {list(fam.links)}; got {name!r}."
        )
    return fam, LINKS[name]
