"""Returns the fitted intercept log(coefficient) instead of the coefficient (own mistake)."""

import numpy as np

VARIANT = {"module": "complexity", "breaks": ["complexity"], "misconception": "complexity.fit_log_coefficient"}


def fit_power_law(sizes, times):
    x = np.asarray(sizes, dtype=float)
    y = np.asarray(times, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2 or (x <= 0).any() or (y <= 0).any():
        raise ValueError("bad input")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)
