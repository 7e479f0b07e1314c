"""Hidden tests of `MultiHeadAttention` (exercise `mha`): the submission against the reference.

The reference module gets the same weights and runs in float64; its results are cast to float32,
the dtype under test. Masks of every broadcast form of (B, n_heads, L, S) are used, and rows that
allow no key are part of the comparison (the reference gives them zero weights).
"""

import math
from dataclasses import dataclass

import pytest
import torch

from grader.testing import Named, close, expect_value_error, given, settings, st

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")
MASK_FORMS = ("none", "LS", "1LS", "B1LS", "BHLS", "B11S")


@dataclass
class Case(Named):  # a failing example shows one field per line
    d_model: int
    n_heads: int
    bias: bool
    seed: int
    query: torch.Tensor
    key: torch.Tensor | None = None
    value: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    @property
    def sizes(self):
        B, L, _ = self.query.shape
        S = L if self.key is None else self.key.shape[1]
        return B, self.n_heads, L, S


@st.composite
def cases(draw, inputs="cross", mask_forms=MASK_FORMS, max_len=5):
    """n_heads 1..4, head width 1..4, batch 1..3, lengths 1..max_len; values from ``seed``.

    ``inputs``: "self" (query only), "key" (query and key) or "cross" (query, key and value).
    """
    n_heads, head_dim = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    d = n_heads * head_dim
    B, L = draw(st.integers(1, 3)), draw(st.integers(1, max_len))
    S = L if inputs == "self" else draw(st.integers(1, max_len))
    bias, seed = draw(st.booleans()), draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed + 1)
    values = lambda *shape: (torch.rand(*shape, generator=g) * 6 - 3).round(decimals=2)  # noqa: E731
    case = Case(d, n_heads, bias, seed, values(B, L, d))
    if inputs != "self":
        case.key = values(B, S, d)
    if inputs == "cross":
        case.value = values(B, S, d)
    form = draw(st.sampled_from(mask_forms))
    shape = {"none": None, "LS": (L, S), "1LS": (1, L, S), "B1LS": (B, 1, L, S),
             "BHLS": (B, n_heads, L, S), "B11S": (B, 1, 1, S)}[form]
    if shape is not None:
        case.mask = torch.rand(*shape, generator=g) < draw(st.sampled_from([0.5, 0.8]))
    return case


