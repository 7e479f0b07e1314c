"""Public tests of `MultiHeadAttention` in `attention.py` (exercise `mha`).

Your module is compared with `torch.nn.MultiheadAttention(d_model, n_heads, bias=bias,
batch_first=True)` holding the same weights: its `in_proj_weight` is your q, k and v weights stacked,
its `out_proj` is your `out_proj`, and its boolean `attn_mask` means "blocked" where yours means
"may attend". PyTorch returns NaN on a query row that may attend to no key at all; there the
contract asks for zero weights, so that the row's output is `out_proj`'s bias.
"""

import math
from dataclasses import dataclass

import pytest
import torch

from grader.testing import Named, close, expect_value_error, given, settings, st

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


# --- helpers -----------------------------------------------------------------------------------

@dataclass
class Case(Named):
    """One multi-head attention call: sizes, weights (from ``seed``) and inputs (a failing example
    shows each field on its own line, ``query = ...``)."""

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
def cases(draw, cross=False, separate_value=True, mask=None, masked_rows=False):
    """Small sizes: n_heads and head width 1..3, batch 1..2, lengths 1..4; values from ``seed``.

    ``cross``: key (and value when ``separate_value``) of their own length S; ``mask``: None,
    "causal" (L, S) or "batch" (B, 1, L, S); ``masked_rows``: some query rows allow no key.
    """
    n_heads, head_dim = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    d = n_heads * head_dim
    B, L = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    S = draw(st.integers(1, 4)) if cross else L
    bias, seed = draw(st.booleans()), draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed + 1)  # inputs; the weights use ``seed`` itself
    inputs = lambda *shape: (torch.rand(*shape, generator=g) * 6 - 3).round(decimals=2)  # noqa: E731
    case = Case(d, n_heads, bias, seed, inputs(B, L, d))
    if cross:
        case.key = inputs(B, S, d)
        case.value = inputs(B, S, d) if separate_value else None
    if mask == "causal":
        case.mask = torch.ones(L, S, dtype=torch.bool).tril()
    elif mask == "batch":
        case.mask = torch.rand(B, 1, L, S, generator=g) < 0.7
        if masked_rows:
            rows = draw(st.lists(st.tuples(st.integers(0, B - 1), st.integers(0, L - 1)),
                                 min_size=1, max_size=3))
            for b, i in rows:
                case.mask[b, 0, i] = False
    return case


def make_params(d: int, bias: bool, seed: int) -> dict:
    """The four projections' weights (and biases), drawn like nn.Linear's (a bit wider)."""
    g = torch.Generator().manual_seed(seed)
    bound = 1.5 / math.sqrt(d)
    params = {}
    for name in PROJECTIONS:
        params[f"{name}.weight"] = (torch.rand(d, d, generator=g) * 2 - 1) * bound
        if bias:
            params[f"{name}.bias"] = (torch.rand(d, generator=g) * 2 - 1) * bound
    return params


def student_module(student, case: Case):
    """The submission's MultiHeadAttention for ``case``, holding the weights of ``make_params``."""
    module = student.attention.MultiHeadAttention(case.d_model, case.n_heads, bias=case.bias)
    params = make_params(case.d_model, case.bias, case.seed)
    result = module.load_state_dict(params, strict=False)
    unexpected = list(result[1])
    assert not unexpected, (
        f"MultiHeadAttention({case.d_model}, {case.n_heads}, bias={case.bias}) has no parameters named "
        f"{unexpected}: it must hold four nn.Linear(d_model, d_model, bias=bias) named "
        f"q_proj, k_proj, v_proj and out_proj")
    return module, params


