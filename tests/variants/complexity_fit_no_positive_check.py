"""Checks the number of points but not that values are positive: log of 0 / negatives (own mistake)."""

import numpy as np

VARIANT = {"module": "complexity", "breaks": ["complexity"]}


def fit_power_law(sizes, times):
    x = np.asarray(sizes, dtype=float)
    y = np.asarray(times, dtype=float)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("need at least two (size, time) pairs")
    with np.errstate(all="ignore"):
        slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(np.exp(intercept))
