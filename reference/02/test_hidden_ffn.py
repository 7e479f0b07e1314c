"""Hidden tests of `FeedForward` (exercise `ffn`): the submission against the reference, float64."""

import pytest
import torch
from lm_checks import check_gradients, ffn_shapes, pair, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

FFNCase = named("kind", "d_model", "d_ff", "bias", "leading_shape", "seed", name="FFNCase")


@st.composite
def cases(draw):
    """(kind, d_model, d_ff, bias, leading shape, seed)."""
    return FFNCase(draw(st.sampled_from(["gelu", "swiglu"])), draw(st.integers(1, 12)), draw(st.integers(1, 16)),
                   draw(st.booleans()), tuple(draw(st.lists(st.integers(1, 3), max_size=2))),
                   draw(st.integers(0, 2**31 - 1)))


def modules_and_input(student, reference, case, dtype=torch.float64):
    kind, d, d_ff, bias, lead, seed = case
    state = weights(ffn_shapes("", d, d_ff, kind, bias), seed)
    mine, theirs = pair(student, reference, lambda m: m.layers.FeedForward(d, d_ff, kind, bias), state,
                        f'FeedForward({d}, {d_ff}, "{kind}", bias={bias})', dtype)
    return mine, theirs, values(*lead, d, seed=seed + 1, scale=3.0, dtype=dtype)


@pytest.mark.exercise("ffn", weight=4)
@settings(max_examples=15)
@given(case=cases())
def test_hidden_ffn_matches_reference(student, reference, case):
    """FeedForward equals the reference: exact GELU, or down(silu(gate(x)) * up(x)), with and without biases"""
    mine, theirs, x = modules_and_input(student, reference, case)
    with torch.no_grad():
        expected = theirs(x)
    close(mine(x), expected, what=f'{case[0]} FFN of x {tuple(x.shape)}')


@pytest.mark.exercise("ffn", weight=1)
@pytest.mark.parametrize("kind", ["gelu", "swiglu"])
def test_hidden_ffn_float32(student, reference, kind):
    """a float32 layer on float32 input gives float32, close to the reference"""
    mine, theirs, x = modules_and_input(student, reference, (kind, 6, 10, True, (2, 3), 4), torch.float32)
    with torch.no_grad():
        expected = theirs.double()(x.double()).float()
    close.scaled(10)(mine(x), expected, what=f"float32 {kind} FFN")


@pytest.mark.exercise("ffn", weight=2)
@pytest.mark.parametrize("kind", ["gelu", "swiglu"])
def test_hidden_ffn_gradients(student, reference, kind):
    """gradients with respect to the input and every weight and bias equal the reference's"""
    mine, theirs, x = modules_and_input(student, reference, (kind, 4, 6, True, (2, 3), 7))
    check_gradients(student, mine, theirs, (x,), values(2, 3, 4, seed=8))


@pytest.mark.exercise("ffn", weight=1)
@settings(max_examples=4)
@given(d=st.integers(1, 9), d_ff=st.integers(1, 9), bias=st.booleans())
def test_hidden_ffn_structure(student, d, d_ff, bias):
    """exactly the contract's Linear layers for both kinds; swiglu is the default kind"""
    for kind in ("gelu", "swiglu", None):
        args = (d, d_ff) if kind is None else (d, d_ff, kind)
        state = student.layers.FeedForward(*args, bias=bias).state_dict()
        got = {name: tuple(value.shape) for name, value in state.items()}
        assert got == ffn_shapes("", d, d_ff, kind or "swiglu", bias), f"FeedForward{args} holds {got}"


@pytest.mark.exercise("ffn", weight=1)
def test_hidden_ffn_rejects_bad_arguments(student):
    """unknown kinds and sizes < 1 raise ValueError"""
    for args in [(4, 8, "GELU"), (4, 8, "mlp"), (-1, 8, "swiglu"), (4, -2, "gelu"), (0, 0, "gelu")]:
        expect_value_error(student.layers.FeedForward, *args, what=f"FeedForward{args}")
