"""Hidden tests of `rope_angles` and `apply_rope` (exercise `rope`): the submission against the reference.

Head widths are at least 4 where values are compared (with 2 the consecutive-pair and two-halves
layouts coincide); offsets reach 10**6, where angles computed in float32 are visibly off.
"""

import pytest
import torch
from lm_checks import values

from grader.testing import close, expect_value_error, given, settings, st


@pytest.mark.exercise("rope", weight=3)
@settings(max_examples=12)
@given(half=st.integers(1, 8), seq_len=st.integers(1, 16), offset=st.sampled_from([0, 3, 17, 4096, 123_457, 10**6]),
       base=st.sampled_from([10000.0, 500000.0, 50.0, 1.5]), dtype=st.sampled_from([None, torch.float64, torch.float32]))
def test_hidden_rope_angles_match_reference(student, reference, half, seq_len, offset, base, dtype):
    """rope_angles equals the reference for every base, offset and dtype (angles computed in float64)"""
    kwargs = {"base": base, "offset": offset} | ({} if dtype is None else {"dtype": dtype})
    got = student.rope.rope_angles(2 * half, seq_len, **kwargs)
    expected = reference.rope.rope_angles(2 * half, seq_len, **kwargs)
    assert isinstance(got, tuple) and len(got) == 2, f"rope_angles must return (cos, sin), got {type(got).__name__}"
    close(got[0], expected[0], what=f"cos of rope_angles({2 * half}, {seq_len}, {kwargs})")
    close(got[1], expected[1], what=f"sin of rope_angles({2 * half}, {seq_len}, {kwargs})")


@pytest.mark.exercise("rope", weight=3)
@settings(max_examples=12)
@given(half=st.integers(2, 8), lead=st.lists(st.integers(1, 3), max_size=3), seq_len=st.integers(1, 8),
       offset=st.integers(0, 100), dtype=st.sampled_from([torch.float64, torch.float32]), seed=st.integers(0, 2**31 - 1))
def test_hidden_rope_apply_matches_reference(student, reference, half, lead, seq_len, offset, dtype, seed):
    """apply_rope equals the reference (consecutive pairs) for any leading dimensions, in x's dtype"""
    x = values(*lead, seq_len, 2 * half, seed=seed, scale=3.0, dtype=dtype)
    cos, sin = reference.rope.rope_angles(2 * half, seq_len, offset=offset, dtype=torch.float64)
    close(student.rope.apply_rope(x, cos, sin), reference.rope.apply_rope(x, cos, sin),
          what=f"apply_rope of x {tuple(x.shape)} ({dtype}), offset {offset}")


@pytest.mark.exercise("rope", weight=1)
def test_hidden_rope_gradient(student, reference):
    """the gradient of apply_rope with respect to x equals the reference's (a rotation back)"""
    x, g = values(2, 3, 5, 6, seed=1), values(2, 3, 5, 6, seed=2)
    cos, sin = reference.rope.rope_angles(6, 5, offset=7, dtype=torch.float64)
    _, (grad,) = student.backward(student.rope.apply_rope, x, cos, sin, wrt=(0,), grad_output=g)
    leaf = x.clone().requires_grad_(True)
    reference.rope.apply_rope(leaf, cos, sin).backward(g)
    assert grad is not None, "no gradient reaches x"
    close(grad, leaf.grad, what="gradient of apply_rope with respect to x")


@pytest.mark.exercise("rope", weight=1)
def test_hidden_rope_rejects_bad_arguments(student):
    """bad head widths, lengths, offsets and mismatched cos / sin raise ValueError"""
    for args, kwargs in [((1, 3), {}), ((5, 3), {}), ((-4, 3), {}), ((4, -1), {}), ((8, 2), {"offset": -5})]:
        expect_value_error(student.rope.rope_angles, *args, what=f"rope_angles{args} {kwargs}", **kwargs)
    cos, sin = torch.ones(4, 3), torch.zeros(4, 3)
    for shape in [(4, 4), (2, 4, 8), (3, 6), (1, 5, 6)]:
        expect_value_error(student.rope.apply_rope, torch.zeros(shape), cos, sin,
                           what=f"apply_rope(x {shape}, cos and sin (4, 3))")
