"""Hidden tests of `causal_mask`, `sliding_window_mask` and `padding_mask` (exercise `masks`).

The submission's masks are compared with the reference's on more sizes than the public tests,
`lengths` is passed as a list, a tuple and an integer tensor (int64 and int32), with `max_len`
given and None, and every ValueError the contract names is checked.
"""

import pytest
import torch

from grader.testing import close, expect_value_error, given, named, settings, st

MASKS = "masks"


def expect_same_mask(got, expected, what):
    """``got`` must be a torch.bool tensor of ``expected``'s shape and entries."""
    assert isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {type(got).__name__} {got!r:.80}"
    assert got.dtype == torch.bool, f"{what}: dtype must be torch.bool, got {got.dtype}"
    assert tuple(got.shape) == tuple(expected.shape), \
        f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    close(got.cpu(), expected.cpu(), what=what)  # exact for bools; a large mask shown around a difference


@pytest.mark.exercise(MASKS, weight=2)
@settings(max_examples=4)
@given(T=st.integers(1, 40))
def test_masks_hidden_causal_matches_reference(student, reference, T):
    """causal_mask(T) equals the reference (T up to 40)"""
    expect_same_mask(student.attention.causal_mask(T), reference.attention.causal_mask(T),
                     f"causal_mask({T})")


@pytest.mark.exercise(MASKS, weight=2)
@settings(max_examples=4)
@given(T=st.integers(1, 30), window=st.integers(1, 35))
def test_masks_hidden_sliding_window_matches_reference(student, reference, T, window):
    """sliding_window_mask(T, w) equals the reference (T up to 30, w up to 35)"""
    expect_same_mask(student.attention.sliding_window_mask(T, window),
                     reference.attention.sliding_window_mask(T, window),
                     f"sliding_window_mask({T}, {window})")


@pytest.mark.exercise(MASKS, weight=1)
@settings(max_examples=4)
@given(T=st.integers(1, 20), extra=st.integers(0, 5))
def test_masks_hidden_window_edge_cases(student, T, extra):
    """window >= seq_len gives the causal mask; window 1 gives the identity (each token sees only itself)"""
    expect_same_mask(student.attention.sliding_window_mask(T, T + extra), student.attention.causal_mask(T),
                     f"sliding_window_mask({T}, {T + extra}) vs causal_mask({T})")
    expect_same_mask(student.attention.sliding_window_mask(T, 1), torch.eye(T, dtype=torch.bool),
                     f"sliding_window_mask({T}, 1)")


# The arguments of padding_mask (lengths as passed, and as a plain list), named in a failing example.
PaddingCase = named("lengths", "lengths_list", "max_len", name="PaddingCase")


@st.composite
def padding_case(draw):
    lengths = draw(st.lists(st.integers(0, 12), min_size=1, max_size=8))
    extra = draw(st.none() | st.integers(0, 4))
    max_len = None if extra is None else max(lengths) + extra
    kind = draw(st.sampled_from(["list", "tuple", "int64", "int32"]))
    value = {"list": list, "tuple": tuple, "int64": lambda x: torch.tensor(x, dtype=torch.int64),
             "int32": lambda x: torch.tensor(x, dtype=torch.int32)}[kind](lengths)
    return PaddingCase(value, lengths, max_len)


@pytest.mark.exercise(MASKS, weight=2)
@settings(max_examples=8)
@given(case=padding_case())
def test_masks_hidden_padding_matches_reference(student, reference, case):
    """padding_mask equals the reference: lengths list, tuple or int64/int32 tensor; max_len None or given"""
    value, lengths, max_len = case
    expected = reference.attention.padding_mask(list(lengths), max_len=max_len)
    got = student.attention.padding_mask(value, max_len=max_len)
    expect_same_mask(got, expected, f"padding_mask({value!r}, max_len={max_len})")
    if max_len is None:  # the default: the positional call without max_len
        expect_same_mask(student.attention.padding_mask(value), expected, f"padding_mask({value!r})")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_hidden_padding_edge_cases(student):
    """padding_mask: all-zero lengths give a (B, 0) mask; lengths equal to max_len fill the row"""
    expect_same_mask(student.attention.padding_mask([0, 0]), torch.zeros(2, 0, dtype=torch.bool),
                     "padding_mask([0, 0])")
    expect_same_mask(student.attention.padding_mask([0], max_len=2), torch.zeros(1, 2, dtype=torch.bool),
                     "padding_mask([0], max_len=2)")
    expect_same_mask(student.attention.padding_mask(torch.tensor([3, 1]), max_len=3),
                     torch.tensor([[True, True, True], [True, False, False]]),
                     "padding_mask(tensor([3, 1]), max_len=3)")
    expect_same_mask(student.attention.padding_mask((4,)), torch.ones(1, 4, dtype=torch.bool),
                     "padding_mask((4,))")


@pytest.mark.exercise(MASKS, weight=0.5)
def test_masks_hidden_device_keyword(student, reference):
    """device= is keyword-only and accepted by causal_mask and sliding_window_mask ("cpu" and None)"""
    for device in ("cpu", None):
        expect_same_mask(student.attention.causal_mask(5, device=device), reference.attention.causal_mask(5),
                         f"causal_mask(5, device={device!r})")
        expect_same_mask(student.attention.sliding_window_mask(5, 3, device=device),
                         reference.attention.sliding_window_mask(5, 3),
                         f"sliding_window_mask(5, 3, device={device!r})")


@pytest.mark.exercise(MASKS, weight=1)
def test_masks_hidden_causal_value_errors(student):
    """causal_mask raises ValueError for seq_len 0, -1 and -10"""
    for T in (0, -1, -10):
        expect_value_error(student.attention.causal_mask, T, what=f"causal_mask({T})")


@pytest.mark.exercise(MASKS, weight=1)
def test_masks_hidden_sliding_window_value_errors(student):
    """sliding_window_mask raises ValueError for window < 1 or seq_len < 1"""
    for T, w in ((5, 0), (5, -3), (1, 0), (0, 1), (0, 5), (-2, 3), (-2, -2)):
        expect_value_error(student.attention.sliding_window_mask, T, w, what=f"sliding_window_mask({T}, {w})")


@pytest.mark.exercise(MASKS, weight=1.5)
def test_masks_hidden_padding_value_errors(student):
    """padding_mask raises ValueError for empty lengths, a negative length, or a length above max_len"""
    cases = [
        (([],), {}, "padding_mask([])"),
        (((),), {}, "padding_mask(())"),
        ((torch.tensor([], dtype=torch.long),), {}, "padding_mask(tensor([]))"),
        (([], ), {"max_len": 3}, "padding_mask([], max_len=3)"),
        (([-1],), {}, "padding_mask([-1])"),
        (([3, -2],), {}, "padding_mask([3, -2])"),
        ((torch.tensor([1, -1]),), {}, "padding_mask(tensor([1, -1]))"),
        (([2, -1],), {"max_len": 4}, "padding_mask([2, -1], max_len=4)"),
        (([5],), {"max_len": 4}, "padding_mask([5], max_len=4)"),
        ((torch.tensor([2, 7]),), {"max_len": 6}, "padding_mask(tensor([2, 7]), max_len=6)"),
        (((3, 1),), {"max_len": 0}, "padding_mask((3, 1), max_len=0)"),
    ]
    for args, kwargs, what in cases:
        expect_value_error(student.attention.padding_mask, *args, what=what, **kwargs)
