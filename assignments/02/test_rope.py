"""Public tests of `rope_angles` and `apply_rope` in `rope.py` (exercise `rope`).

The expected values are computed another way: each consecutive pair `(x[2i], x[2i+1])` read as
the complex number `x[2i] + 1j * x[2i+1]`, multiplied by `exp(1j * angle)`. A head width of at
least 4 tells consecutive pairs from the two-halves layout (with width 2 they coincide).
"""

import math

import pytest
import torch
from lm_checks import values

from grader.testing import close, expect_value_error, given, settings, st


def expected_angles(head_dim, seq_len, base=10000.0, offset=0):
    """(T, head_dim / 2) float64 angles, position by position, pair by pair, in plain Python."""
    return torch.tensor([[(offset + p) * base ** (-2 * i / head_dim) for i in range(head_dim // 2)]
                         for p in range(seq_len)], dtype=torch.float64)


def rotated(x, angles):
    """x (..., T, head_dim) with each consecutive pair turned by its angle, through complex numbers."""
    return turned(x, angles.cos(), angles.sin())


def turned(x, cos, sin):
    """x (..., T, head_dim) with each consecutive pair multiplied by cos + 1j * sin (float64)."""
    pairs = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2).contiguous())
    return torch.view_as_real(pairs * torch.complex(cos.double(), sin.double())).reshape(x.shape)


@pytest.mark.exercise("rope", weight=2)
@settings(max_examples=10)
@given(half=st.integers(1, 4), seq_len=st.integers(1, 5), offset=st.integers(0, 40),
       base=st.sampled_from([10000.0, 100.0, 2.5]), dtype=st.sampled_from([None, torch.float64]))
def test_rope_angles_match_the_formula(student, half, seq_len, offset, base, dtype):
    """cos[p, i] = cos((offset + p) * base ** (-2i / head_dim)), same for sin, in the dtype asked for (float32 by default)"""
    kwargs = {"base": base, "offset": offset} | ({} if dtype is None else {"dtype": dtype})
    cos, sin = student.rope.rope_angles(2 * half, seq_len, **kwargs)
    angles = expected_angles(2 * half, seq_len, base, offset)
    want = dtype or torch.float32
    close(cos, angles.cos().to(want), what=f"cos of rope_angles({2 * half}, {seq_len}, {kwargs})")
    close(sin, angles.sin().to(want), what=f"sin of rope_angles({2 * half}, {seq_len}, {kwargs})")


@pytest.mark.exercise("rope", weight=1)
def test_rope_angles_are_computed_in_float64(student):
    """at position 100,000 float32 angles are off by about 0.005: compute them in float64, then cast"""
    cos, sin = student.rope.rope_angles(8, 3, offset=100_000)
    angles = expected_angles(8, 3, offset=100_000)
    close(cos, angles.cos().float(), what="cos of rope_angles(8, 3, offset=100_000)")
    close(sin, angles.sin().float(), what="sin of rope_angles(8, 3, offset=100_000)")


@pytest.mark.exercise("rope", weight=2)
def test_rope_rotates_consecutive_pairs_hand_example(student):
    """head_dim 4 at position 1 (angles 1 and 0.01): the pair (x0, x1) turns by 1 radian, (x2, x3) by 0.01"""
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    cos, sin = student.rope.rope_angles(4, 1, offset=1, dtype=torch.float64)
    c1, s1, c2, s2 = math.cos(1), math.sin(1), math.cos(0.01), math.sin(0.01)
    expected = torch.tensor([[1 * c1 - 2 * s1, 1 * s1 + 2 * c1, 3 * c2 - 4 * s2, 3 * s2 + 4 * c2]],
                            dtype=torch.float64)
    close(student.rope.apply_rope(x, cos, sin), expected, what="apply_rope([1, 2, 3, 4]) at position 1")


@pytest.mark.exercise("rope", weight=2)
@settings(max_examples=10)
@given(half=st.integers(2, 4), lead=st.lists(st.integers(1, 3), max_size=2), seq_len=st.integers(1, 5),
       offset=st.integers(0, 30), seed=st.integers(0, 2**31 - 1))
def test_rope_apply_matches_complex_rotation(student, half, lead, seq_len, offset, seed):
    """apply_rope equals multiplying each consecutive pair, as a complex number, by exp(i * angle), for any leading dimensions"""
    x = values(*lead, seq_len, 2 * half, seed=seed)
    cos, sin = student.rope.rope_angles(2 * half, seq_len, offset=offset, dtype=torch.float64)
    expected = rotated(x, expected_angles(2 * half, seq_len, offset=offset))
    close(student.rope.apply_rope(x, cos, sin), expected, what=f"apply_rope of x {tuple(x.shape)}, offset {offset}")


@pytest.mark.exercise("rope", weight=1)
@settings(max_examples=6)
@given(half=st.integers(1, 4), m=st.integers(0, 20), n=st.integers(0, 20), shift=st.integers(1, 50),
       seed=st.integers(0, 2**31 - 1))
def test_rope_keeps_lengths_and_scores_depend_on_distance(student, half, m, n, shift, seed):
    """rotation keeps every vector's norm, and rope(q at m) . rope(k at n) is unchanged when m and n move together"""
    d = 2 * half
    q, k = values(1, d, seed=seed), values(1, d, seed=seed + 1)

    def at(x, position):
        cos, sin = student.rope.rope_angles(d, 1, offset=position, dtype=torch.float64)
        return student.rope.apply_rope(x, cos, sin)

    close(at(q, m).norm(), q.norm(), what=f"norm of a rotated vector (position {m})")
    close((at(q, m) * at(k, n)).sum(), (at(q, m + shift) * at(k, n + shift)).sum(),
          what=f"score of positions ({m}, {n}) vs ({m + shift}, {n + shift})")


@pytest.mark.exercise("rope", weight=1)
def test_rope_keeps_the_dtype_of_x(student):
    """cos and sin are cast to x's dtype: float64 x gives float64, float32 x gives float32"""
    x64 = values(2, 3, 4, seed=1)
    cos32, sin32 = student.rope.rope_angles(4, 3)
    cos64, sin64 = student.rope.rope_angles(4, 3, dtype=torch.float64)
    expected = rotated(x64, expected_angles(4, 3))
    close(student.rope.apply_rope(x64, cos32, sin32), turned(x64, cos32, sin32),
          what="apply_rope(float64 x, float32 cos, sin)")
    close(student.rope.apply_rope(x64.float(), cos64, sin64), expected.float(),
          what="apply_rope(float32 x, float64 cos, sin)")


@pytest.mark.exercise("rope", weight=1)
def test_rope_rejects_bad_arguments(student):
    """odd or non-positive head_dim, seq_len < 1, offset < 0, and mismatched x raise ValueError"""
    angles = student.rope.rope_angles
    for args, kwargs in [((3, 2), {}), ((0, 2), {}), ((-2, 2), {}), ((4, 0), {}), ((4, 2), {"offset": -1})]:
        expect_value_error(angles, *args, what=f"rope_angles{args} {kwargs}", **kwargs)
    cos, sin = angles(4, 3)
    expect_value_error(student.rope.apply_rope, torch.zeros(3, 6), cos, sin, what="apply_rope(x with 6 features, cos for 4)")
    expect_value_error(student.rope.apply_rope, torch.zeros(2, 4), cos, sin, what="apply_rope(x with 2 positions, cos for 3)")
