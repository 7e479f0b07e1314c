"""Public tests of `sinusoidal_positional_encoding` in `positional.py` (exercise `posenc`).

The table is compared with the formula evaluated in float64. Any float32 evaluation of the formula is
correct: the contract accepts an absolute error up to 1e-5 + 1e-7 * seq_len (a float32 angle at
position 2048 is already off by about 1e-4), with no relative tolerance. A table computed with a
common mistake (sine and cosine swapped, ...) is named by `public_misconceptions.py`.
"""

import math

import pytest
import torch

from grader.testing import Close, expect_value_error, given, settings, st


def exact_table(seq_len: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...), in float64."""
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,)
    angle = pos / 10000.0 ** (two_i / d_model)  # (T, d/2)
    table = torch.empty(seq_len, d_model, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = angle.sin(), angle.cos()
    return table


def tolerance(seq_len: int) -> float:
    return 1e-5 + 1e-7 * seq_len


def check_table(student, seq_len: int, d_model: int) -> None:
    got = student.positional.sinusoidal_positional_encoding(seq_len, d_model)
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
    assert tuple(got.shape) == (seq_len, d_model), (
        f"shape {tuple(got.shape)}, expected (seq_len, d_model) = {(seq_len, d_model)}")
    expected = exact_table(seq_len, d_model)
    atol = tolerance(seq_len)
    error = (got.double() - expected).abs()
    if error.max() <= atol:
        return
    index = tuple(int(i) for i in torch.nonzero(error == error.max())[0])
    raise AssertionError(
        f"sinusoidal_positional_encoding({seq_len}, {d_model}) differs from the formula by up to "
        f"{error.max().item():.3g} at [pos, column] = {list(index)} (allowed: {atol:.3g}): got "
        f"{got[index].item():.6g}, expected {expected[index].item():.6g}.")


@pytest.mark.exercise("posenc", weight=1)
def test_posenc_smoke_hand_example(student):
    """hand-worked example: seq_len=2, d_model=4 gives [[0, 1, 0, 1], [sin 1, cos 1, sin 0.01, cos 0.01]]"""
    got = student.positional.sinusoidal_positional_encoding(2, 4)
    expected = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                             [math.sin(1.0), math.cos(1.0), math.sin(0.01), math.cos(0.01)]])
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 4), f"expected a (2, 4) tensor, got {got!r:.200}"
    Close(rtol=0.0, atol=tolerance(2))(got.double(), expected.double(), what="encoding")


@pytest.mark.exercise("posenc", weight=1)
@settings(max_examples=4)
@given(seq_len=st.integers(1, 40), half=st.integers(1, 16))
def test_posenc_shape_and_dtype(student, seq_len, half):
    """the table is a float32 tensor of shape (seq_len, d_model)"""
    got = student.positional.sinusoidal_positional_encoding(seq_len, 2 * half)
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
    assert tuple(got.shape) == (seq_len, 2 * half), f"shape {tuple(got.shape)}, expected {(seq_len, 2 * half)}"
    assert got.dtype == torch.float32, f"dtype {got.dtype}, expected torch.float32"


@pytest.mark.exercise("posenc", weight=3)
@settings(max_examples=4)
@given(seq_len=st.integers(1, 300), half=st.integers(1, 32))
def test_posenc_matches_formula(student, seq_len, half):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...), within 1e-5 + 1e-7 * seq_len"""
    check_table(student, seq_len, 2 * half)


@pytest.mark.exercise("posenc", weight=1)
@pytest.mark.parametrize("seq_len, d_model", [(4096, 64), (2048, 2)])
def test_posenc_long_sequence(student, seq_len, d_model):
    """long sequences (4096 positions) stay within 1e-5 + 1e-7 * seq_len of the formula"""
    check_table(student, seq_len, d_model)


@pytest.mark.exercise("posenc", weight=1)
def test_posenc_rejects_bad_sizes(student):
    """odd d_model, d_model < 2 and seq_len < 1 raise ValueError"""
    f = student.positional.sinusoidal_positional_encoding
    for seq_len, d_model in [(4, 3), (4, 1), (4, 0), (4, -2), (0, 4), (-1, 4)]:
        expect_value_error(f, seq_len, d_model, what=f"sinusoidal_positional_encoding({seq_len}, {d_model})")
