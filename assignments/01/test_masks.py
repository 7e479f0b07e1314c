"""Public tests of `causal_mask`, `sliding_window_mask` and `padding_mask` (exercise `masks`).

Convention: True means "may attend". Each mask is compared with a hand-written example and with
its definition, evaluated entry by entry in a plain loop.
"""

import pytest
import torch

from grader.testing import close, expect_value_error, given, named, settings, st

MASKS = "masks"
T_, F_ = True, False


def expect_mask(got, expected, what):
    """``got`` must be a torch.bool tensor equal to ``expected`` (a nested list of bools)."""
    expected = torch.tensor(expected, dtype=torch.bool)
    assert isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {type(got).__name__} {got!r:.80}"
    assert got.dtype == torch.bool, f"{what}: dtype must be torch.bool, got {got.dtype}"
    close(got, expected, what=what)


def causal_by_definition(T):
    return [[j <= i for j in range(T)] for i in range(T)]


def window_by_definition(T, window):
    return [[0 <= i - j < window for j in range(T)] for i in range(T)]


def padding_by_definition(lengths, T):
    return [[t < n for t in range(T)] for n in lengths]


@pytest.mark.exercise(MASKS, weight=1)
def test_masks_causal_smoke(student):
    """causal_mask(3) is [[T, F, F], [T, T, F], [T, T, T]] (each token sees itself and the past)"""
    expect_mask(student.attention.causal_mask(3), [[T_, F_, F_], [T_, T_, F_], [T_, T_, T_]],
                "causal_mask(3)")
    expect_mask(student.attention.causal_mask(1), [[T_]], "causal_mask(1)")


@pytest.mark.exercise(MASKS, weight=1)
def test_masks_sliding_window_smoke(student):
    """sliding_window_mask(4, 2): each token sees itself and the one token before it"""
    expected = [[T_, F_, F_, F_], [T_, T_, F_, F_], [F_, T_, T_, F_], [F_, F_, T_, T_]]
    expect_mask(student.attention.sliding_window_mask(4, 2), expected, "sliding_window_mask(4, 2)")
    expect_mask(student.attention.sliding_window_mask(3, 1), [[T_, F_, F_], [F_, T_, F_], [F_, F_, T_]],
                "sliding_window_mask(3, 1) (only the diagonal)")


@pytest.mark.exercise(MASKS, weight=1)
def test_masks_padding_smoke(student):
    """padding_mask([2, 0, 3]) is True at the real tokens: [[T, T, F], [F, F, F], [T, T, T]]"""
    expect_mask(student.attention.padding_mask([2, 0, 3]), [[T_, T_, F_], [F_, F_, F_], [T_, T_, T_]],
                "padding_mask([2, 0, 3])")
    expect_mask(student.attention.padding_mask([2, 0, 3], max_len=5),
                [[T_, T_, F_, F_, F_], [F_, F_, F_, F_, F_], [T_, T_, T_, F_, F_]],
                "padding_mask([2, 0, 3], max_len=5)")


@pytest.mark.exercise(MASKS, weight=1.5)
@settings(max_examples=4)
@given(T=st.integers(1, 9))
def test_masks_causal_definition(student, T):
    """causal_mask(T)[i, j] is True exactly where j <= i, a (T, T) torch.bool tensor"""
    expect_mask(student.attention.causal_mask(T), causal_by_definition(T), f"causal_mask({T})")


@pytest.mark.exercise(MASKS, weight=1.5)
@settings(max_examples=10)
@given(T=st.integers(1, 8), window=st.integers(1, 10))
def test_masks_sliding_window_definition(student, T, window):
    """sliding_window_mask(T, w)[i, j] is True exactly where 0 <= i - j < w; w >= T gives the causal mask"""
    got = student.attention.sliding_window_mask(T, window)
    expect_mask(got, window_by_definition(T, window), f"sliding_window_mask({T}, {window})")
    if window >= T:
        expect_mask(got, causal_by_definition(T),
                    f"sliding_window_mask({T}, {window}) (window >= seq_len: causal)")


# The arguments of padding_mask (lengths as passed, and as a plain list), named in a failing example.
PaddingCase = named("lengths", "lengths_list", "max_len", name="PaddingCase")


@st.composite
def padding_case(draw):
    lengths = draw(st.lists(st.integers(0, 6), min_size=1, max_size=5))
    extra = draw(st.none() | st.integers(0, 3))
    max_len = None if extra is None else max(lengths) + extra
    kind = draw(st.sampled_from(["list", "tuple", "tensor"]))
    convert = {"list": list, "tuple": tuple, "tensor": lambda x: torch.tensor(x, dtype=torch.long)}[kind]
    value = convert(lengths)
    return PaddingCase(value, lengths, max_len)


@pytest.mark.exercise(MASKS, weight=1.5)
@settings(max_examples=4)
@given(case=padding_case())
def test_masks_padding_definition(student, case):
    """padding_mask(lengths, max_len)[b, t] is True exactly where t < lengths[b] (list, tuple or tensor)"""
    value, lengths, max_len = case
    T = max(lengths) if max_len is None else max_len
    got = student.attention.padding_mask(value, max_len=max_len)
    expect_mask(got, padding_by_definition(lengths, T), f"padding_mask({value!r}, max_len={max_len})")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_device_keyword(student):
    """causal_mask and sliding_window_mask accept the keyword device= (here "cpu") and return a bool mask"""
    expect_mask(student.attention.causal_mask(3, device="cpu"), causal_by_definition(3),
                'causal_mask(3, device="cpu")')
    expect_mask(student.attention.sliding_window_mask(4, 2, device="cpu"), window_by_definition(4, 2),
                'sliding_window_mask(4, 2, device="cpu")')
    expect_mask(student.attention.causal_mask(2, device=None), causal_by_definition(2),
                "causal_mask(2, device=None)")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_causal_value_errors(student):
    """causal_mask with seq_len < 1 raises ValueError"""
    for T in (0, -2):
        expect_value_error(student.attention.causal_mask, T, what=f"causal_mask({T})")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_sliding_window_value_errors(student):
    """sliding_window_mask with window < 1 or seq_len < 1 raises ValueError"""
    for T, w in ((4, 0), (4, -1), (0, 2), (-1, 1)):
        expect_value_error(student.attention.sliding_window_mask, T, w, what=f"sliding_window_mask({T}, {w})")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_padding_value_errors(student):
    """padding_mask raises ValueError for an empty lengths, a negative length or a length above max_len"""
    expect_value_error(student.attention.padding_mask, [], what="padding_mask([])")
    expect_value_error(student.attention.padding_mask, [2, -1], what="padding_mask([2, -1])")
    expect_value_error(student.attention.padding_mask, [1, 4], max_len=3,
                       what="padding_mask([1, 4], max_len=3)")
