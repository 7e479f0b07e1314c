"""Public tests of `FeedForward` in `layers.py` (exercise `ffn`).

Your layer holds the weights of the test and is compared with the same computation written with
`torch.nn.functional`: `down(gelu(up(x)))` with the exact GELU, or `down(silu(gate(x)) * up(x))`.
"""

import pytest
import torch
import torch.nn.functional as F
from lm_checks import ffn_shapes, loaded, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

FFNCase = named("d_model", "d_ff", "bias", "seed", "dtype", "leading_shape", name="FFNCase")


@st.composite
def ffn_cases(draw, kind):
    """(d_model, d_ff, bias, seed, dtype, leading shape)."""
    return FFNCase(draw(st.integers(1, 6)), draw(st.integers(1, 8)), draw(st.booleans()),
                   draw(st.integers(0, 2**31 - 1)), draw(st.sampled_from([torch.float64, torch.float32])),
                   tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))))


def linear(x, state, name):
    return F.linear(x, state[f"{name}.weight"], state.get(f"{name}.bias"))


def torch_ffn(kind, state, x):
    """The layer written with torch.nn.functional (float64)."""
    state = {k: v.double() for k, v in state.items()}
    x = x.double()
    if kind == "gelu":
        return linear(F.gelu(linear(x, state, "up")), state, "down")
    return linear(F.silu(linear(x, state, "gate")) * linear(x, state, "up"), state, "down")


def compare(student, kind, case):
    d_model, d_ff, bias, seed, dtype, lead = case
    state = {k: v.to(dtype) for k, v in weights(ffn_shapes("", d_model, d_ff, kind, bias), seed).items()}
    module = loaded(student.layers.FeedForward(d_model, d_ff, kind, bias), state,
                    f'FeedForward({d_model}, {d_ff}, "{kind}", bias={bias})', dtype)
    x = values(*lead, d_model, seed=seed + 1, scale=3.0, dtype=dtype)
    close.scaled(10)(module(x), torch_ffn(kind, state, x).to(dtype), what=f"{kind} FFN of x {tuple(x.shape)}")


@pytest.mark.exercise("ffn", weight=3)
@settings(max_examples=10)
@given(case=ffn_cases("gelu"))
def test_ffn_gelu_matches_torch(student, case):
    """kind="gelu": down(gelu(up(x))) with the exact (erf) GELU, as torch.nn.functional.gelu"""
    compare(student, "gelu", case)


@pytest.mark.exercise("ffn", weight=3)
@settings(max_examples=10)
@given(case=ffn_cases("swiglu"))
def test_ffn_swiglu_matches_torch(student, case):
    """kind="swiglu": down(silu(gate(x)) * up(x))"""
    compare(student, "swiglu", case)


@pytest.mark.exercise("ffn", weight=1)
def test_ffn_gelu_is_the_exact_one(student):
    """the GELU is x * Phi(x) (erf form): up and down are identities, so the layer is gelu itself"""
    eye = torch.eye(3, dtype=torch.float64)
    module = loaded(student.layers.FeedForward(3, 3, "gelu"), {"up.weight": eye, "down.weight": eye},
                    'FeedForward(3, 3, "gelu")')
    x = torch.tensor([[-2.0, 0.5, 1.5]], dtype=torch.float64)
    expected = x * 0.5 * (1 + torch.erf(x / 2 ** 0.5))
    close(module(x), expected, what="gelu([-2.0, 0.5, 1.5])")


@pytest.mark.exercise("ffn", weight=2)
@pytest.mark.parametrize("kind", ["gelu", "swiglu"])
@pytest.mark.parametrize("bias", [False, True])
def test_ffn_structure(student, kind, bias):
    """the layer holds exactly up and down (and gate for swiglu), Linear layers with bias=bias"""
    state = student.layers.FeedForward(4, 6, kind, bias).state_dict()
    expected = ffn_shapes("", 4, 6, kind, bias)
    got = {name: tuple(value.shape) for name, value in state.items()}
    assert got == expected, f'FeedForward(4, 6, "{kind}", bias={bias}) holds {got}, expected {expected}'


@pytest.mark.exercise("ffn", weight=1)
def test_ffn_rejects_bad_arguments(student):
    """an unknown kind, or a size < 1, raises ValueError"""
    expect_value_error(student.layers.FeedForward, 4, 8, "relu", what='FeedForward(4, 8, "relu")')
    expect_value_error(student.layers.FeedForward, 0, 8, what="FeedForward(0, 8)")
    expect_value_error(student.layers.FeedForward, 4, 0, "gelu", what='FeedForward(4, 0, "gelu")')