def call_student(student, case: Case):
    """Run the submission's module on ``case``; returns (output, weights, params) after shape checks."""
    module, params = student_module(student, case)
    args = [case.query] + ([case.key] if case.key is not None else []) + (
        [case.value] if case.value is not None else [])
    kwargs = {} if case.mask is None else {"mask": case.mask}
    result = module(*args, **kwargs)
    assert isinstance(result, tuple) and len(result) == 2, (
        f"forward must return a tuple (output, weights), got {type(result).__name__}")
    out, w = result
    B, H, L, S = case.sizes
    assert isinstance(out, torch.Tensor) and isinstance(w, torch.Tensor), "output and weights must be tensors"
    assert tuple(out.shape) == (B, L, case.d_model), (
        f"output has shape {tuple(out.shape)}, expected (B, L, d_model) = {(B, L, case.d_model)}")
    if tuple(w.shape) == (B, L, S):
        raise AssertionError(
            f"weights have shape {tuple(w.shape)} = (B, L, S): return the per-head weights "
            f"(B, n_heads, L, S) = {(B, H, L, S)}, not their average over the heads")
    assert tuple(w.shape) == (B, H, L, S), (
        f"weights have shape {tuple(w.shape)}, expected (B, n_heads, L, S) = {(B, H, L, S)}")
    assert not torch.isnan(out).any() and not torch.isnan(w).any(), "output or weights hold NaN"
    return out, w, params


def torch_mha(case: Case, params: dict):
    """nn.MultiheadAttention with the same weights: (output, per-head weights, averaged weights)."""
    d, H = case.d_model, case.n_heads
    mha = torch.nn.MultiheadAttention(d, H, bias=case.bias, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([params[f"{p}.weight"] for p in PROJECTIONS[:3]]))
        mha.out_proj.weight.copy_(params["out_proj.weight"])
        if case.bias:
            mha.in_proj_bias.copy_(torch.cat([params[f"{p}.bias"] for p in PROJECTIONS[:3]]))
            mha.out_proj.bias.copy_(params["out_proj.bias"])
    B, _, L, S = case.sizes
    key = case.query if case.key is None else case.key
    value = key if case.value is None else case.value
    attn_mask = None
    if case.mask is not None:  # torch's bool mask: True = blocked; 3-D masks are (B * H, L, S)
        blocked = ~case.mask
        attn_mask = blocked if blocked.dim() == 2 else blocked.expand(B, H, L, S).reshape(B * H, L, S)
    with torch.no_grad():
        out, w = mha(case.query, key, value, attn_mask=attn_mask, need_weights=True,
                     average_attn_weights=False)
        _, w_avg = mha(case.query, key, value, attn_mask=attn_mask, need_weights=True,
                       average_attn_weights=True)
    return out, w, w_avg


def allowed_rows(case: Case) -> torch.Tensor:
    """(B, H, L): True where the query row may attend to at least one key."""
    B, H, L, S = case.sizes
    if case.mask is None:
        return torch.ones(B, H, L, dtype=torch.bool)
    return case.mask.expand(B, H, L, S).any(-1)


def compare_with_torch(student, case: Case):
    out, w, params = call_student(student, case)
    t_out, t_w, t_avg = torch_mha(case, params)
    rows = allowed_rows(case)  # (B, H, L)
    all_heads = rows.all(1)  # (B, L): torch's output row is NaN if any head's row is
    close(w[rows], t_w[rows], what="per-head weights (rows with an allowed key)")
    close(w.mean(1)[all_heads], t_avg[all_heads], what="weights averaged over heads")
    close(out[all_heads], t_out[all_heads], what="output")


def named_parameters(module, prefix="", seen=None) -> dict:
    """The submission module's parameters by name (like nn.Module.named_parameters)."""
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
def test_mha_smoke_hand_example(student):
    """hand-worked example: d_model=2, 2 heads of width 1, identity projections, zero biases"""
    module = student.attention.MultiHeadAttention(2, 2)
    eye, zero = torch.eye(2), torch.zeros(2)
    module.load_state_dict({f"{p}.{k}": (eye if k == "weight" else zero)
                            for p in PROJECTIONS for k in ("weight", "bias")}, strict=False)
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # tokens (1, 0) and (0, 1)
    out, w = module(x)
    # head 0 sees feature 0: scores (scale 1/sqrt(1)) [[1, 0], [0, 0]]; head 1 sees feature 1
    a, b = math.e / (math.e + 1), 1 / (math.e + 1)  # softmax([1, 0]) = (0.731, 0.269)
    expected_w = torch.tensor([[[[a, b], [0.5, 0.5]], [[0.5, 0.5], [b, a]]]])
    close(w, expected_w, what="weights (1, 2, 2, 2)")
    close(out, torch.tensor([[[a, 0.5], [0.5, a]]]), what="output (1, 2, 2)")


