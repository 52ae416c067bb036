"""Statistics as bytes between processes (``encode_statistics``/``decode_statistics``).

Every statistics object an estimator's map returns must come back equal
(bit for bit: plain arrays, no arithmetic) and merge as the original does;
nothing else is rebuilt, and nothing is unpickled.
"""

import io

import numpy as np
import pytest

from skbigreg.base import estimator_statistics
from skbigreg.glm import get_family_link
from skbigreg.io import Chunk
from skbigreg.linear_model import (
    CumulativeFixedEffectsRegression,
    CumulativeIVRegression,
    CumulativeLassoCV,
    GroupedLinearRegression,
)
from skbigreg.passes import irls_chunk_pass
from skbigreg.stats import decode_statistics, encode_statistics


def _rows(seed, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=n)
    firms = np.array([f"firm {g}" for g in rng.integers(0, 5, size=n)], dtype=object)
    return X, y, rng.uniform(0.5, 2.0, size=n), firms


def _assert_same(a, b):
    """Two decoded/original objects hold the same arrays, field by field."""
    assert type(a) is type(b)
    if hasattr(a, "to_dict"):
        left, right = a.to_dict(), b.to_dict()
        assert left.keys() == right.keys()
        for key in left:
            np.testing.assert_array_equal(left[key], right[key], err_msg=key)
    elif hasattr(a, "__dataclass_fields__"):
        for name in a.__dataclass_fields__:
            _assert_same(getattr(a, name), getattr(b, name))
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a.astype(str) if a.dtype.hasobject else a, b)
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for left, right in zip(a, b):
            _assert_same(left, right)
    else:
        assert a == b


def _maps():
    """(estimator, labels of a chunk) for each family's map."""
    return [
        (CumulativeLassoCV(cv=3), lambda firms: {"groups": firms}),
        (CumulativeFixedEffectsRegression(), lambda firms: {"entities": firms, "clusters": firms}),
        (CumulativeIVRegression(endogenous=[0], instruments=[2]),
         lambda firms: {"clusters": firms}),
        (GroupedLinearRegression(), lambda firms: {"partitions": firms}),
    ]


@pytest.mark.parametrize("estimator, labels", _maps())
def test_each_family_map_travels_and_merges_as_before(estimator, labels):
    parts = []
    for seed in (0, 1):
        X, y, w, firms = _rows(seed)
        parts.append(estimator_statistics(Chunk(X, y, w, labels(firms)), estimator=estimator))
    back = [decode_statistics(encode_statistics(part)) for part in parts]
    for part, decoded in zip(parts, back):
        _assert_same(part, decoded)
    _assert_same(parts[0] + parts[1], back[0] + back[1])


def test_a_complete_irls_pass_with_text_clusters_travels():
    family, link = get_family_link("binomial", "logit")
    X, y, w, firms = _rows(2)
    y = (y > 0).astype(float)
    part = irls_chunk_pass((X, y, w, firms), np.zeros(3), 0.0, family, link, True)
    back = decode_statistics(encode_statistics(part))
    _assert_same(part, back)
    assert back.cluster_sums.labels.tolist() == sorted(set(firms))
    light = irls_chunk_pass((X, y, w, None), np.zeros(3), 0.0, family, link, True, complete=False)
    _assert_same(light, decode_statistics(encode_statistics(light)))


def test_only_statistics_travel_and_only_listed_types_come_back():
    with pytest.raises(TypeError, match="dict do not travel"):
        encode_statistics({"stats": 1})
    with pytest.raises(TypeError, match="ndarray do not travel"):
        encode_statistics(np.array([object()], dtype=object))
    buffer = io.BytesIO()
    np.savez(buffer, **{"__type__": np.asarray("Popen"), "args": np.asarray("ls")})
    with pytest.raises(ValueError, match="unknown type 'Popen'"):
        decode_statistics(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, **{"__type__": np.asarray("GramStats"), "n_features": np.asarray(2)})
    with pytest.raises(ValueError, match="GramStats"):  # its checking loader refuses it
        decode_statistics(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, **{"__type__": np.asarray("float"), "value": np.asarray(1.0),
                        "stowaway": np.asarray(2.0)})
    with pytest.raises(ValueError, match="no known part.*stowaway"):
        decode_statistics(buffer.getvalue())
