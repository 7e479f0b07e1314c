"""Public tests of `generate` in `generate.py` (exercise `generate`).

Your `generate` runs your own model (two layers, float64, the test's weights) and is compared with
the loop written out in the test: a full forward pass over the sequence so far, then the argmax
(greedy) or `torch.multinomial` of your `next_token_probs` with a generator seeded the same way.
The eos tests take as `eos_id` a token that your greedy decoding actually produces (a run without
`eos_id` shows which), and expect that run's tokens with the rows padded after their eos.
"""

import pytest
import torch
from hypothesis import assume
from lm_checks import config, lm_weights, loaded, token_ids

from grader.testing import expect_value_error, given, settings, st

CFG = dict(vocab_size=24, d_model=8, n_heads=2, n_layers=2, d_ff=12, max_seq_len=16, rope_base=50.0)
SAMPLING = (dict(temperature=1.0), dict(temperature=0.8, top_k=5), dict(temperature=1.3, top_p=0.9))


def student_lm(student, seed, **overrides):
    cfg = {**CFG, **overrides}
    return loaded(student.model.DecoderOnlyLM(config(student, **cfg)), lm_weights(cfg, seed), "DecoderOnlyLM(cfg)")


def written_out(student, model, ids, steps, generator=None, **kwargs):
    """The generation loop spelled out: full forward, then argmax or multinomial of next_token_probs.
    Greedy steps must have a clear winner, so that rounding cannot change a token."""
    out = ids
    for _ in range(steps):
        logits = model(out)[:, -1]  # (B, V)
        if generator is None:
            top2 = logits.topk(2, dim=-1).values
            assume(bool((top2[:, 0] - top2[:, 1] > 1e-9).all()))
            token = logits.argmax(-1)
        else:
            token = torch.multinomial(student.generate.next_token_probs(logits, **kwargs), 1, generator=generator)[:, 0]
        out = torch.cat([out, token[:, None]], dim=1)
    return out


def check_tokens(got, expected, what):
    assert isinstance(got, torch.Tensor) and got.dtype == torch.long, f"{what}: expected a LongTensor, got {got!r:.200}"
    assert got.tolist() == expected.tolist(), f"{what}:\nexpected {expected.tolist()}\ngot      {got.tolist()}"


@pytest.mark.exercise("generate", weight=3)
@settings(max_examples=4)
@given(B=st.integers(1, 3), T=st.integers(1, 5), steps=st.integers(1, 6), use_cache=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_generate_greedy_is_the_argmax_of_each_full_forward(student, B, T, steps, use_cache, seed):
    """greedy generation (temperature 0) appends the argmax of the last position's logits, step after step"""
    model = student_lm(student, seed)
    ids = token_ids(B, T, CFG["vocab_size"], seed)
    expected = written_out(student, model, ids, steps)
    check_tokens(student.generate.generate(model, ids, steps, use_cache=use_cache), expected,
                 f"generate(model, ids {tuple(ids.shape)}, {steps}, use_cache={use_cache})")


@pytest.mark.exercise("generate", weight=3)
@settings(max_examples=4)
@given(B=st.integers(1, 3), T=st.integers(1, 4), steps=st.integers(1, 6), kwargs=st.sampled_from(SAMPLING),
       seed=st.integers(0, 2**31 - 1))
def test_generate_sampled_with_and_without_cache(student, B, T, steps, kwargs, seed):
    """sampling: one multinomial draw per step on all rows; the cache changes nothing (same seed, same tokens)"""
    model = student_lm(student, seed)
    ids = token_ids(B, T, CFG["vocab_size"], seed)
    expected = written_out(student, model, ids, steps, torch.Generator().manual_seed(seed), **kwargs)
    for use_cache in (False, True):
        got = student.generate.generate(model, ids, steps, generator=torch.Generator().manual_seed(seed),
                                        use_cache=use_cache, **kwargs)
        check_tokens(got, expected, f"generate(model, ids {tuple(ids.shape)}, {steps}, {kwargs}, use_cache={use_cache})")


def with_eos(free, T, eos, pad):
    """The tokens of a run without eos (`free`) as a run with `eos_id=eos` gives them: pad after each
    row's first generated eos, and no column after the step at which every row is finished."""
    out, done = free.clone(), []
    for row in range(free.shape[0]):
        hits = (free[row, T:] == eos).nonzero()
        done.append(T + int(hits[0]) if len(hits) else free.shape[1])
        out[row, done[-1] + 1:] = pad
    return out[:, :max(done) + 1]


@pytest.mark.exercise("generate", weight=2)
def test_generate_pads_finished_rows_and_stops_when_all_are_done(student):
    """after a row generates eos_id its tokens are pad_id; an eos in the prompt does not count; all done: stop"""
    model = student_lm(student, seed=7)
    ids = token_ids(3, 3, CFG["vocab_size"], seed=8)
    free = student.generate.generate(model, ids, 8)  # without eos: each row's own tokens (rows are independent)
    eos = int(free[0, 4])  # row 0's second generated token
    check_tokens(student.generate.generate(model, ids, 8, eos_id=eos, pad_id=23), with_eos(free, 3, eos, 23),
                 f"generate(model, ids, 8, eos_id={eos}, pad_id=23)")
    prompt = ids.clone()
    prompt[:, 1] = eos  # in every prompt: it finishes no row
    free = student.generate.generate(model, prompt, 8)
    check_tokens(student.generate.generate(model, prompt, 8, eos_id=eos, pad_id=23), with_eos(free, 3, eos, 23),
                 f"generate(model, prompts holding eos_id={eos}, 8, eos_id={eos}, pad_id=23)")
    one = ids[:1]
    stop = int(student.generate.generate(model, one, 2)[0, 4])
    got = student.generate.generate(model, one, 8, eos_id=stop)
    assert got.shape == (1, 5) and int(got[0, 4]) == stop, (
        f"with one row that generates eos_id={stop} at step 2, generation must stop there: got {got.tolist()}")


@pytest.mark.exercise("generate", weight=1)
def test_generate_restores_the_models_mode(student):
    """generate runs in eval mode and puts the model back in the mode it found it in"""
    model = student_lm(student, seed=3)
    ids = token_ids(1, 2, CFG["vocab_size"], seed=4)
    for training in (True, False):
        model.train(training)
        student.generate.generate(model, ids, 2)
        assert model.training == training, f"the model was in {'train' if training else 'eval'} mode before generate, not after"


@pytest.mark.exercise("generate", weight=1)
def test_generate_zero_steps_and_bad_arguments(student):
    """max_new_tokens 0 returns the prompt; T < 1, max_new_tokens < 0 or T + max_new_tokens > max_seq_len raise ValueError"""
    model = student_lm(student, seed=5)
    ids = token_ids(2, 3, CFG["vocab_size"], seed=6)
    check_tokens(student.generate.generate(model, ids, 0), ids, "generate(model, ids, 0)")
    expect_value_error(student.generate.generate, model, ids[:, :0], 2, what="generate with an empty prompt")
    expect_value_error(student.generate.generate, model, ids, -1, what="generate(model, ids, -1)")
    expect_value_error(student.generate.generate, model, ids, 14, what="3 + 14 tokens with max_seq_len 16")
