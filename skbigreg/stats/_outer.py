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
