"""Data for examples and the main job: a streamed generator and real flights."""

from ._flights import FLIGHT_FEATURES, flight_chunks, load_flights
from ._synthetic import make_regression_chunks

__all__ = ["FLIGHT_FEATURES", "flight_chunks", "load_flights", "make_regression_chunks"]
