"""Hidden tests of `next_token_probs` and `sample` (exercise `sampling`) against the reference.

Logits on an integer grid make ties common (top-k at the k-th place, top-p in index order, the
argmax at temperature 0). `top_p` is kept at least 1e-4 away from every partial sum of the sorted
probabilities, and `sample` is compared only on inputs where no draw sits within 1e-5 of a boundary
between two tokens: rounding differences between correct solutions can then never change a token.
"""

import pytest
import torch
from hypothesis import assume
from lm_checks import values

from grader.testing import close, expect_value_error, given, named, settings, st

SamplingCase = named("logits", "options", name="SamplingCase")  # options: the keyword arguments


@st.composite
def logits_and_options(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    V = draw(st.integers(1, 10))
    seed = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        logits = torch.randint(-2, 3, (*lead, V), generator=torch.Generator().manual_seed(seed)).double()
    else:
        logits = values(*lead, V, seed=seed, scale=3.0)
    options = dict(temperature=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
                   top_k=draw(st.sampled_from([None, 1, 2, 3, V, V + 2])),
                   top_p=draw(st.sampled_from([None, 0.3, 0.5, 0.75, 0.9, 1.0])))
    return SamplingCase(logits.to(draw(st.sampled_from([torch.float64, torch.float32]))), options)


def top_p_is_clear(reference, logits, options) -> bool:
    """Whether top_p lies at least 1e-4 away from every partial sum of the sorted probabilities."""
    if options["top_p"] is None or options["temperature"] == 0:
        return True
    probs = reference.generate.next_token_probs(logits.double(), options["temperature"], options["top_k"])
    sums = probs.sort(dim=-1, descending=True).values.cumsum(-1)
    return bool(((sums - options["top_p"]).abs() > 1e-4).all())


@pytest.mark.exercise("sampling", weight=5)
@settings(max_examples=25)
@given(case=logits_and_options())
def test_hidden_sampling_probs_match_reference(student, reference, case):
    """next_token_probs equals the reference: temperature, top-k with ties, softmax, top-p's smallest set, renormalised"""
    logits, options = case
    assume(top_p_is_clear(reference, logits, options))
    close(student.generate.next_token_probs(logits, **options), reference.generate.next_token_probs(logits, **options),
          what=f"next_token_probs(logits {logits.tolist()}, {options})")


def stable_draws(probs, seed) -> bool:
    """Whether moving every probability by a relative 1e-5 (up or down, alternately) changes no draw."""
    V = probs.shape[-1]
    flat = probs.reshape(-1, V).double()
    draw = lambda p: torch.multinomial(p, 1, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    base = draw(flat)
    wiggle = 1 + 1e-5 * torch.tensor([(-1.0) ** i for i in range(V)], dtype=torch.float64)
    return all(torch.equal(draw(flat * w), base) for w in (wiggle, 2 - wiggle))


@pytest.mark.exercise("sampling", weight=3)
@settings(max_examples=12)
@given(B=st.integers(1, 6), V=st.integers(2, 10), seed=st.integers(0, 2**31 - 1),
       options=st.sampled_from([dict(), dict(temperature=0.6), dict(temperature=1.7, top_k=3), dict(top_p=0.85),
                                dict(temperature=1.2, top_k=4, top_p=0.7)]),
       dtype=st.sampled_from([torch.float64, torch.float32]))
def test_hidden_sampling_sample_matches_reference(student, reference, B, V, seed, options, dtype):
    """sample draws the reference's tokens from the same generator state (one multinomial over all rows)"""
    logits = values(B, V, seed=seed, scale=2.5, dtype=dtype)
    assume(top_p_is_clear(reference, logits, {"temperature": 1.0, "top_k": None, "top_p": None} | options))
    assume(stable_draws(reference.generate.next_token_probs(logits, **options), seed))
    got = student.generate.sample(logits, generator=torch.Generator().manual_seed(seed), **options)
    expected = reference.generate.sample(logits, generator=torch.Generator().manual_seed(seed), **options)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.long, f"sample must return a LongTensor, got {got!r}"
    assert torch.equal(got, expected), (f"sample(logits {tuple(logits.shape)}, {options}) with a generator seeded {seed}: "
                                        f"drew {got.tolist()}, expected {expected.tolist()}")


@pytest.mark.exercise("sampling", weight=1)
def test_hidden_sampling_sample_shapes_and_greedy_ties(student):
    """tokens have logits.shape[:-1]; at temperature 0 the argmax, lowest index on ties, without a generator"""
    logits = torch.tensor([[[1.0, 4.0, 4.0], [0.0, 0.0, 0.0]], [[2.0, -1.0, 2.0], [-3.0, -2.0, -2.0]]])
    greedy = student.generate.sample(logits, temperature=0.0)
    assert greedy.tolist() == [[1, 0], [0, 1]], f"greedy tokens {greedy.tolist()}, expected [[1, 0], [0, 1]]"
    drawn = student.generate.sample(values(4, 1, 2, 7, seed=1), generator=torch.Generator().manual_seed(3))
    assert tuple(drawn.shape) == (4, 1, 2) and drawn.dtype == torch.long, f"logits (4, 1, 2, 7) gave {drawn!r}"


@pytest.mark.exercise("sampling", weight=1)
def test_hidden_sampling_rejects_bad_arguments(student):
    """bad temperature, top_k or top_p raise ValueError in next_token_probs (at temperature 0 too), and in sample"""
    logits = torch.zeros(2, 3)
    for options in [dict(temperature=-1e-3), dict(top_k=-2), dict(top_p=1.0001), dict(top_p=-0.5)]:
        expect_value_error(student.generate.next_token_probs, logits, what=f"next_token_probs({options})", **options)
        expect_value_error(student.generate.sample, logits, what=f"sample({options})", **options)
    expect_value_error(student.generate.next_token_probs, logits, temperature=0, top_p=0.0,
                       what="next_token_probs(temperature=0, top_p=0.0)")
