"""Fit from a chunk source: check each chunk's row labels; merge every chunk, then solve once."""

from __future__ import annotations

import numpy as np

from ..io import LABEL_NAMES


class ChunkLabels:
    """The row labels an estimator's ``fit_chunks`` reads, checked chunk by chunk.

    A chunk carrying a label the estimator does not read is refused (it would
    be silently ignored otherwise); a label is on every chunk or on none, with
    one value per row.
    """

    def __init__(self, estimator, reads, required=()):
        self.owner = type(estimator).__name__
        self.reads = tuple(reads)
        self.required = tuple(required)
        self.carried = None  # the labels of the first chunk

    def check(self, chunk):
        carried = {name for name in LABEL_NAMES if chunk.label(name) is not None}
        unread = sorted(carried - set(self.reads))
        if unread:
            raise ValueError(
                f"The chunks carry {unread} labels, which {self.owner}.fit_chunks does "
                f"not read (it reads {list(self.reads)})."
            )
        missing = [name for name in self.required if name not in carried]
        if missing:
            raise ValueError(f"{self.owner}.fit_chunks needs {missing} labels on every chunk.")
        for name in carried:
            shape = np.shape(chunk.label(name))
            if shape != (chunk.n_rows,):
                raise ValueError(f"{name} has shape {shape}; expected ({chunk.n_rows},).")
        if self.carried is None:
            self.carried = carried
        elif carried != self.carried:
            changed = sorted(carried ^ self.carried)
            raise ValueError(f"The {changed} labels must be on every chunk or on none.")
