"""Public tests of `complexity.py` (exercise `complexity`).

`attention_matmul_flops` is compared with what `torch.utils.flop_counter.FlopCounterMode` counts for
the two products: its registered formula for `aten.mm` (2 * m * k * n), applied to the products'
shapes. (Entering FlopCounterMode itself imports torch._dynamo, seconds of test time.)
`fit_power_law` is checked on exact power laws and against `numpy.polyfit` in log space.

Tolerances of the fit: the contract does not fix the precision, and a fit computed in float32
(PyTorch's default dtype) is correct, so the exponent must match within 5e-4 and the coefficient
within a relative 5e-3; every real mistake (no logs, no exp, swapped results) is far outside.
"""

import math

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import flop_registry

from grader.testing import expect_value_error, given, settings, st

EXPONENT_TOL = 5e-4
COEFFICIENT_RTOL = 5e-3


def counted_flops(q_len: int, kv_len: int, d_k: int, d_v: int) -> int:
    """FlopCounterMode's count for (q_len, d_k) @ (d_k, kv_len) and (q_len, kv_len) @ (kv_len, d_v)."""
    mm = flop_registry[torch.ops.aten.mm]
    return mm([q_len, d_k], [d_k, kv_len]) + mm([q_len, kv_len], [kv_len, d_v])


def check_fit(got, exponent: float, coefficient: float, what: str) -> None:
    assert isinstance(got, tuple) and len(got) == 2, f"{what}: expected (exponent, coefficient), got {got!r:.200}"
    e, c = float(got[0]), float(got[1])
    ok_e = abs(e - exponent) <= EXPONENT_TOL * max(1.0, abs(exponent))
    ok_c = abs(c - coefficient) <= COEFFICIENT_RTOL * coefficient
    if ok_e and ok_c:
        return
    hint = ""
    log_c = math.log(coefficient)
    if ok_e and abs(log_c) > 0.1 and abs(c - log_c) <= 1e-3 * max(1.0, abs(log_c)):
        hint = " The coefficient is log(coefficient): exponentiate the fitted intercept."
    elif abs(e - coefficient) <= COEFFICIENT_RTOL * coefficient and abs(c - exponent) <= 1e-3:
        hint = " The two results are swapped: return (exponent, coefficient)."
    raise AssertionError(f"{what}: got (exponent, coefficient) = ({e:.6g}, {c:.6g}), expected "
                         f"({exponent:.6g}, {coefficient:.6g}).{hint}")


@st.composite
def geometric_sizes(draw, max_points=8):
    """2..max_points distinct sizes, each 1.5x to 4x the previous one (as timing sweeps are)."""
    n = draw(st.integers(2, max_points))
    size = draw(st.integers(1, 64))
    sizes = [size]
    for _ in range(n - 1):
        size = max(size + 1, round(size * draw(st.floats(1.5, 4.0))))
        sizes.append(size)
    return sizes


# --- attention_matmul_flops ---------------------------------------------------------------------

