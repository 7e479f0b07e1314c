"""Hidden tests of `CrossAttention` (exercise `cross`): the submission against the reference, float64.

Masks include batch rows with no real encoder position (their output is `out_proj`'s bias).
"""

import pytest
import torch
from lm_checks import attention_shapes, check_gradients, pair, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

# One drawn case, named in a failing example ("memory_mask = ...").
CrossCase = named("d_model", "n_heads", "bias", "B", "T", "S", "seed", "memory_mask", name="CrossCase")


@st.composite
def cases(draw):
    n_heads = draw(st.integers(1, 4))
    d, B = n_heads * draw(st.integers(1, 4)), draw(st.integers(1, 3))
    T, S, seed = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(0, 2**31 - 1))
    mask = None
    if draw(st.booleans()):
        mask = torch.rand(B, S, generator=torch.Generator().manual_seed(seed)) < draw(st.sampled_from([0.3, 0.7]))
    return CrossCase(d, n_heads, draw(st.booleans()), B, T, S, seed, mask)


def modules_and_inputs(student, reference, case, dtype=torch.float64):
    d, H, bias, B, T, S, seed, mask = case
    mine, theirs = pair(student, reference, lambda m: m.encdec.CrossAttention(d, H, bias=bias),
                        weights(attention_shapes("", d, bias), seed), f"CrossAttention({d}, {H}, bias={bias})", dtype)
    return mine, theirs, values(B, T, d, seed=seed + 1, dtype=dtype), values(B, S, d, seed=seed + 2, dtype=dtype)


@pytest.mark.exercise("cross", weight=5)
@settings(max_examples=15)
@given(case=cases())
def test_hidden_cross_matches_reference(student, reference, case):
    """CrossAttention equals the reference: no causal mask, padding never attended, all-padding rows give out_proj's bias"""
    mine, theirs, x, memory = modules_and_inputs(student, reference, case)
    kwargs = {} if case[-1] is None else {"memory_mask": case[-1]}
    with torch.no_grad():
        expected = theirs(x, memory, **kwargs)
    got = mine(x, memory, **kwargs)
    assert not got.isnan().any(), "NaN in the output"
    close(got, expected, what=f"cross-attention of x {tuple(x.shape)} over memory {tuple(memory.shape)}, "
          f"mask {None if case[-1] is None else case[-1].tolist()}")


@pytest.mark.exercise("cross", weight=1)
def test_hidden_cross_float32(student, reference):
    """float32 modules give float32 output close to the reference's"""
    case = (8, 2, True, 2, 3, 5, 4, torch.tensor([[True, True, False, True, False], [True] * 5]))
    mine, theirs, x, memory = modules_and_inputs(student, reference, case, torch.float32)
    with torch.no_grad():
        expected = theirs.double()(x.double(), memory.double(), case[-1]).float()
    close.scaled(10)(mine(x, memory, case[-1]), expected, what="float32 cross-attention")


@pytest.mark.exercise("cross", weight=2)
def test_hidden_cross_gradients(student, reference):
    """gradients with respect to x, memory and every parameter equal the reference's, padding and all-padding rows included"""
    mask = torch.tensor([[True, False, True, False], [False] * 4])
    case = (6, 3, True, 2, 3, 4, 5, mask)
    mine, theirs, x, memory = modules_and_inputs(student, reference, case)
    check_gradients(student, mine, theirs, (x, memory), values(2, 3, 6, seed=6), wrt=(0, 1), memory_mask=mask)


@pytest.mark.exercise("cross", weight=1)
def test_hidden_cross_rejects_bad_sizes(student):
    """indivisible widths and sizes < 1 raise ValueError, with and without bias"""
    for args in [(10, 4), (3, 2), (-4, 2), (4, -2)]:
        for bias in (False, True):
            expect_value_error(student.encdec.CrossAttention, *args, bias=bias, what=f"CrossAttention{args}, bias={bias}")
