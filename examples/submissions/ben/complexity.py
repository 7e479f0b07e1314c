"""How attention's cost grows with sequence length: the FLOPs of its two matrix products, and a
power-law fit ``time = coefficient * size^exponent`` to measured timings.
"""
import numpy as np

import math

import torch


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    return 2 * q_len * kv_len * (d_k + d_v)


def fit_power_law(sizes, times):
    x = np.asarray(sizes, dtype=np.float64).ravel()
    y = np.asarray(times, dtype=np.float64).ravel()
    if len(x) != len(y):
        raise ValueError("sizes and times differ in length")
    if len(x) < 2:
        raise ValueError("need two points")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("values must be positive")
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), deg=1)
    return float(slope), float(10.0 ** intercept)
