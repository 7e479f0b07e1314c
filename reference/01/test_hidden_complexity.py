"""Hidden tests of `complexity.py` (exercise `complexity`) against the reference.

Fit tolerances as in the public tests: exponent within 5e-4, coefficient within a relative 5e-3
(a fit computed in float32, PyTorch's default dtype, is correct; real mistakes are far outside).
"""


import numpy as np
import pytest
import torch

from grader.testing import expect_value_error, given, settings, st

EXPONENT_TOL = 5e-4
COEFFICIENT_RTOL = 5e-3


def check_fit(got, expected, what: str) -> None:
    assert isinstance(got, tuple) and len(got) == 2, f"{what}: expected (exponent, coefficient), got {got!r:.200}"
    e, c = float(got[0]), float(got[1])
    exponent, coefficient = expected
    assert abs(e - exponent) <= EXPONENT_TOL * max(1.0, abs(exponent)), (
        f"{what}: exponent {e:.6g}, expected {exponent:.6g}")
    assert abs(c - coefficient) <= COEFFICIENT_RTOL * coefficient, (
        f"{what}: coefficient {c:.6g}, expected {coefficient:.6g}")


@st.composite
def geometric_sizes(draw, max_points=10):
    n = draw(st.integers(2, max_points))
    size = draw(st.integers(1, 100))
    sizes = [size]
    for _ in range(n - 1):
        size = max(size + 1, round(size * draw(st.floats(1.5, 4.0))))
        sizes.append(size)
    return draw(st.permutations(sizes))


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=4)
@given(q_len=st.integers(1, 10**5), kv_len=st.integers(1, 10**5), d_k=st.integers(1, 1024), d_v=st.integers(1, 1024))
def test_hidden_complexity_flops_match_reference(student, reference, q_len, kv_len, d_k, d_v):
    """attention_matmul_flops matches the reference (2*L*S*d_k + 2*L*S*d_v) exactly, as an int"""
    got = student.complexity.attention_matmul_flops(q_len, kv_len, d_k, d_v)
    expected = reference.complexity.attention_matmul_flops(q_len, kv_len, d_k, d_v)
    assert got == expected, f"attention_matmul_flops({q_len}, {kv_len}, {d_k}, {d_v}) = {got!r}, expected {expected}"
    assert type(got) is int, f"must return an int, got {type(got).__name__}"


@pytest.mark.exercise("complexity", weight=1)
@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (1, 7, 3, 5), (7, 1, 5, 3), (4, 4, 1, 9), (4096, 4096, 128, 128),
                                   (100_000, 100_000, 4096, 4096)])
def test_hidden_complexity_flops_fixed_sizes(student, reference, sizes):
    """attention_matmul_flops on hand-picked sizes (asymmetric, large) equals the reference"""
    got = student.complexity.attention_matmul_flops(*sizes)
    expected = reference.complexity.attention_matmul_flops(*sizes)
    assert got == expected and type(got) is int, f"attention_matmul_flops{sizes} = {got!r}, expected {expected}"


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=16)
@given(sizes=geometric_sizes(), exponent=st.floats(-3, 3), log10_coefficient=st.floats(-8, 4))
def test_hidden_complexity_fit_exact_power_law(student, reference, sizes, exponent, log10_coefficient):
    """exact power laws (sizes in any order) are recovered as the reference recovers them"""
    times = [10.0 ** log10_coefficient * s ** exponent for s in sizes]
    got = student.complexity.fit_power_law(sizes, times)
    check_fit(got, reference.complexity.fit_power_law(sizes, times), f"fit_power_law({sizes}, {times})")


@pytest.mark.exercise("complexity", weight=2)
@settings(max_examples=6)
@given(sizes=geometric_sizes(), exponent=st.floats(-3, 3), log10_coefficient=st.floats(-8, 4),
       seed=st.integers(0, 2**32 - 1), as_tensor=st.booleans())
def test_hidden_complexity_fit_noisy_data(student, reference, sizes, exponent, log10_coefficient, seed, as_tensor):
    """noisy timings (lists or float64 tensors) give the reference's least-squares fit in log space"""
    noise = np.random.default_rng(seed).lognormal(0.0, 0.5, len(sizes))
    times = [10.0 ** log10_coefficient * s ** exponent * float(n) for s, n in zip(sizes, noise)]
    expected = reference.complexity.fit_power_law(sizes, times)
    args = (torch.tensor(sizes, dtype=torch.float64), torch.tensor(times, dtype=torch.float64)) if as_tensor else (
        sizes, times)
    got = student.complexity.fit_power_law(*args)
    check_fit(got, expected, f"fit_power_law({sizes}, {times})")


@pytest.mark.exercise("complexity", weight=1)
def test_hidden_complexity_fit_two_points(student):
    """two points determine the line exactly: (10, 1e-3), (1000, 10) give exponent 2, coefficient 1e-5"""
    got = student.complexity.fit_power_law([10, 1000], [1e-3, 10.0])
    check_fit(got, (2.0, 1e-5), "fit_power_law([10, 1000], [1e-3, 10])")


@pytest.mark.exercise("complexity", weight=2)
def test_hidden_complexity_fit_rejects_bad_input(student):
    """fewer than 2 points, unequal lengths, or a size or time <= 0 raise ValueError"""
    f = student.complexity.fit_power_law
    cases = [([5], [1.0]), ([], []), ([1, 2], [1.0]), ([1], [1.0, 2.0]), ([1, 2, 3, 4], [1.0, 2.0, 3.0]),
             ([0, 2], [1.0, 2.0]), ([-1, 2], [1.0, 2.0]), ([1, 2], [0.0, 2.0]), ([1, 2], [1.0, -2.0]),
             ([1, 2, 4, 8], [1.0, 2.0, 3.0, -1e-9]), ([1.5, -0.5, 3], [1.0, 1.0, 1.0])]
    for sizes, times in cases:
        expect_value_error(f, sizes, times, what=f"fit_power_law({sizes}, {times})")
    expect_value_error(f, torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 2.0]),
                       what="fit_power_law(tensor of 3, tensor of 2)")


@pytest.mark.exercise("complexity", weight=1)
@pytest.mark.parametrize("sizes", [(3, 5, 4, 2), (16, 9, 8, 32)])
def test_hidden_complexity_flops_match_flop_counter_mode(student, sizes):
    """attention_matmul_flops equals what torch.utils.flop_counter.FlopCounterMode counts for the
    two products (scores, then weighted sum)"""
    from torch.utils.flop_counter import FlopCounterMode

    q_len, kv_len, d_k, d_v = sizes
    query, key, value = torch.randn(q_len, d_k), torch.randn(kv_len, d_k), torch.randn(kv_len, d_v)
    with FlopCounterMode(display=False) as counter:
        (query @ key.T) @ value
    got = student.complexity.attention_matmul_flops(*sizes)
    assert got == counter.get_total_flops(), (
        f"attention_matmul_flops{sizes} = {got!r}, FlopCounterMode counts {counter.get_total_flops()}")
