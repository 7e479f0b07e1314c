"""Hidden tests of `generate` (exercise `generate`): the submission's loop and model (holding the
reference's weights) against the reference's, token for token, in float64.

Greedy runs are compared only where every argmax wins by more than 1e-9 (checked on the reference's
own logits), so that rounding cannot change a token.
"""

import pytest
import torch
from hypothesis import assume
from lm_checks import config, lm_weights, pair, token_ids

from grader.testing import expect_value_error, given, settings, st

SAMPLING = (dict(temperature=1.0), dict(temperature=0.7, top_k=4), dict(temperature=1.4, top_p=0.8),
            dict(temperature=1.1, top_k=6, top_p=0.9))


@st.composite
def configs(draw):
    return dict(vocab_size=draw(st.integers(8, 40)), d_model=8, n_heads=2, n_layers=2, d_ff=draw(st.integers(4, 12)),
                max_seq_len=16, positions=draw(st.sampled_from(["rope", "learned"])),
                norm=draw(st.sampled_from(["rmsnorm", "layernorm"])), ffn=draw(st.sampled_from(["swiglu", "gelu"])),
                tie_embeddings=draw(st.booleans()), eps=1e-2, rope_base=50.0)


def models(student, reference, cfg, seed):
    make = lambda m: m.model.DecoderOnlyLM(config(m, **cfg))  # noqa: E731
    return pair(student, reference, make, lm_weights(cfg, seed), "DecoderOnlyLM(cfg)")


def clear_argmaxes(model, tokens, T) -> bool:
    """Whether each generated token of a greedy run won its step's argmax by more than 1e-9."""
    with torch.no_grad():
        logits = model(tokens[:, :-1])[:, T - 1:]  # the logits that chose tokens[:, T:]
    top2 = logits.topk(2, dim=-1).values
    return bool((top2[..., 0] - top2[..., 1] > 1e-9).all())


def same_tokens(got, expected, what):
    assert isinstance(got, torch.Tensor) and got.dtype == torch.long, f"{what}: expected a LongTensor, got {got!r:.200}"
    assert got.tolist() == expected.tolist(), f"{what}:\nexpected {expected.tolist()}\ngot      {got.tolist()}"


@pytest.mark.exercise("generate", weight=3)
@settings(max_examples=4)
@given(cfg=configs(), B=st.integers(1, 3), T=st.integers(1, 5), steps=st.integers(1, 8), use_cache=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_hidden_generate_greedy_matches_reference(student, reference, cfg, B, T, steps, use_cache, seed):
    """greedy generation (the default temperature 0) gives the reference's tokens, with or without the cache"""
    mine, theirs = models(student, reference, cfg, seed)
    ids = token_ids(B, T, cfg["vocab_size"], seed)
    expected = reference.generate.generate(theirs, ids, steps)
    assume(clear_argmaxes(theirs, expected, T))
    same_tokens(student.generate.generate(mine, ids, steps, use_cache=use_cache), expected,
                f"generate(model, ids {tuple(ids.shape)}, {steps}, use_cache={use_cache})")


@pytest.mark.exercise("generate", weight=3)
@settings(max_examples=4)
@given(cfg=configs(), B=st.integers(1, 3), T=st.integers(1, 5), steps=st.integers(1, 8), use_cache=st.booleans(),
       options=st.sampled_from(SAMPLING), seed=st.integers(0, 2**31 - 1))
def test_hidden_generate_sampled_matches_reference(student, reference, cfg, B, T, steps, use_cache, options, seed):
    """sampled generation gives the reference's tokens for the same generator seed, with or without the cache"""
    mine, theirs = models(student, reference, cfg, seed)
    ids = token_ids(B, T, cfg["vocab_size"], seed)
    expected = reference.generate.generate(theirs, ids, steps, generator=torch.Generator().manual_seed(seed), **options)
    got = student.generate.generate(mine, ids, steps, generator=torch.Generator().manual_seed(seed), use_cache=use_cache,
                                    **options)
    same_tokens(got, expected, f"generate(model, ids {tuple(ids.shape)}, {steps}, {options}, use_cache={use_cache})")


@pytest.mark.exercise("generate", weight=2)
@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_hidden_generate_eos_and_padding_match_reference(student, reference, sampled, seed):
    """finished rows get pad_id (still sampled with the others), an eos in the prompt does not count, all done: stop"""
    cfg = dict(vocab_size=12, d_model=8, n_heads=2, n_layers=2, d_ff=8, max_seq_len=16, rope_base=50.0,
               positions="rope" if seed == 1 else "learned")
    mine, theirs = models(student, reference, cfg, seed)
    options = dict(temperature=1.5, top_k=5) if sampled else {}
    generator = (lambda: torch.Generator().manual_seed(seed)) if sampled else (lambda: None)  # noqa: E731
    ids = token_ids(3, 3, 12, seed)
    free = reference.generate.generate(theirs, ids, 10, generator=generator(), **options)
    eos = int(free[0, 4])
    ids[2, 0] = eos  # an eos in a prompt
    assert sampled or clear_argmaxes(theirs, reference.generate.generate(theirs, ids, 10), 3), "test setup: a near-tie"
    pad = 11 if sampled else 0
    expected = reference.generate.generate(theirs, ids, 10, eos_id=eos, pad_id=pad, generator=generator(), **options)
    got = student.generate.generate(mine, ids, 10, eos_id=eos, pad_id=pad, generator=generator(), **options)
    same_tokens(got, expected, f"generate(model, ids, 10, eos_id={eos}, pad_id={pad}, {options})")


@pytest.mark.exercise("generate", weight=1)
def test_hidden_generate_mode_and_arguments(student):
    """the model's mode is restored; the prompt alone for 0 steps; bad lengths raise ValueError"""
    cfg = dict(vocab_size=7, d_model=4, n_heads=1, n_layers=1, d_ff=4, max_seq_len=6, positions="learned")
    model = student.model.DecoderOnlyLM(config(student, **cfg))
    ids = torch.tensor([[1, 2]])
    model.train()
    out = student.generate.generate(model, ids, 0, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert out.tolist() == [[1, 2]] and model.training, "0 steps: the prompt itself, and the model back in train mode"
    model.eval()
    student.generate.generate(model, ids, 4, use_cache=False)
    assert not model.training, "a model in eval mode must stay in eval mode"
    expect_value_error(student.generate.generate, model, ids, 5, what="2 + 5 tokens with max_seq_len 6")
    expect_value_error(student.generate.generate, model, ids, -2, what="max_new_tokens -2")