@pytest.mark.exercise("mha", weight=1)
@pytest.mark.parametrize("bias", [True, False])
def test_mha_structure_four_linear_projections(student, bias):
    """holds exactly q_proj, k_proj, v_proj, out_proj: nn.Linear(d_model, d_model, bias=bias), nothing else"""
    d = 6
    module = student.attention.MultiHeadAttention(d, 3, bias=bias)
    expected = {f"{p}.{k}": (d, d) if k == "weight" else (d,)
                for p in PROJECTIONS for k in (("weight", "bias") if bias else ("weight",))}
    state = module.state_dict()
    for name, shape in expected.items():
        assert name in state, f"state_dict() has no {name!r}; it holds {sorted(state)}"
        assert tuple(state[name].shape) == shape, f"{name} has shape {tuple(state[name].shape)}, expected {shape}"
    got = {name: tuple(p.shape) for name, p in named_parameters(module).items()}
    assert got == expected, (
        f"MultiHeadAttention({d}, 3, bias={bias}) must hold exactly the parameters {sorted(expected)}, "
        f"it holds {sorted(got)}")


@pytest.mark.exercise("mha", weight=1)
def test_mha_rejects_d_model_not_divisible_by_heads(student):
    """d_model % n_heads != 0 raises ValueError"""
    for d, h in [(6, 4), (5, 2), (3, 6)]:
        expect_value_error(student.attention.MultiHeadAttention, d, h,
                           what=f"MultiHeadAttention({d}, {h})")


@pytest.mark.exercise("mha", weight=3)
@settings(max_examples=6)
@given(case=cases())
def test_mha_self_attention_matches_torch(student, case):
    """self-attention (key and value default to query) matches nn.MultiheadAttention: output, per-head and averaged weights"""
    compare_with_torch(student, case)


@pytest.mark.exercise("mha", weight=2)
@settings(max_examples=6)
@given(case=cases(cross=True))
def test_mha_cross_attention_matches_torch(student, case):
    """cross-attention with separate key and value of length S matches nn.MultiheadAttention"""
    compare_with_torch(student, case)


@pytest.mark.exercise("mha", weight=1)
@settings(max_examples=6)
@given(case=cases(cross=True, separate_value=False))
def test_mha_value_defaults_to_key(student, case):
    """given a key but no value, the value is the key: matches nn.MultiheadAttention(q, k, k)"""
    compare_with_torch(student, case)


@pytest.mark.exercise("mha", weight=2)
@settings(max_examples=6)
@given(case=cases(cross=True, mask="causal"))
def test_mha_causal_mask_matches_torch(student, case):
    """with a causal (L, S) mask (True = may attend), matches nn.MultiheadAttention with the inverted mask"""
    compare_with_torch(student, case)


@pytest.mark.exercise("mha", weight=2)
@settings(max_examples=6)
@given(case=cases(cross=True, mask="batch"))
def test_mha_batch_mask_matches_torch(student, case):
    """with a per-batch (B, 1, L, S) mask, matches nn.MultiheadAttention on every row that allows a key"""
    compare_with_torch(student, case)


@pytest.mark.exercise("mha", weight=2)
@settings(max_examples=6)
@given(case=cases(cross=True, mask="batch", masked_rows=True))
def test_mha_fully_masked_rows_give_out_proj_bias(student, case):
    """a query row that allows no key gets zero weights (never NaN), so its output is out_proj's bias"""
    out, w, params = call_student(student, case)
    rows = allowed_rows(case)  # (B, H, L)
    blocked = ~rows
    close(w[blocked], torch.zeros_like(w[blocked]), what="weights of rows with no allowed key")
    bias = params.get("out_proj.bias", torch.zeros(case.d_model))
    dead = blocked.all(1)  # (B, L)
    close(out[dead], bias.expand_as(out[dead]), what="output of rows with no allowed key (out_proj.bias)")
