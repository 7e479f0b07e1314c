"""Public tests of `CrossAttention` in `encdec.py` (exercise `cross`).

Your module is compared with `torch.nn.MultiheadAttention(d_model, n_heads, bias=bias,
batch_first=True)` holding the same weights (its `in_proj_weight` is your q, k and v weights
stacked), queries from `x` and keys and values from `memory`, with `key_padding_mask =
~memory_mask` (PyTorch marks the positions to *ignore*). PyTorch gives NaN for a batch row whose
encoder positions are all padding; the contract asks for a zero attention output there, so the
row's output is `out_proj`'s bias.
"""

import pytest
import torch
from lm_checks import attention_shapes, loaded, values, weights

from grader.testing import close, expect_value_error, given, named, settings, st

# One drawn case, named in a failing example ("memory_mask = ...").
CrossCase = named("d_model", "n_heads", "bias", "B", "T", "S", "seed", "memory_mask", name="CrossCase")


@st.composite
def cross_cases(draw, masked=False):
    """(d_model, n_heads, bias, B, T, S, seed, memory_mask or None); T and S differ freely."""
    n_heads = draw(st.integers(1, 3))
    d, B = n_heads * draw(st.integers(1, 3)), draw(st.integers(1, 3))
    T, S, seed = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(0, 2**31 - 1))
    mask = None
    if masked:
        mask = torch.rand(B, S, generator=torch.Generator().manual_seed(seed)) < 0.7
        mask[:, 0] = True  # every row has a real encoder position
    return CrossCase(d, n_heads, draw(st.booleans()), B, T, S, seed, mask)


def torch_mha(d, n_heads, bias, state):
    mha = torch.nn.MultiheadAttention(d, n_heads, bias=bias, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([state[f"{p}_proj.weight"] for p in "qkv"]))
        mha.out_proj.weight.copy_(state["out_proj.weight"])
        if bias:
            mha.in_proj_bias.copy_(torch.cat([state[f"{p}_proj.bias"] for p in "qkv"]))
            mha.out_proj.bias.copy_(state["out_proj.bias"])
    return mha


def compare(student, case):
    d, H, bias, B, T, S, seed, mask = case
    state = weights(attention_shapes("", d, bias), seed)
    module = loaded(student.encdec.CrossAttention(d, H, bias=bias), state, f"CrossAttention({d}, {H}, bias={bias})")
    x, memory = values(B, T, d, seed=seed + 1), values(B, S, d, seed=seed + 2)
    kwargs = {} if mask is None else {"memory_mask": mask}
    with torch.no_grad():
        expected, _ = torch_mha(d, H, bias, state)(x, memory, memory,
                                                   key_padding_mask=None if mask is None else ~mask)
    close(module(x, memory, **kwargs), expected, what=f"cross-attention of x {(B, T, d)} over memory {(B, S, d)}")


@pytest.mark.exercise("cross", weight=1)
@pytest.mark.parametrize("bias", [False, True])
def test_cross_structure(student, bias):
    """q_proj, k_proj, v_proj, out_proj: Linear(d_model, d_model, bias=bias); bias=False by default"""
    got = {k: tuple(v.shape) for k, v in student.encdec.CrossAttention(6, 3, bias=bias).state_dict().items()}
    assert got == attention_shapes("", 6, bias), f"CrossAttention(6, 3, bias={bias}) holds {got}"
    default = student.encdec.CrossAttention(4, 2).state_dict()
    assert sorted(default) == sorted(attention_shapes("", 4, False)), "CrossAttention(4, 2) must have no biases"


@pytest.mark.exercise("cross", weight=3)
@settings(max_examples=8)
@given(case=cross_cases())
def test_cross_matches_torch_multihead_attention(student, case):
    """without a mask: nn.MultiheadAttention(x, memory, memory); every decoder position sees every encoder position"""
    compare(student, case)


@pytest.mark.exercise("cross", weight=3)
@settings(max_examples=8)
@given(case=cross_cases(masked=True))
def test_cross_memory_mask_matches_key_padding_mask(student, case):
    """memory_mask (B, S), True at real encoder positions, matches key_padding_mask = ~memory_mask"""
    compare(student, case)


@pytest.mark.exercise("cross", weight=1)
@pytest.mark.parametrize("bias", [False, True])
def test_cross_all_padding_row_gives_out_proj_bias(student, bias):
    """a batch row whose memory_mask is all False: zero attention output, so out_proj's bias (no NaN)"""
    state = weights(attention_shapes("", 4, bias), seed=9)
    module = loaded(student.encdec.CrossAttention(4, 2, bias=bias), state, f"CrossAttention(4, 2, bias={bias})")
    x, memory = values(2, 3, 4, seed=10), values(2, 5, 4, seed=11)
    mask = torch.tensor([[True, False, True, True, False], [False] * 5])
    out = module(x, memory, memory_mask=mask)
    expected_row = state["out_proj.bias"] if bias else torch.zeros(4, dtype=torch.float64)
    close(out[1], expected_row.expand(3, 4), what="output of the batch row with no real encoder position")
    with torch.no_grad():
        first, _ = torch_mha(4, 2, bias, state)(x[:1], memory[:1], memory[:1], key_padding_mask=~mask[:1])
    close(out[:1], first, what="output of the other row")


@pytest.mark.exercise("cross", weight=1)
def test_cross_gradients_match_torch(student):
    """gradients with respect to x and memory match nn.MultiheadAttention's"""
    state = weights(attention_shapes("", 6, True), seed=1)
    module = loaded(student.encdec.CrossAttention(6, 2, bias=True), state, "CrossAttention(6, 2, bias=True)")
    x, memory, g = values(2, 3, 6, seed=2), values(2, 4, 6, seed=3), values(2, 3, 6, seed=4)
    _, grads = student.backward(module, x, memory, wrt=(0, 1), grad_output=g)
    leaves = x.clone().requires_grad_(True), memory.clone().requires_grad_(True)
    torch_mha(6, 2, True, state)(leaves[0], leaves[1], leaves[1])[0].backward(g)
    for name, got, leaf in zip(("x", "memory"), grads, leaves):
        assert got is not None, f"no gradient reaches {name}"
        close(got, leaf.grad, what=f"gradient with respect to {name}")


@pytest.mark.exercise("cross", weight=1)
def test_cross_rejects_bad_sizes(student):
    """d_model % n_heads != 0, or a size < 1, raises ValueError"""
    for args in [(6, 4), (5, 2), (0, 1), (4, 0)]:
        expect_value_error(student.encdec.CrossAttention, *args, what=f"CrossAttention{args}")
