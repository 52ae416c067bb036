"""An estimator's own chunk maps, as module-level functions any engine can ship.

A cumulative estimator maps a chunk to statistics with its methods: labels
checked, rows validated, then its ``_map_chunk`` (totals, per fold, per
level, per partition ...), and, for a second pass, ``partial_fit_scores``
at the fitted coefficients. The functions below run those methods on a
*copy* of the estimator, so an engine that ships functions to workers (Spark
executors, joblib backends) runs exactly the map that ``fit_chunks`` runs
locally, with no per-estimator code, and the estimator itself is never
touched by a worker.
"""

from __future__ import annotations

import copy

from sklearn.base import clone


def estimator_statistics(chunk, *, estimator):
    """``chunk`` mapped to :class:`~skbigreg.stats.ChunkStatistics` by ``estimator``'s map.

    ``estimator`` gives its parameters only (an unfitted clone maps the
    chunk, as a first chunk): every chunk is checked on its own, and the
    engine's schema makes the chunks agree (one feature count, one type per
    label column).

    Examples
    --------
    >>> import numpy as np
    >>> from skbigreg.base import estimator_statistics
    >>> from skbigreg.io import Chunk
    >>> from skbigreg.linear_model import CumulativeRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> chunk = Chunk(rng.normal(size=(50, 2)), rng.normal(size=50))
    >>> part = estimator_statistics(chunk, estimator=CumulativeRidgeCV(cv=5))
    >>> part.stats.n_rows, part.extra.n_splits
    (50, 5)
    """
    worker = clone(estimator)
    checked = worker._check_labels(chunk.labels, chunk.n_rows, True)
    part, _ = worker._chunk_part(chunk.X, chunk.y, chunk.sample_weight, checked, reset=True)
    return part


def estimator_scores(chunk, *, estimator):
    """The second-pass statistics of ``chunk`` at ``estimator``'s fitted coefficients.

    ``partial_fit_scores`` of a copy of the fitted ``estimator`` whose pass
    starts empty, given the chunk's row labels that the pass reads.
    """
    # Fitted attributes are replaced, never mutated in place: a shallow copy
    # leaves the estimator as it was.
    worker = copy.copy(estimator)
    vars(worker).pop("score_pass_", None)
    worker.partial_fit_scores(chunk.X, chunk.y, chunk.sample_weight,
                              **{name: chunk.label(name) for name in estimator._score_label_names})
    return worker.score_pass_
