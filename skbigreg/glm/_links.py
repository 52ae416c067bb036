"""Link functions g (mu = h(eta), h = g^-1) and their inverse derivatives.

Each link is a small stateless object: ``link(mu)`` is g, ``inverse(eta)``
is h, ``inverse_deriv(eta)`` is h'. Links for a binary response also give
``inverse_complement(eta) = 1 - h(eta)`` computed without cancellation and
``binomial_nu(eta) = h'(eta) / (h(eta) (1 - h(eta)))`` in a form that stays
finite in the tails (the naive ratio is 0/0 once 1 - mu underflows).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "LINKS",
    "CLogLogLink",
    "CauchitLink",
    "IdentityLink",
    "InverseLink",
    "InverseSquaredLink",
    "Link",
    "LogLink",
    "LogLogLink",
    "LogitLink",
    "ProbitLink",
]


class Stateless:
    """A parameter-free object: any two instances of one class are equal.

    Families and links are compared and hashed by their class, so a fitted
    estimator's family equals a fresh one and both can key a dict.
    """

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class Link(Stateless):
    """Base class: a link g with inverse h.

    ``domain_positive`` marks links whose inverse is defined for eta > 0 only.
    """

    name = "link"
    domain_positive = False

    def link(self, mu):
        raise NotImplementedError

    def inverse(self, eta):
        raise NotImplementedError

    def inverse_deriv(self, eta):
        raise NotImplementedError

    def inverse_and_deriv(self, eta):
        """``(h(eta), h'(eta))``, sharing their common work where a link can."""
        return self.inverse(eta), self.inverse_deriv(eta)

    def valid_eta(self, eta):
        """Whether every eta lies in the inverse link's domain."""
        eta = np.asarray(eta)
        return bool(np.all(np.isfinite(eta)) and (not self.domain_positive or np.all(eta > 0)))


class IdentityLink(Link):
    """g(mu) = mu."""

    name = "identity"

    def link(self, mu):
        return np.asarray(mu, dtype=float)

    def inverse(self, eta):
        return np.asarray(eta, dtype=float)

    def inverse_deriv(self, eta):
        return np.ones_like(np.asarray(eta, dtype=float))


class LogLink(Link):
    """g(mu) = log(mu)."""

    name = "log"

    def link(self, mu):
        return np.log(mu)

    def inverse(self, eta):
        return np.exp(eta)

    def inverse_deriv(self, eta):
        return np.exp(eta)

    def inverse_and_deriv(self, eta):
        mu = np.exp(eta)  # h' = h: one exp (callers do not write into either)
        return mu, mu


class InverseLink(Link):
    """g(mu) = 1/mu (the Gamma family's canonical link up to sign)."""

    name = "inverse"
    domain_positive = True

    def link(self, mu):
        return 1.0 / np.asarray(mu, dtype=float)

    def inverse(self, eta):
        return 1.0 / np.asarray(eta, dtype=float)

    def inverse_deriv(self, eta):
        return -1.0 / np.asarray(eta, dtype=float) ** 2


class InverseSquaredLink(Link):
    """g(mu) = 1/mu^2 (the inverse Gaussian family's canonical link up to scale)."""

    name = "inverse_squared"
    domain_positive = True

    def link(self, mu):
        return 1.0 / np.asarray(mu, dtype=float) ** 2

    def inverse(self, eta):
        return np.asarray(eta, dtype=float) ** -0.5

    def inverse_deriv(self, eta):
        return -0.5 * np.asarray(eta, dtype=float) ** -1.5


class BinaryLink(Link):
    """A link for a probability: adds ``inverse_complement`` and ``binomial_nu``."""

    def inverse_complement(self, eta):
        raise NotImplementedError

    def binomial_nu(self, eta):
        # nu = h' / (h (1 - h)); subclasses override with tail-stable forms
        return self.inverse_deriv(eta) / (self.inverse(eta) * self.inverse_complement(eta))


class LogitLink(BinaryLink):
    """g(mu) = log(mu / (1 - mu)); canonical for the binomial family."""

    name = "logit"

    def link(self, mu):
        return special.logit(mu)

    def inverse(self, eta):
        return special.expit(eta)

    def inverse_complement(self, eta):
        return special.expit(-np.asarray(eta, dtype=float))

    def inverse_deriv(self, eta):
        return special.expit(eta) * special.expit(-np.asarray(eta, dtype=float))

    def inverse_and_deriv(self, eta):
        mu = special.expit(eta)  # the same products as inverse_deriv, one expit fewer
        return mu, mu * special.expit(-np.asarray(eta, dtype=float))

    def binomial_nu(self, eta):
        return np.ones_like(np.asarray(eta, dtype=float))


class ProbitLink(BinaryLink):
    """g(mu) = Phi^-1(mu)."""

    name = "probit"

    def link(self, mu):
        return special.ndtri(mu)

    def inverse(self, eta):
        return special.ndtr(eta)

    def inverse_complement(self, eta):
        return special.ndtr(-np.asarray(eta, dtype=float))

    def inverse_deriv(self, eta):
        return np.exp(-0.5 * np.asarray(eta, dtype=float) ** 2) / np.sqrt(2 * np.pi)

    def binomial_nu(self, eta):
        # phi / (Phi(eta) Phi(-eta)) in log space: finite far into both tails
        eta = np.asarray(eta, dtype=float)
        log_phi = -0.5 * eta**2 - 0.5 * np.log(2 * np.pi)
        return np.exp(log_phi - special.log_ndtr(eta) - special.log_ndtr(-eta))


class CLogLogLink(BinaryLink):
    """g(mu) = log(-log(1 - mu)); h(eta) = 1 - exp(-e^eta)."""

    name = "cloglog"

    def link(self, mu):
        return np.log(-np.log1p(-np.asarray(mu, dtype=float)))

    def inverse(self, eta):
        return -np.expm1(-np.exp(eta))

    def inverse_complement(self, eta):
        return np.exp(-np.exp(eta))

    def inverse_deriv(self, eta):
        t = np.exp(eta)
        return t * np.exp(-t)

    def binomial_nu(self, eta):
        # t e^-t / ((1 - e^-t) e^-t) = t / (1 - e^-t), t = e^eta
        t = np.exp(np.asarray(eta, dtype=float))
        return t / -np.expm1(-t)


class LogLogLink(BinaryLink):
    """g(mu) = -log(-log(mu)); h(eta) = exp(-e^-eta)."""

    name = "loglog"

    def link(self, mu):
        return -np.log(-np.log(mu))

    def inverse(self, eta):
        return np.exp(-np.exp(-np.asarray(eta, dtype=float)))

    def inverse_complement(self, eta):
        return -np.expm1(-np.exp(-np.asarray(eta, dtype=float)))

    def inverse_deriv(self, eta):
        s = np.exp(-np.asarray(eta, dtype=float))
        return s * np.exp(-s)

    def binomial_nu(self, eta):
        # s e^-s / (e^-s (1 - e^-s)) = s / (1 - e^-s), s = e^-eta
        s = np.exp(-np.asarray(eta, dtype=float))
        return s / -np.expm1(-s)


class CauchitLink(BinaryLink):
    """g(mu) = tan(pi (mu - 1/2)); h is the standard Cauchy CDF."""

    name = "cauchit"

    def link(self, mu):
        return np.tan(np.pi * (np.asarray(mu, dtype=float) - 0.5))

    def inverse(self, eta):
        # arctan2(1, -eta) / pi = 1/2 + arctan(eta)/pi, accurate in the lower tail
        return np.arctan2(1.0, -np.asarray(eta, dtype=float)) / np.pi

    def inverse_complement(self, eta):
        return np.arctan2(1.0, np.asarray(eta, dtype=float)) / np.pi

    def inverse_deriv(self, eta):
        return 1.0 / (np.pi * (1.0 + np.asarray(eta, dtype=float) ** 2))


#: Every link by name.
LINKS = {
    link.name: link
    for link in (
        IdentityLink(),
        LogLink(),
        InverseLink(),
        InverseSquaredLink(),
        LogitLink(),
        ProbitLink(),
        CLogLogLink(),
        LogLogLink(),
        CauchitLink(),
    )
}
