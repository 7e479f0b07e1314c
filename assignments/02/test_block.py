"""Public tests of `CausalSelfAttention` and `TransformerBlock` in `model.py` (exercise `block`).

- In the GPT-2 configuration (LayerNorm, GELU, learned positions, biases) your block is compared
  with `torch.nn.TransformerEncoderLayer(norm_first=True, activation="gelu")` under a causal mask,
  holding the same weights (its `in_proj_weight` is your q, k and v weights stacked, `linear1` and
  `linear2` are your `ffn.up` and `ffn.down`).
- With RoPE, your attention is compared with `F.scaled_dot_product_attention(..., is_causal=True)`
  on queries and keys rotated by your own `rope_angles` / `apply_rope` (tested in `rope`).
- Configurations use `eps=1e-2` and `rope_base=50`, so that a norm or an angle built with the
  default instead of the configuration's value shows.
"""

import pytest
import torch
import torch.nn.functional as F
from lm_checks import (
    attention_shapes,
    block_shapes,
    causal_mask,
    config,
    loaded,
    torch_encoder_layer,
    values,
    weights,
)

from grader.testing import close, given, named, settings, st

Sizes = named("dims", "B", "T", "seed", name="Sizes")
GPT_LIKE = dict(vocab_size=16, max_seq_len=16, n_layers=1, norm="layernorm", ffn="gelu", positions="learned",
                bias=True, eps=1e-2)
LLAMA_LIKE = dict(vocab_size=16, max_seq_len=16, n_layers=1, norm="rmsnorm", ffn="swiglu", positions="rope",
                  bias=False, eps=1e-2, rope_base=50.0)


@st.composite
def sizes(draw, even_heads=False):
    """d_model, n_heads, d_ff, batch, length and a seed (head widths even when RoPE needs it)."""
    n_heads = draw(st.integers(1, 3))
    head_dim = 2 * draw(st.integers(1, 3)) if even_heads else draw(st.integers(1, 4))
    return Sizes(dict(d_model=n_heads * head_dim, n_heads=n_heads, d_ff=draw(st.integers(1, 12))),
                 draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(0, 2**31 - 1)))


def student_block(student, cfg, seed, dtype=torch.float64):
    state = weights(block_shapes("", cfg), seed)
    module = loaded(student.model.TransformerBlock(config(student, **cfg)), state, "TransformerBlock(cfg)", dtype)
    return module, state


@pytest.mark.exercise("block", weight=1)
@pytest.mark.parametrize("bias", [False, True])
def test_block_structure(student, bias):
    """attention holds q_proj, k_proj, v_proj, out_proj (Linear d_model -> d_model, bias=cfg.bias); the block norm1, attn, norm2, ffn"""
    cfg = {**LLAMA_LIKE, "d_model": 8, "n_heads": 2, "d_ff": 12, "bias": bias}
    for name, module, expected in [
            ("CausalSelfAttention", student.model.CausalSelfAttention, attention_shapes("", 8, bias)),
            ("TransformerBlock", student.model.TransformerBlock, block_shapes("", cfg))]:
        state = module(config(student, **cfg)).state_dict()
        got = {key: tuple(value.shape) for key, value in state.items()}
        assert got == expected, f"{name}(cfg with bias={bias}) holds {got}, expected {expected}"


@pytest.mark.exercise("block", weight=4)
@settings(max_examples=6)
@given(case=sizes())
def test_block_matches_torch_encoder_layer(student, case):
    """GPT-2 configuration: the block equals nn.TransformerEncoderLayer(norm_first=True, activation="gelu") under a causal mask"""
    dims, B, T, seed = case
    cfg = {**GPT_LIKE, **dims}
    block, state = student_block(student, cfg, seed)
    x = values(B, T, cfg["d_model"], seed=seed + 1)
    with torch.no_grad():
        expected = torch_encoder_layer(cfg, state)(x, src_mask=causal_mask(T))
    close(block(x), expected, what=f"block(x) for x {tuple(x.shape)}, cfg {dims}")


@pytest.mark.exercise("block", weight=1)
def test_block_gradients_match_torch_encoder_layer(student):
    """the gradient with respect to the block's input matches nn.TransformerEncoderLayer's"""
    cfg = {**GPT_LIKE, "d_model": 6, "n_heads": 2, "d_ff": 10}
    block, state = student_block(student, cfg, seed=11)
    x, g = values(2, 5, 6, seed=12), values(2, 5, 6, seed=13)
    _, (grad,) = student.backward(block, x, wrt=(0,), grad_output=g)
    leaf = x.clone().requires_grad_(True)
    torch_encoder_layer(cfg, state)(leaf, src_mask=causal_mask(5)).backward(g)
    assert grad is not None, "no gradient reaches the block's input"
    close(grad, leaf.grad, what="gradient of the block with respect to x")


