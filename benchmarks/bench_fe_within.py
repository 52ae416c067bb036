"""Cost of gathering the within co-moment exactly (one absorbed factor).

``CumulativeFixedEffectsRegression`` maps each chunk to each level's weight
and means and the Gram of the rows centred at the chunk's own level means
(the within co-moment, merged exactly), and forms the total co-moment from
them as within plus between (``G D^2``, no second Gram of the rows; when a
chunk has more than half as many levels as rows, the rows' Gram). Timed
side by side with it (interleaved medians, same data), one-shot and
streamed in chunks:

- the two-Gram map it replaces (the rows' total Gram and the within Gram);
- the subtracted map before it (no within Gram: the within co-moment as the
  total less the between-level part, which cancels on large level offsets);
- pyfixest's ``feols``, for reference:

    python benchmarks/bench_fe_within.py              # N = 5,000,000, 100,000 levels
    python benchmarks/bench_fe_within.py --quick      # a tenth
    python benchmarks/bench_fe_within.py --repeat 5

Prints each median and the ratios two-Gram / exact and subtracted / exact
(below 1: the exact map is slower by that factor).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _timing import median_times

from skbigreg.base import CumulativeMixin
from skbigreg.linear_model import CumulativeFixedEffectsRegression
from skbigreg.stats import GramStats, LevelMeans, as_dense


class SubtractedWithin(CumulativeFixedEffectsRegression):
    """The former map: no within Gram (solved as the total less the between part)."""

    def _map_chunk(self, X, y, sample_weight, labels):
        levels = labels.get("entities")
        Z = np.hstack([as_dense(X), y])
        return (GramStats.from_arrays(X, y, sample_weight),
                LevelMeans.from_arrays(Z, levels, sample_weight))


class TwoGramWithin(CumulativeFixedEffectsRegression):
    """The two-Gram map: the rows' total Gram beside the level-centred within Gram."""

    def _map_chunk(self, X, y, sample_weight, labels):
        levels = labels.get("entities")
        Z = np.hstack([as_dense(X), y])
        return (GramStats.from_arrays(X, y, sample_weight),
                LevelMeans.from_arrays(Z, levels, sample_weight, within=True))


assert issubclass(SubtractedWithin, CumulativeMixin)


def data(n, n_levels, k=3, seed=0):
    rng = np.random.default_rng(seed)
    entity = rng.integers(0, n_levels, n)
    X = rng.standard_normal((n, k)) + rng.standard_normal((n_levels, k))[entity]
    y = X @ np.linspace(1.0, -1.0, k) + rng.standard_normal(n_levels)[entity] \
        + rng.standard_normal(n)
    return X, y, entity


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    n, n_levels, chunk = 5_000_000 // scale, 100_000 // scale, 250_000 // scale
    X, y, entity = data(n, n_levels)
    chunks = [{"X": X[i:i + chunk], "y": y[i:i + chunk], "entities": entity[i:i + chunk]}
              for i in range(0, n, chunk)]
    print(f"one-way FE: N = {n:,}, {n_levels:,} levels, K = 3; medians of {args.repeat}, "
          "interleaved")

    def exact_fit():
        return CumulativeFixedEffectsRegression().fit(X, y, entities=entity).coef_

    def subtracted_fit():
        return SubtractedWithin().fit(X, y, entities=entity).coef_

    def two_gram_fit():
        return TwoGramWithin().fit(X, y, entities=entity).coef_

    def exact_chunks():
        return CumulativeFixedEffectsRegression().fit_chunks(chunks).coef_

    def subtracted_chunks():
        return SubtractedWithin().fit_chunks(chunks).coef_

    frame = pd.DataFrame(X, columns=["x0", "x1", "x2"]).assign(y=y, entity=entity)

    def two_gram_chunks():
        return TwoGramWithin().fit_chunks(chunks).coef_

    def pyfixest_fit():
        import pyfixest as pf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pf.feols("y ~ x0 + x1 + x2 | entity", frame, vcov="iid", fixef_rm="none")

    funcs = [exact_fit, two_gram_fit, subtracted_fit, exact_chunks, two_gram_chunks,
             subtracted_chunks]
    try:
        import pyfixest  # noqa: F401
        funcs.append(pyfixest_fit)
    except ImportError:
        print("  pyfixest not installed: not timed")
    times = dict(zip([f.__name__ for f in funcs], median_times(funcs, args.repeat)))
    for name, seconds in times.items():
        print(f"  {name:<20} {seconds:8.3f} s")
    for way, label in (("fit", "one-shot fit"), ("chunks", f"streamed in {len(chunks)} chunks")):
        exact = times[f"exact_{way}"]
        print(f"  {label}: two-Gram / exact = {times[f'two_gram_{way}'] / exact:.2f}, "
              f"subtracted / exact = {times[f'subtracted_{way}'] / exact:.2f}")
    if "pyfixest_fit" in times:
        print(f"  pyfixest.feols / exact one-shot = {times['pyfixest_fit'] / times['exact_fit']:.2f}")
    for other in (two_gram_fit, subtracted_fit):
        gap = np.max(np.abs(exact_fit() - other()) / np.abs(exact_fit()))
        print(f"  max relative difference of the coefficients, exact vs {other.__name__} "
              f"(well-conditioned data): {gap:.1e}")


if __name__ == "__main__":
    main()
