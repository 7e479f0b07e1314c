"""Hidden tests of `DecoderOnlyLM` and `lm_loss` (exercise `lm`): the submission against the reference.

Models hold the same weights and run in float64; configurations cover both positions, both norms,
both feed-forward layers, biases, tied and untied heads, one and two layers.
"""

import pytest
import torch
from lm_checks import check_gradients, config, lm_shapes, lm_weights, pair, token_ids, values

from grader.testing import close, expect_value_error, given, settings, st


@st.composite
def configs(draw):
    n_heads = draw(st.integers(1, 2))
    return dict(vocab_size=draw(st.integers(2, 40)), d_model=n_heads * 2 * draw(st.integers(1, 3)), n_heads=n_heads,
                n_layers=draw(st.integers(1, 2)), d_ff=draw(st.integers(1, 12)), max_seq_len=16,
                norm=draw(st.sampled_from(["rmsnorm", "layernorm"])), ffn=draw(st.sampled_from(["swiglu", "gelu"])),
                positions=draw(st.sampled_from(["rope", "learned"])), bias=draw(st.booleans()),
                tie_embeddings=draw(st.booleans()), eps=1e-2, rope_base=50.0)


def models(student, reference, cfg, seed, dtype=torch.float64):
    make = lambda m: m.model.DecoderOnlyLM(config(m, **cfg))  # noqa: E731
    return pair(student, reference, make, lm_weights(cfg, seed), "DecoderOnlyLM(cfg)", dtype)


@pytest.mark.exercise("lm", weight=4)
@settings(max_examples=6)
@given(cfg=configs(), B=st.integers(1, 2), T=st.integers(1, 10), seed=st.integers(0, 2**31 - 1))
def test_hidden_lm_logits_match_reference(student, reference, cfg, B, T, seed):
    """the logits equal the reference's: embeddings, positions, blocks in order with their index, final norm, head"""
    mine, theirs = models(student, reference, cfg, seed)
    ids = token_ids(B, T, cfg["vocab_size"], seed)
    with torch.no_grad():
        expected = theirs(ids)
    close(mine(ids), expected, what=f"logits of ids {tuple(ids.shape)}, cfg {cfg}")


@pytest.mark.exercise("lm", weight=2)
@settings(max_examples=6)
@given(cfg=configs())
def test_hidden_lm_structure_count_and_tie(student, reference, cfg):
    """the contract's parameter names, the reference's parameter count, and a tied head that is the embedding itself"""
    model = student.model.DecoderOnlyLM(config(student, **cfg))
    got = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert got == lm_shapes(cfg), f"DecoderOnlyLM(cfg {cfg}) holds {got}"
    count = sum(p.numel() for p in reference.model.DecoderOnlyLM(config(reference, **cfg)).parameters())
    assert student.lm_checks.parameter_count(model) == count, f"the parameter count must be {count:,}"
    tied = student.lm_checks.shares_parameter(model, "tok_emb.weight", "lm_head.weight")
    assert tied == cfg["tie_embeddings"], f"tie_embeddings={cfg['tie_embeddings']}, but the head is {'' if tied else 'not '}tied"


@pytest.mark.exercise("lm", weight=1)
def test_hidden_lm_gradients_reach_every_parameter(student, reference):
    """gradients of the logits with respect to every parameter (a tied one summed over its two uses) match"""
    cfg = dict(vocab_size=9, d_model=4, n_heads=2, n_layers=2, d_ff=6, max_seq_len=8, positions="learned",
               norm="layernorm", ffn="gelu", bias=True, tie_embeddings=True, eps=1e-2)
    mine, theirs = models(student, reference, cfg, seed=1)
    check_gradients(student, mine, theirs, (token_ids(2, 5, 9, seed=2),), values(2, 5, 9, seed=3), wrt=())


@pytest.mark.exercise("lm", weight=2)
@settings(max_examples=10)
@given(B=st.integers(1, 3), T=st.integers(1, 8), V=st.integers(1, 9), ignore=st.sampled_from([-100, 0, 3]),
       seed=st.integers(0, 2**31 - 1))
def test_hidden_lm_loss_matches_reference(student, reference, B, T, V, ignore, seed):
    """lm_loss equals the reference's (shifted targets, ignore_index, NaN when nothing is predicted)"""
    logits = values(B, T, V, seed=seed, scale=4.0)
    ids = token_ids(B, T, V, seed + 1)
    got, expected = student.model.lm_loss(logits, ids, ignore), reference.model.lm_loss(logits, ids, ignore)
    what = f"lm_loss of logits {tuple(logits.shape)}, ids {ids.tolist()}, ignore_index={ignore}"
    if expected.isnan():
        assert isinstance(got, torch.Tensor) and got.isnan(), f"{what}: nothing is predicted, expected NaN, got {got!r}"
    else:
        close(got, expected, what=what)


@pytest.mark.exercise("lm", weight=1)
def test_hidden_lm_rejects_bad_ids(student):
    """bool, float and 3-D ids, ids out of range, and too many positions raise ValueError"""
    model = student.model.DecoderOnlyLM(config(student, vocab_size=6, d_model=4, n_heads=1, n_layers=1, d_ff=4,
                                                max_seq_len=5, positions="learned"))
    for ids, what in [(torch.zeros(1, 2, dtype=torch.bool), "bool ids"), (torch.zeros(1, 2, dtype=torch.float64), "float64"),
                      (torch.zeros(1, 1, 2, dtype=torch.long), "3-D ids"), (torch.tensor([[6]]), "id 6, vocab 6"),
                      (torch.tensor([[2, -3]], dtype=torch.int32), "id -3"), (torch.zeros(2, 6, dtype=torch.long), "6 > 5")]:
        expect_value_error(model, ids, what=f"model({what})")