@pytest.mark.exercise("block", weight=1)
def test_block_keeps_float32(student):
    """a float32 block on float32 input gives float32, close to PyTorch's"""
    cfg = {**GPT_LIKE, "d_model": 8, "n_heads": 2, "d_ff": 16}
    block, state = student_block(student, cfg, seed=21, dtype=torch.float32)
    x = values(2, 6, 8, seed=22, dtype=torch.float32)
    with torch.no_grad():
        expected = torch_encoder_layer(cfg, {k: v.float().double() for k, v in state.items()})(
            x.double(), src_mask=causal_mask(6))
    close.scaled(10)(block(x), expected.float(), what="float32 block(x)")


@pytest.mark.exercise("block", weight=3)
@settings(max_examples=6)
@given(case=sizes(even_heads=True), bias=st.booleans())
def test_block_rotary_attention_matches_sdpa(student, case, bias):
    """with RoPE: out_proj(causal attention of rope(q), rope(k), v), heads split as view(B, T, H, hd).transpose(1, 2)"""
    dims, B, T, seed = case
    cfg = {**LLAMA_LIKE, **dims, "bias": bias}
    d, H = cfg["d_model"], cfg["n_heads"]
    hd = d // H
    state = weights(attention_shapes("", d, bias), seed)
    attn = loaded(student.model.CausalSelfAttention(config(student, **cfg)), state, "CausalSelfAttention(cfg)")
    x = values(B, T, d, seed=seed + 1)
    heads = {p: F.linear(x, state[f"{p}_proj.weight"], state.get(f"{p}_proj.bias")).view(B, T, H, hd).transpose(1, 2)
             for p in "qkv"}
    cos, sin = student.rope.rope_angles(hd, T, base=50.0, dtype=torch.float64)
    q, k = student.rope.apply_rope(heads["q"], cos, sin), student.rope.apply_rope(heads["k"], cos, sin)
    y = F.scaled_dot_product_attention(q, k, heads["v"], is_causal=True).transpose(1, 2).reshape(B, T, d)
    expected = F.linear(y, state["out_proj.weight"], state.get("out_proj.bias"))
    close(attn(x), expected, what=f"attention(x) for x {tuple(x.shape)}, {H} heads, rope_base 50")


@pytest.mark.exercise("block", weight=3)
@settings(max_examples=6)
@given(case=sizes(even_heads=True))
def test_block_is_pre_norm_with_residuals(student, case):
    """Llama configuration: h = x + attn(norm1(x)), out = h + ffn(norm2(h)), RMSNorm with cfg.eps (1e-2)"""
    dims, B, T, seed = case
    cfg = {**LLAMA_LIKE, **dims}
    block, state = student_block(student, cfg, seed)
    x = values(B, T, cfg["d_model"], seed=seed + 1)

    def rms(z, weight):
        return z / (z.pow(2).mean(-1, keepdim=True) + 1e-2).sqrt() * weight

    h = x + block.attn(rms(x, state["norm1.weight"]))
    z = rms(h, state["norm2.weight"])
    ffn = F.linear(F.silu(F.linear(z, state["ffn.gate.weight"])) * F.linear(z, state["ffn.up.weight"]),
                   state["ffn.down.weight"])
    close(block(x), h + ffn, what=f"block(x) for x {tuple(x.shape)}, cfg {dims}")


@pytest.mark.exercise("block", weight=2)
@settings(max_examples=6)
@given(case=sizes(even_heads=True), cut=st.integers(0, 5))
def test_block_is_causal(student, case, cut):
    """changing the tokens after position t never changes the block's output at positions <= t"""
    dims, B, T, seed = case
    cut = min(cut, T - 1)
    block, _ = student_block(student, {**LLAMA_LIKE, **dims}, seed)
    x = values(B, T, dims["d_model"], seed=seed + 1)
    changed = x.clone()
    changed[:, cut + 1:] = values(B, T - cut - 1, dims["d_model"], seed=seed + 2)
    close(block(changed)[:, :cut + 1], block(x)[:, :cut + 1],
          what=f"outputs at positions 0..{cut} when the inputs after position {cut} change")
