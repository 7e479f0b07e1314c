"""Hidden tests of `CausalSelfAttention` and `TransformerBlock` (exercise `block`) against the reference.

Every combination of norm, feed-forward, positions and bias; `eps=1e-2` and `rope_base=50` (or the
defaults), so that a norm or angle built with the default instead of the configuration's value shows.
"""

import pytest
import torch
from lm_checks import attention_shapes, block_shapes, check_gradients, config, pair, values, weights

from grader.testing import close, given, settings, st


@st.composite
def configs(draw):
    n_heads = draw(st.integers(1, 4))
    head_dim = 2 * draw(st.integers(1, 4))
    cfg = dict(vocab_size=8, max_seq_len=16, n_layers=1, d_model=n_heads * head_dim, n_heads=n_heads,
               d_ff=draw(st.integers(1, 16)), norm=draw(st.sampled_from(["rmsnorm", "layernorm"])),
               ffn=draw(st.sampled_from(["swiglu", "gelu"])), positions=draw(st.sampled_from(["rope", "learned"])),
               bias=draw(st.booleans()))
    if draw(st.booleans()):
        cfg.update(eps=1e-2, rope_base=50.0)
    return cfg


def build(student, reference, name, cfg, shapes, seed, dtype=torch.float64):
    make = lambda m: getattr(m.model, name)(config(m, **cfg))  # noqa: E731
    return pair(student, reference, make, weights(shapes, seed), f"{name}(cfg)", dtype)


@pytest.mark.exercise("block", weight=3)
@settings(max_examples=10)
@given(cfg=configs(), B=st.integers(1, 2), T=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_hidden_block_attention_matches_reference(student, reference, cfg, B, T, seed):
    """CausalSelfAttention equals the reference: heads, RoPE with cfg.rope_base, scale 1/sqrt(head_dim), causal mask"""
    mine, theirs = build(student, reference, "CausalSelfAttention", cfg, attention_shapes("", cfg["d_model"], cfg["bias"]),
                         seed)
    x = values(B, T, cfg["d_model"], seed=seed + 1)
    with torch.no_grad():
        expected = theirs(x)
    close(mine(x), expected, what=f"attention(x {tuple(x.shape)}), cfg {cfg}")


@pytest.mark.exercise("block", weight=4)
@settings(max_examples=8)
@given(cfg=configs(), B=st.integers(1, 2), T=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_hidden_block_matches_reference(student, reference, cfg, B, T, seed):
    """TransformerBlock equals the reference: pre-norm, both residuals, norms with cfg.eps, the configured FFN"""
    mine, theirs = build(student, reference, "TransformerBlock", cfg, block_shapes("", cfg), seed)
    x = values(B, T, cfg["d_model"], seed=seed + 1)
    with torch.no_grad():
        expected = theirs(x)
    close(mine(x), expected, what=f"block(x {tuple(x.shape)}), cfg {cfg}")


@pytest.mark.exercise("block", weight=2)
@pytest.mark.parametrize("positions", ["rope", "learned"], ids=["rotary", "learned"])
def test_hidden_block_gradients(student, reference, positions):
    """gradients with respect to the input and to every parameter equal the reference's"""
    cfg = dict(vocab_size=8, max_seq_len=16, n_layers=1, d_model=8, n_heads=2, d_ff=6, positions=positions, bias=True,
               norm="layernorm" if positions == "learned" else "rmsnorm", eps=1e-2, rope_base=50.0)
    mine, theirs = build(student, reference, "TransformerBlock", cfg, block_shapes("", cfg), seed=3)
    check_gradients(student, mine, theirs, (values(2, 5, 8, seed=4),), values(2, 5, 8, seed=5))


@pytest.mark.exercise("block", weight=1)
def test_hidden_block_float32(student, reference):
    """a float32 block gives float32 output close to the reference's"""
    cfg = dict(vocab_size=8, max_seq_len=16, n_layers=1, d_model=8, n_heads=2, d_ff=12, eps=1e-2, rope_base=50.0)
    mine, theirs = build(student, reference, "TransformerBlock", cfg, block_shapes("", cfg), seed=6, dtype=torch.float32)
    x = values(2, 6, 8, seed=7, dtype=torch.float32)
    with torch.no_grad():
        expected = theirs.double()(x.double()).float()
    close.scaled(10)(mine(x), expected, what="float32 block(x)")
