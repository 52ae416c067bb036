"""Data for examples and the main job: a streamed generator and real flights."""

from ._fertility import FERTILITY_COLUMNS, make_fertility_parquet
from ._flights import FLIGHT_FEATURES, flight_chunks, load_flights
from ._synthetic import make_regression_chunks

__all__ = ["FERTILITY_COLUMNS", "FLIGHT_FEATURES", "flight_chunks", "load_flights",
           "make_fertility_parquet", "make_regression_chunks"]
