"""A mergeable sum of outer products: the "meat" of a sandwich covariance."""

from __future__ import annotations

import numpy as np

from ._base import Field, Layout, Saved, check_same_shape, pack, unpack


class OuterProductStats(Saved):
    """``sum_i s_i s_i'`` over rows, with the row count; merged by addition.

    Second streamed passes fill it: for HC errors ``s_i = w_i e_i u_i``, the
    weighted residual times the design row at the fitted coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import OuterProductStats
    >>> s = np.arange(6.0).reshape(3, 2)
    >>> total = OuterProductStats.from_rows(s[:1]) + OuterProductStats.from_rows(s[1:])
    >>> bool(np.allclose(total.matrix, s.T @ s))
    True
    """

    _schema = "skbigreg.OuterProductStats"
    _version = 1
    _layout = Layout(
        _schema,
        _version,
        {"n_rows": Field((), "count"), "matrix": Field(("S", "S"), "comoment")},
    )

    @property
    def shape(self):
        """``(size, size)`` of the summed outer products."""
        return self.matrix.shape

    def __init__(self, n_rows, matrix):
        self.n_rows = int(n_rows)
        self.matrix = np.asarray(matrix, dtype=np.float64)

    @classmethod
    def empty(cls, size):
        """No rows: a zero ``size x size`` matrix."""
        return cls(0, np.zeros((size, size)))

    @classmethod
    def from_rows(cls, scores):
        """Statistics of the rows of ``scores`` (n, size)."""
        scores = np.asarray(scores, dtype=np.float64)
        return cls(len(scores), scores.T @ scores)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "outer products", axes="")
        return type(self)(self.n_rows + other.n_rows, self.matrix + other.matrix)

    __radd__ = __add__

    def to_dict(self):
        """Plain arrays with schema name and version."""
        return pack(self._schema, self._version, {"n_rows": self.n_rows, "matrix": self.matrix})

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output; never executes code."""
        fields = unpack(data, cls._layout)
        return cls(int(fields["n_rows"]), fields["matrix"])


class LeverageOuterProducts(Saved):
    """The meats of HC0, HC2 and HC3 from one pass; merged by addition.

    Over rows with leverage ``h_i < 1``, the sums ``sum_i s_i s_i'``,
    ``sum_i s_i s_i' / (1 - h_i)`` and ``sum_i s_i s_i' / (1 - h_i)^2`` (MacKinnon
    and White's HC0, HC2 and HC3 meats), with the row count and the count of
    rows whose leverage is one (to ``unit_tolerance``): for those the HC2 and
    HC3 meats are undefined, so they are counted instead of summed and the
    caller reports NaN errors. :attr:`matrix` is the HC0 meat, as
    :class:`OuterProductStats` holds it. ``frequency`` records whether the
    scores and leverages are those of frequency weights (a row of weight
    ``w`` standing for ``w`` rows), so that meats of the two conventions
    never merge.

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.stats import LeverageOuterProducts
    >>> s, h = np.arange(6.0).reshape(3, 2), np.array([0.5, 0.2, 0.75])
    >>> total = (LeverageOuterProducts.from_rows(s[:1], h[:1])
    ...          + LeverageOuterProducts.from_rows(s[1:], h[1:]))
    >>> bool(np.allclose(total.hc3, s.T @ (s / (1 - h[:, None]) ** 2)))
    True
    """

    _schema = "skbigreg.LeverageOuterProducts"
    _version = 1
    _layout = Layout(
        _schema,
        _version,
        {
            "n_rows": Field((), "count"),
            "n_unit_leverage": Field((), "count"),
            "hc0": Field(("S", "S"), "comoment"),
            "hc2": Field(("S", "S"), "comoment"),
            "hc3": Field(("S", "S"), "comoment"),
            "frequency": Field((), "flag"),
        },
    )
    #: ``1 - h_i`` at or below this counts as leverage one (rounding of a
    #: projection's diagonal stays far below it on any usable design).
    unit_tolerance = 1e-8

    def __init__(self, n_rows, hc0, hc2, hc3, n_unit_leverage=0, frequency=False):
        self.n_rows = int(n_rows)
        self.frequency = bool(frequency)
        self.n_unit_leverage = int(n_unit_leverage)
        self.hc0 = np.asarray(hc0, dtype=np.float64)
        self.hc2 = np.asarray(hc2, dtype=np.float64)
        self.hc3 = np.asarray(hc3, dtype=np.float64)

    @property
    def shape(self):
        """``(size, size)`` of each summed matrix."""
        return self.hc0.shape

    @property
    def matrix(self):
        """The HC0 meat ``sum_i s_i s_i'``."""
        return self.hc0

    def meat(self, cov_type):
        """The meat of ``cov_type`` ("HC0", "HC1", "HC2" or "HC3").

        NaN for HC2 and HC3 when a row has leverage one.
        """
        if cov_type in ("HC0", "HC1"):
            return self.hc0
        if cov_type not in ("HC2", "HC3"):
            raise ValueError(f"cov_type must be 'HC0', 'HC1', 'HC2' or 'HC3', got {cov_type!r}.")
        if self.n_unit_leverage:
            return np.full(self.shape, np.nan)
        return self.hc2 if cov_type == "HC2" else self.hc3

    @classmethod
    def empty(cls, size, frequency=False):
        """No rows: zero ``size x size`` matrices."""
        zero = np.zeros((size, size))
        return cls(0, zero, zero, zero, frequency=frequency)

    @classmethod
    def from_rows(cls, scores, leverage, frequency=False):
        """Statistics of the rows of ``scores`` (n, size) with leverages ``leverage`` (n,)."""
        scores = np.asarray(scores, dtype=np.float64)
        room = 1.0 - np.asarray(leverage, dtype=np.float64)
        unit = room <= cls.unit_tolerance
        if unit.any():
            scores_defined, room = scores[~unit], room[~unit]
        else:
            scores_defined = scores
        over_root = scores_defined / np.sqrt(room)[:, None]
        over_room = scores_defined / room[:, None]
        return cls(len(scores), scores.T @ scores, over_root.T @ over_root,
                   over_room.T @ over_room, int(unit.sum()), frequency)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        check_same_shape(self, other, "leverage outer products", axes="")
        if self.frequency != other.frequency:
            raise ValueError("Cannot merge HC meats of frequency weights with HC meats of "
                             "analytic weights.")
        return type(self)(
            self.n_rows + other.n_rows,
            self.hc0 + other.hc0,
            self.hc2 + other.hc2,
            self.hc3 + other.hc3,
            self.n_unit_leverage + other.n_unit_leverage,
            self.frequency,
        )

    __radd__ = __add__

    def to_dict(self):
        """Plain arrays with schema name and version."""
        return pack(self._schema, self._version, {
            "n_rows": self.n_rows, "n_unit_leverage": self.n_unit_leverage,
            "hc0": self.hc0, "hc2": self.hc2, "hc3": self.hc3, "frequency": self.frequency,
        })

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output; never executes code."""
        f = unpack(data, cls._layout)
        return cls(int(f["n_rows"]), f["hc0"], f["hc2"], f["hc3"], int(f["n_unit_leverage"]),
                   bool(f["frequency"]))
