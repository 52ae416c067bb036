"""Statistics as bytes (encode_statistics / decode_statistics): exact round trip, nothing executed."""

import io

import numpy as np
import pytest

from skbigreg.base import ChunkSpec, linear_chunk_statistics
from skbigreg.passes import score_pass_statistics
from skbigreg.solvers import solve_least_squares
from skbigreg.stats import decode_statistics, encode_statistics


def _chunk(labels):
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(200, 3)), rng.normal(size=200), rng.uniform(1, 2, 200)
    spec = ChunkSpec("gram", 3, 1, None, True)
    return X, y, w, linear_chunk_statistics(X, y, w, labels, spec=spec)


@pytest.mark.parametrize("labels", [np.arange(200) % 7, np.array([f"g{i % 5}" for i in range(200)])])
def test_round_trip_is_exact_with_cluster_statistics(labels):
    *_, part = _chunk(labels)
    back = decode_statistics(encode_statistics(part))
    for name in ("n_rows", "weight_sum", "mean", "comoment"):
        np.testing.assert_array_equal(getattr(back.stats, name), getattr(part.stats, name))
        np.testing.assert_array_equal(getattr(back.clusters, name), getattr(part.clusters, name))
    np.testing.assert_array_equal(back.clusters.labels, part.clusters.labels)
    assert back.log_weight_sum == part.log_weight_sum


def test_round_trip_of_a_score_pass():
    X, y, w, part = _chunk(np.arange(200) % 7)
    scores = score_pass_statistics(X, y, w, solution=solve_least_squares(part.stats, True),
                                   stats=part.stats)
    back = decode_statistics(encode_statistics(scores))
    np.testing.assert_array_equal(back.extra.hc0, scores.extra.hc0)
    np.testing.assert_array_equal(back.extra.hc3, scores.extra.hc3)


def test_unknown_types_and_pickles_are_refused():
    *_, part = _chunk(np.arange(200) % 7)
    with np.load(io.BytesIO(encode_statistics(part))) as archive:
        arrays = dict(archive)
    arrays["stats/__type__"] = np.asarray("os.system")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ValueError, match="unknown type 'os.system'"):
        decode_statistics(buffer.getvalue())
    arrays["stats/__type__"] = np.array([object()], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ValueError, match="pickle"):
        decode_statistics(buffer.getvalue())
