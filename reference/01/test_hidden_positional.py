"""Hidden tests of `sinusoidal_positional_encoding` (exercise `posenc`) against the reference.

The reference computes the angles in float64, so it is within rounding of the exact table; the
contract's tolerance is an absolute 1e-5 + 1e-7 * seq_len. Widths stay <= 64 (at widths of ~120 and
more, some correct float32 evaluations of the formula come within a few percent of that tolerance).
"""

import pytest
import torch

from grader.testing import expect_value_error, given, settings, st


def check(student, reference, seq_len: int, d_model: int) -> None:
    got = student.positional.sinusoidal_positional_encoding(seq_len, d_model)
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
    assert tuple(got.shape) == (seq_len, d_model), f"shape {tuple(got.shape)}, expected {(seq_len, d_model)}"
    assert got.dtype == torch.float32, f"dtype {got.dtype}, expected torch.float32"
    expected = reference.positional.sinusoidal_positional_encoding(seq_len, d_model)
    atol = 1e-5 + 1e-7 * seq_len
    torch.testing.assert_close(
        got.double(), expected.double(), rtol=0, atol=atol,
        msg=lambda m: f"sinusoidal_positional_encoding({seq_len}, {d_model}) (allowed error {atol:.3g}): {m}")


@pytest.mark.exercise("posenc", weight=3)
@settings(max_examples=4)
@given(seq_len=st.integers(1, 512), half=st.integers(1, 32))
def test_hidden_posenc_matches_reference(student, reference, seq_len, half):
    """the table matches the reference for many (seq_len, d_model), float32, shape (seq_len, d_model)"""
    check(student, reference, seq_len, 2 * half)


@pytest.mark.exercise("posenc", weight=2)
@pytest.mark.parametrize("seq_len, d_model", [(4096, 64), (4096, 2), (3000, 48), (2500, 64), (1024, 12)])
def test_hidden_posenc_long_sequences(student, reference, seq_len, d_model):
    """long sequences stay within 1e-5 + 1e-7 * seq_len of the reference"""
    check(student, reference, seq_len, d_model)


@pytest.mark.exercise("posenc", weight=1)
@pytest.mark.parametrize("seq_len, d_model", [(1, 2), (1, 64), (2, 2), (7, 2)])
def test_hidden_posenc_edge_sizes(student, reference, seq_len, d_model):
    """the smallest sizes (one position, d_model = 2) work"""
    check(student, reference, seq_len, d_model)


@pytest.mark.exercise("posenc", weight=1)
def test_hidden_posenc_rejects_bad_sizes(student):
    """odd d_model, d_model < 2 and seq_len < 1 raise ValueError"""
    f = student.positional.sinusoidal_positional_encoding
    for seq_len, d_model in [(4, 3), (4, 1), (1, 5), (10, 63), (4, 0), (4, -2), (4, -1), (0, 4), (-1, 4),
                             (-5, 2), (0, 0), (0, 3)]:
        expect_value_error(f, seq_len, d_model, what=f"sinusoidal_positional_encoding({seq_len}, {d_model})")
