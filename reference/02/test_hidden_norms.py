"""Hidden tests of `LayerNorm` and `RMSNorm` (exercise `norms`): the submission against the reference.

Both hold the same weights; float64 unless a test says otherwise. Inputs include rows far from zero
(the mean must be subtracted before squaring, in LayerNorm), constant rows (variance 0), a last
dimension of 1, and epsilons from 1e-8 to 0.3.
"""

import pytest
import torch
from lm_checks import check_gradients, norm_shapes, pair, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

NormCase = named("shape", "eps", "bias", "shift", "seed", name="NormCase")


@st.composite
def cases(draw, kind):
    shape = (*draw(st.lists(st.integers(1, 3), max_size=2)), draw(st.sampled_from([1, 2, 3, 5, 8, 16])))
    eps = draw(st.sampled_from([1e-8, 1e-6, 1e-2, 0.3])) if kind == "rmsnorm" else draw(st.sampled_from([1e-5, 1e-2, 0.3]))
    bias = draw(st.booleans()) if kind == "layernorm" else False
    return NormCase(shape, eps, bias, draw(st.sampled_from([0.0, 0.0, 50.0])), draw(st.integers(0, 2**31 - 1)))


def make(kind, dim, eps, bias):
    def build(modules):
        if kind == "layernorm":
            return modules.layers.LayerNorm(dim, eps=eps, bias=bias)
        return modules.layers.RMSNorm(dim, eps=eps)
    return build


def modules_and_input(student, reference, kind, case, dtype=torch.float64):
    shape, eps, bias, shift, seed = case
    state = weights(norm_shapes("", shape[-1], kind, bias), seed)
    mine, theirs = pair(student, reference, make(kind, shape[-1], eps, bias), state, kind, dtype)
    x = values(*shape, seed=seed + 1, scale=3.0) + shift
    if x.shape[-1] > 1 and kind == "layernorm":
        x.view(-1, x.shape[-1])[0] = x.view(-1)[0]  # a constant row: variance 0
    return mine, theirs, x.to(dtype)


@pytest.mark.exercise("norms", weight=3)
@settings(max_examples=12)
@given(case=cases("layernorm"))
def test_hidden_norms_layernorm_matches_reference(student, reference, case):
    """LayerNorm equals the reference (biased variance, eps inside the root, weight and bias), rows far from 0 too"""
    mine, theirs, x = modules_and_input(student, reference, "layernorm", case)
    with torch.no_grad():
        expected = theirs(x)
    close(mine(x), expected, what=f"LayerNorm of x {tuple(x.shape)}, eps={case[1]}, bias={case[2]}")


@pytest.mark.exercise("norms", weight=3)
@settings(max_examples=12)
@given(case=cases("rmsnorm"))
def test_hidden_norms_rmsnorm_matches_reference(student, reference, case):
    """RMSNorm equals the reference (no mean subtracted, eps inside the root), rows far from 0 too"""
    mine, theirs, x = modules_and_input(student, reference, "rmsnorm", case)
    with torch.no_grad():
        expected = theirs(x)
    close(mine(x), expected, what=f"RMSNorm of x {tuple(x.shape)}, eps={case[1]}")


@pytest.mark.exercise("norms", weight=1)
@pytest.mark.parametrize("kind", ["layernorm", "rmsnorm"])
def test_hidden_norms_float32(student, reference, kind):
    """float32 modules on float32 input give float32, close to the reference"""
    case = ((2, 3, 8), 1e-2, True, 0.0, 5)
    mine, theirs, x = modules_and_input(student, reference, kind, case, torch.float32)
    with torch.no_grad():
        expected = theirs.double()(x.double()).float()
    close.scaled(10)(mine(x), expected, what=f"float32 {kind}")


@pytest.mark.exercise("norms", weight=2)
@pytest.mark.parametrize("kind", ["layernorm", "rmsnorm"])
def test_hidden_norms_gradients_reach_input_and_parameters(student, reference, kind):
    """gradients with respect to the input, the weight (and the bias) equal the reference's"""
    case = ((2, 3, 5), 1e-2, True, 0.0, 8)
    mine, theirs, x = modules_and_input(student, reference, kind, case)
    check_gradients(student, mine, theirs, (x,), values(2, 3, 5, seed=9))


@pytest.mark.exercise("norms", weight=1)
def test_hidden_norms_reject_bad_arguments(student):
    """dim < 1 or eps < 0 raises ValueError, with and without bias"""
    expect_value_error(student.layers.LayerNorm, -3, what="LayerNorm(-3)")
    expect_value_error(student.layers.LayerNorm, 0, 1e-5, False, what="LayerNorm(0, 1e-5, False)")
    expect_value_error(student.layers.LayerNorm, 4, -0.5, False, what="LayerNorm(4, -0.5, False)")
    expect_value_error(student.layers.RMSNorm, -1, what="RMSNorm(-1)")
    expect_value_error(student.layers.RMSNorm, 3, -1e-8, what="RMSNorm(3, -1e-8)")
