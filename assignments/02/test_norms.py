"""Public tests of `LayerNorm` and `RMSNorm` in `layers.py` (exercise `norms`).

Your modules are compared with `torch.nn.LayerNorm` and `torch.nn.RMSNorm` holding the same weight
(and bias), in float64 and in float32, over inputs of several shapes, with several epsilons (a large
one shows whether `eps` sits inside the square root).
"""

import pytest
import torch
from lm_checks import loaded, norm_shapes, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

EPSILONS = (1e-5, 1e-2, 0.5)
NormCase = named("shape", "eps", "bias", "seed", "dtype", name="NormCase")


@st.composite
def norm_cases(draw, kind):
    """(shape, eps, bias, seed, dtype): up to two leading dimensions, a last dimension of 1..8."""
    shape = (*draw(st.lists(st.integers(1, 3), max_size=2)), draw(st.integers(1, 8)))
    bias = draw(st.booleans()) if kind == "layernorm" else False
    return NormCase(shape, draw(st.sampled_from(EPSILONS)), bias, draw(st.integers(0, 2**31 - 1)),
                    draw(st.sampled_from([torch.float64, torch.float32])))


def student_norm(student, kind, dim, eps, bias, state, dtype):
    if kind == "layernorm":
        module = student.layers.LayerNorm(dim, eps=eps, bias=bias)
    else:
        module = student.layers.RMSNorm(dim, eps=eps)
    return loaded(module, state, f"{kind} over {dim} features", dtype)


def torch_norm(kind, dim, eps, bias, state, dtype):
    """PyTorch's norm holding the same values (rounded to `dtype`), computing in float64."""
    module = torch.nn.LayerNorm(dim, eps=eps, bias=bias) if kind == "layernorm" else torch.nn.RMSNorm(dim, eps=eps)
    module.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    return module.double()


def compare_with_torch(student, kind, case):
    shape, eps, bias, seed, dtype = case
    dim = shape[-1]
    state = weights(norm_shapes("", dim, kind, bias), seed)
    x = values(*shape, seed=seed + 1, scale=3.0, dtype=dtype)
    got = student_norm(student, kind, dim, eps, bias, state, dtype)(x)
    with torch.no_grad():
        expected = torch_norm(kind, dim, eps, bias, state, dtype)(x.double()).to(dtype)
    close.scaled(10)(got, expected, what=f"{kind}(x) for x of shape {shape}, eps={eps}")


@pytest.mark.exercise("norms", weight=3)
@settings(max_examples=10)
@given(case=norm_cases("layernorm"))
def test_norms_layernorm_matches_torch(student, case):
    """LayerNorm matches torch.nn.LayerNorm(dim, eps=eps, bias=bias) with the same weight and bias"""
    compare_with_torch(student, "layernorm", case)


@pytest.mark.exercise("norms", weight=3)
@settings(max_examples=10)
@given(case=norm_cases("rmsnorm"))
def test_norms_rmsnorm_matches_torch(student, case):
    """RMSNorm matches torch.nn.RMSNorm(dim, eps=eps) with the same weight"""
    compare_with_torch(student, "rmsnorm", case)


@pytest.mark.exercise("norms", weight=1)
def test_norms_layernorm_of_a_constant_row_is_its_bias(student):
    """a row whose values are all equal has variance 0: LayerNorm gives its bias (no NaN, eps inside the root)"""
    state = {"weight": torch.full((4,), 2.0), "bias": torch.tensor([0.5, -1.0, 0.0, 3.0])}
    module = loaded(student.layers.LayerNorm(4, eps=1e-2), state, "LayerNorm(4)")
    x = torch.tensor([[7.0, 7.0, 7.0, 7.0], [1.0, -1.0, 1.0, -1.0]], dtype=torch.float64)
    expected = torch.stack([state["bias"], 2 * torch.tensor([1.0, -1.0, 1.0, -1.0]) / (1.01 ** 0.5) + state["bias"]])
    close(module(x), expected.double(), what="LayerNorm of [[7, 7, 7, 7], [1, -1, 1, -1]]")


@pytest.mark.exercise("norms", weight=1)
def test_norms_parameters_start_at_ones_and_zeros(student):
    """weight starts at ones, bias at zeros; LayerNorm(bias=False) has bias None and RMSNorm has no bias"""
    state = student.layers.LayerNorm(3).state_dict()
    assert sorted(state) == ["bias", "weight"], f"LayerNorm(3) holds {sorted(state)}, expected bias and weight"
    close(state["weight"], torch.ones(3), what="LayerNorm(3).weight")
    close(state["bias"], torch.zeros(3), what="LayerNorm(3).bias")
    plain = student.layers.LayerNorm(3, bias=False)
    assert sorted(plain.state_dict()) == ["weight"], "LayerNorm(3, bias=False) must hold only a weight"
    assert plain.bias is None, "LayerNorm(3, bias=False).bias must be None"
    rms = student.layers.RMSNorm(5).state_dict()
    assert sorted(rms) == ["weight"], f"RMSNorm(5) holds {sorted(rms)}, expected only weight"
    close(rms["weight"], torch.ones(5), what="RMSNorm(5).weight")


@pytest.mark.exercise("norms", weight=1)
@pytest.mark.parametrize("kind", ["layernorm", "rmsnorm"])
def test_norms_gradients_match_torch(student, kind):
    """the gradient with respect to the input matches PyTorch's (float64)"""
    state = weights(norm_shapes("", 6, kind, True), seed=3)
    x = values(2, 3, 6, seed=4)
    g = values(2, 3, 6, seed=5)
    module = student_norm(student, kind, 6, 1e-2, True, state, torch.float64)
    _, (grad,) = student.backward(module, x, wrt=(0,), grad_output=g)
    leaf = x.clone().requires_grad_(True)
    torch_norm(kind, 6, 1e-2, True, state, torch.float64)(leaf).backward(g)
    assert grad is not None, "no gradient reaches the input"
    close(grad, leaf.grad, what=f"gradient of {kind} with respect to x")


@pytest.mark.exercise("norms", weight=1)
def test_norms_reject_bad_arguments(student):
    """dim < 1 or eps < 0 raises ValueError"""
    for make in (student.layers.LayerNorm, student.layers.RMSNorm):
        expect_value_error(make, 0, what=f"{make}(0)")
        expect_value_error(make, 4, eps=-1e-3, what=f"{make}(4, eps=-1e-3)")