@pytest.mark.exercise("complexity", weight=1)
def test_complexity_flops_smoke_hand_example(student):
    """hand-worked examples: (1, 1, 1, 1) -> 4 and (2, 3, 4, 5) -> 2*2*3*4 + 2*2*3*5 = 108"""
    f = student.complexity.attention_matmul_flops
    got = f(1, 1, 1, 1)
    assert got == 4, f"attention_matmul_flops(1, 1, 1, 1) = {got!r}, expected 4" + (
        " (a multiply-add counts as 2 FLOPs)" if got == 2 else "")
    got = f(2, 3, 4, 5)
    assert got == 108, f"attention_matmul_flops(2, 3, 4, 5) = {got!r}, expected 108" + (
        " (a multiply-add counts as 2 FLOPs)" if got == 54 else "")


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=4)
@given(q_len=st.integers(1, 4096), kv_len=st.integers(1, 4096), d_k=st.integers(1, 256), d_v=st.integers(1, 256))
def test_complexity_flops_match_flop_counter(student, q_len, kv_len, d_k, d_v):
    """attention_matmul_flops equals FlopCounterMode's count of the two products, as an int"""
    got = student.complexity.attention_matmul_flops(q_len, kv_len, d_k, d_v)
    expected = counted_flops(q_len, kv_len, d_k, d_v)
    assert got == expected, f"attention_matmul_flops({q_len}, {kv_len}, {d_k}, {d_v}) = {got!r}, expected {expected}" + (
        " (a multiply-add counts as 2 FLOPs)" if got == expected // 2 else "")
    assert type(got) is int, f"must return an int, got {type(got).__name__} {got!r}"


# --- fit_power_law ------------------------------------------------------------------------------

@pytest.mark.exercise("complexity", weight=1)
def test_complexity_fit_smoke_hand_example(student):
    """hand-worked example: sizes [1, 2, 4], times [3, 12, 48] give exponent 2, coefficient 3"""
    got = student.complexity.fit_power_law([1, 2, 4], [3, 12, 48])
    check_fit(got, 2.0, 3.0, "fit_power_law([1, 2, 4], [3, 12, 48])")


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=4)
@given(sizes=geometric_sizes(), exponent=st.floats(-3, 3), log10_coefficient=st.floats(-6, 3))
def test_complexity_fit_recovers_exact_power_law(student, sizes, exponent, log10_coefficient):
    """on exact data time = coefficient * size^exponent, the fit recovers exponent and coefficient"""
    coefficient = 10.0 ** log10_coefficient
    times = [coefficient * s ** exponent for s in sizes]
    got = student.complexity.fit_power_law(sizes, times)
    check_fit(got, exponent, coefficient, f"fit_power_law({sizes}, {times})")


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=3)
@given(sizes=geometric_sizes(), exponent=st.floats(-3, 3), log10_coefficient=st.floats(-6, 3),
       seed=st.integers(0, 2**32 - 1))
def test_complexity_fit_matches_polyfit_on_noisy_data(student, sizes, exponent, log10_coefficient, seed):
    """on noisy timings, the fit equals numpy.polyfit(log(sizes), log(times), 1) (slope, exp(intercept))"""
    noise = np.random.default_rng(seed).lognormal(0.0, 0.3, len(sizes))
    times = [10.0 ** log10_coefficient * s ** exponent * float(n) for s, n in zip(sizes, noise)]
    slope, intercept = np.polyfit(np.log(sizes), np.log(times), 1)
    got = student.complexity.fit_power_law(sizes, times)
    check_fit(got, float(slope), math.exp(intercept), f"fit_power_law({sizes}, {times})")


@pytest.mark.exercise("complexity", weight=1)
def test_complexity_fit_accepts_tensors(student):
    """sizes and times may be 1-D tensors"""
    sizes = torch.tensor([16.0, 32.0, 64.0, 128.0], dtype=torch.float64)
    got = student.complexity.fit_power_law(sizes, 0.5 * sizes**1.5)
    check_fit(got, 1.5, 0.5, "fit_power_law(tensor([16, 32, 64, 128]), 0.5 * sizes**1.5)")


@pytest.mark.exercise("complexity", weight=1)
def test_complexity_fit_rejects_bad_input(student):
    """fewer than 2 points, unequal lengths or a non-positive size or time raise ValueError"""
    f = student.complexity.fit_power_law
    for sizes, times in [([4], [2.0]), ([], []), ([1, 2, 3], [1.0, 2.0]), ([1, 2], [1.0, 2.0, 3.0]),
                         ([0, 2, 4], [1.0, 2.0, 3.0]), ([1, -2, 4], [1.0, 2.0, 3.0]),
                         ([1, 2, 4], [1.0, 0.0, 3.0]), ([1, 2, 4], [1.0, 2.0, -3.0])]:
        expect_value_error(f, sizes, times, what=f"fit_power_law({sizes}, {times})")
