"""A seeded, re-iterable stream of regression chunks that never sits in memory."""

from __future__ import annotations

import numpy as np


def make_regression_chunks(
    n_samples=1_000_000,
    n_features=10,
    *,
    chunk_rows=65_536,
    n_clusters=100,
    offset=0.0,
    heteroskedastic=True,
    random_state=0,
):
    """A callable that returns a fresh iterator of ``{"X", "y", "clusters"}`` chunks.

    ``y = 1 + X @ beta + e`` with ``beta = (1, 2, ..., K) / K``; the noise grows
    with ``|x_0|`` when ``heteroskedastic`` (so robust errors differ from
    classical ones) and carries a shared shock per cluster. Each chunk is
    generated from its own seed, so every pass yields the same rows and peak
    memory is one chunk whatever ``n_samples`` is.

    Parameters
    ----------
    n_samples, n_features : int
    chunk_rows : int
    n_clusters : int
        Cluster labels (each chunk's ``"clusters"``) for cluster-robust errors.
    offset : float
        Added to every feature (to exercise the centred statistics).
    heteroskedastic : bool
    random_state : int

    Returns
    -------
    callable
        ``source()`` yields chunks ``{"X": X, "y": y, "clusters": labels}``.

    Examples
    --------
    >>> from skbigreg.datasets import make_regression_chunks
    >>> source = make_regression_chunks(1000, 3, chunk_rows=400)
    >>> [len(chunk["X"]) for chunk in source()]
    [400, 400, 200]
    >>> sorted(next(iter(source())))
    ['X', 'clusters', 'y']
    """
    beta = np.arange(1.0, n_features + 1) / n_features
    cluster_shock = np.random.default_rng([random_state, 2**31]).normal(size=n_clusters)
    return _ChunkStream(n_samples, n_features, chunk_rows, beta, cluster_shock, offset,
                        heteroskedastic, random_state)


class _ChunkStream:
    """Picklable (module-level) so the stream itself can be shipped to workers."""

    def __init__(self, n_samples, n_features, chunk_rows, beta, shock, offset, hetero, seed):
        self.n_samples, self.n_features, self.chunk_rows = n_samples, n_features, chunk_rows
        self.beta, self.shock, self.offset, self.hetero, self.seed = beta, shock, offset, hetero, seed

    def __call__(self):
        for index, start in enumerate(range(0, self.n_samples, self.chunk_rows)):
            rows = min(self.chunk_rows, self.n_samples - start)
            rng = np.random.default_rng([self.seed, index])
            X = rng.standard_normal((rows, self.n_features))
            clusters = rng.integers(0, len(self.shock), size=rows)
            scale = 1.0 + np.abs(X[:, 0]) if self.hetero else 1.0
            y = 1.0 + X @ self.beta + scale * rng.standard_normal(rows) + self.shock[clusters]
            yield {"X": X + self.offset, "y": y, "clusters": clusters}