def make_params(d: int, bias: bool, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    bound = 1.5 / math.sqrt(d)
    params = {}
    for name in PROJECTIONS:
        params[f"{name}.weight"] = (torch.rand(d, d, generator=g) * 2 - 1) * bound
        if bias:
            params[f"{name}.bias"] = (torch.rand(d, generator=g) * 2 - 1) * bound
    return params


def call_student(student, case: Case, params: dict):
    module = student.attention.MultiHeadAttention(case.d_model, case.n_heads, bias=case.bias)
    result = module.load_state_dict(params, strict=False)
    assert not list(result[1]), (
        f"MultiHeadAttention has no parameters named {list(result[1])}: it must hold four "
        f"nn.Linear(d_model, d_model, bias=bias) named q_proj, k_proj, v_proj and out_proj")
    args = [case.query] + [t for t in (case.key, case.value) if t is not None]
    kwargs = {} if case.mask is None else {"mask": case.mask}
    result = module(*args, **kwargs)
    assert isinstance(result, tuple) and len(result) == 2, "forward must return (output, weights)"
    out, w = result
    B, H, L, S = case.sizes
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (B, L, case.d_model), (
        f"output: expected shape (B, L, d_model) = {(B, L, case.d_model)}, got {getattr(out, 'shape', out)}")
    assert isinstance(w, torch.Tensor) and tuple(w.shape) == (B, H, L, S), (
        f"weights: expected the per-head shape (B, n_heads, L, S) = {(B, H, L, S)}, got {getattr(w, 'shape', w)}")
    return out, w


def expected(reference, case: Case, params: dict):
    """The reference's (output, weights), computed in float64, cast to float32."""
    module = reference.attention.MultiHeadAttention(case.d_model, case.n_heads, bias=case.bias)
    module.load_state_dict(params)
    module = module.double()
    as64 = lambda t: None if t is None else t.double()  # noqa: E731
    with torch.no_grad():
        out, w = module(case.query.double(), as64(case.key), as64(case.value), mask=case.mask)
    return out.float(), w.float()


def compare(student, reference, case: Case):
    params = make_params(case.d_model, case.bias, case.seed)
    out, w = call_student(student, case, params)
    e_out, e_w = expected(reference, case, params)
    close(w, e_w, what="per-head weights")
    close(out, e_out, what="output")


def named_parameters(module, prefix="", seen=None) -> dict:
    seen = set() if seen is None else seen
    if module.handle.id in seen:
        return {}
    seen.add(module.handle.id)
    found = {prefix + name: p for name, p in module._parameters.items() if p is not None}
    for name, sub in module._modules.items():
        if sub is not None:
            found.update(named_parameters(sub, f"{prefix}{name}.", seen))
    return found


# --- tests -------------------------------------------------------------------------------------

@pytest.mark.exercise("mha", weight=1)
@settings(max_examples=3)
@given(n_heads=st.integers(1, 4), head_dim=st.integers(1, 5), bias=st.booleans())
def test_hidden_mha_structure(student, reference, n_heads, head_dim, bias):
    """exactly four nn.Linear(d_model, d_model, bias=bias) named q_proj, k_proj, v_proj, out_proj"""
    d = n_heads * head_dim
    module = student.attention.MultiHeadAttention(d, n_heads, bias=bias)
    ref = reference.attention.MultiHeadAttention(d, n_heads, bias=bias)
    expected_shapes = {name: tuple(p.shape) for name, p in ref.named_parameters()}
    got = {name: tuple(p.shape) for name, p in named_parameters(module).items()}
    assert got == expected_shapes, f"parameters {got}, expected {expected_shapes}"
    state = module.state_dict()
    for name, shape in expected_shapes.items():
        assert name in state and tuple(state[name].shape) == shape, f"state_dict() lacks {name} of shape {shape}"


@pytest.mark.exercise("mha", weight=1)
def test_hidden_mha_rejects_indivisible_width(student):
    """d_model % n_heads != 0 raises ValueError"""
    for d, h in [(6, 4), (5, 2), (7, 3), (3, 6), (10, 4), (9, 2)]:
        expect_value_error(student.attention.MultiHeadAttention, d, h, what=f"MultiHeadAttention({d}, {h})")
    for bias in (True, False):
        expect_value_error(student.attention.MultiHeadAttention, 8, 3, bias=bias,
                           what=f"MultiHeadAttention(8, 3, bias={bias})")


@pytest.mark.exercise("mha", weight=3)
@settings(max_examples=6)
@given(case=cases(inputs="self", mask_forms=("none",)))
def test_hidden_mha_self_attention_matches_reference(student, reference, case):
    """self-attention without a mask matches the reference (output and per-head weights)"""
    compare(student, reference, case)


@pytest.mark.exercise("mha", weight=3)
@settings(max_examples=10)
@given(case=cases(inputs="cross", mask_forms=("none",)))
def test_hidden_mha_cross_attention_matches_reference(student, reference, case):
    """cross-attention (separate key and value of length S) matches the reference"""
    compare(student, reference, case)


@pytest.mark.exercise("mha", weight=1)
@settings(max_examples=10)
@given(case=cases(inputs="key"))
def test_hidden_mha_value_defaults_to_key(student, reference, case):
    """with a key and no value, the value is the key (matches the reference), masks of every form"""
    compare(student, reference, case)


@pytest.mark.exercise("mha", weight=3)
@settings(max_examples=6)
@given(case=cases(inputs="cross", mask_forms=MASK_FORMS[1:]))
def test_hidden_mha_with_a_mask_matches_reference(student, reference, case):
    """bool masks of shape (L, S), (1, L, S), (B, 1, L, S), (B, H, L, S), (B, 1, 1, S) match the reference, fully masked rows included"""
    compare(student, reference, case)


@pytest.mark.exercise("mha", weight=1)
@settings(max_examples=10)
@given(case=cases(inputs="self", mask_forms=("none",)))
def test_hidden_mha_causal_self_attention(student, reference, case):
    """self-attention with a causal (L, L) mask matches the reference"""
    B, H, L, S = case.sizes
    case.mask = torch.ones(L, L, dtype=torch.bool).tril()
    compare(student, reference, case)


@pytest.mark.exercise("mha", weight=2)
@pytest.mark.parametrize("bias", [True, False])
def test_hidden_mha_fully_masked_rows(student, reference, bias):
    """rows that allow no key: zero weights, output equal to out_proj's bias (zero without bias), no NaN"""
    g = torch.Generator().manual_seed(7)
    B, H, L, S, d = 2, 2, 3, 4, 6
    mask = torch.rand(B, H, L, S, generator=g) < 0.6
    mask[0, :, 1] = False  # every head blocked: the output row is out_proj's bias
    mask[1, 0, 2] = False  # one head blocked
    mask[1, :, 0] = False
    case = Case(d, H, bias, 11, torch.randn(B, L, d, generator=g), torch.randn(B, S, d, generator=g),
                torch.randn(B, S, d, generator=g), mask)
    params = make_params(d, bias, case.seed)
    out, w = call_student(student, case, params)
    assert not torch.isnan(out).any() and not torch.isnan(w).any(), "NaN in the output or the weights"
    close(w[0, :, 1], torch.zeros(H, S), what="weights of a fully masked row")
    bias_vector = params["out_proj.bias"] if bias else torch.zeros(d)
    close(out[0, 1], bias_vector, what="output of a fully masked row (out_proj.bias)")
    close(out[1, 0], bias_vector, what="output of a fully masked row (out_proj.bias)")
    e_out, e_w = expected(reference, case, params)
    close(w, e_w, what="per-head weights")
    close(out, e_out, what="output")


@pytest.mark.exercise("mha", weight=1)
def test_hidden_mha_default_init_is_usable(student):
    """a fresh module (its own initial weights) gives finite output of the right shape, rows of weights summing to 1"""
    module = student.attention.MultiHeadAttention(8, 2)
    x = torch.linspace(-2, 2, 2 * 5 * 8).reshape(2, 5, 8)
    out, w = module(x)
    assert tuple(out.shape) == (2, 5, 8) and tuple(w.shape) == (2, 2, 5, 5), (out.shape, w.shape)
    assert torch.isfinite(out).all(), "output is not finite"
    close(w.sum(-1), torch.ones(2, 2, 5), what="row sums of the weights")
