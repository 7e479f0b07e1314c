"""Public tests of `next_token_probs` and `sample` in `generate.py` (exercise `sampling`).

Hand-worked examples pin down the conventions: ties at the k-th place are all kept by top-k; top-p
keeps the smallest set whose probabilities before a token sum to less than `top_p`, ties taken in
index order. (Each `top_p` below is far from every partial sum, so rounding cannot move the cut.)
`sample` must draw exactly `torch.multinomial(probs, 1, generator=generator)`: the test draws with
a generator seeded the same way from your own `next_token_probs` and compares token for token.
"""

import math

import pytest
import torch
from lm_checks import values

from grader.testing import close, expect_value_error, given, settings, st


def as_tensor(rows):
    return torch.tensor(rows, dtype=torch.float64)


def normalised(rows):
    t = as_tensor(rows)
    return t / t.sum(-1, keepdim=True)


@pytest.mark.exercise("sampling", weight=1)
def test_sampling_temperature_zero_is_a_one_hot_argmax(student):
    """temperature 0: a one-hot of the argmax, the lowest index among ties, in the logits' dtype"""
    logits = as_tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, -5.0, 0.5, 0.5]])
    expected = as_tensor([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    close(student.generate.next_token_probs(logits, temperature=0.0), expected, what="next_token_probs at temperature 0")
    close(student.generate.next_token_probs(logits.float(), temperature=0, top_k=1, top_p=0.5), expected.float(),
          what="next_token_probs at temperature 0 (float32, top_k and top_p ignored)")


@pytest.mark.exercise("sampling", weight=2)
@settings(max_examples=8)
@given(lead=st.lists(st.integers(1, 3), max_size=2), V=st.integers(1, 8), temperature=st.sampled_from([0.5, 1.0, 2.5]),
       dtype=st.sampled_from([torch.float64, torch.float32]), seed=st.integers(0, 2**31 - 1))
def test_sampling_temperature_divides_the_logits(student, lead, V, temperature, dtype, seed):
    """without top-k and top-p, the probabilities are softmax(logits / temperature), in the logits' dtype"""
    logits = values(*lead, V, seed=seed, scale=4.0, dtype=dtype)
    expected = torch.softmax(logits.double() / temperature, dim=-1).to(dtype)
    close(student.generate.next_token_probs(logits, temperature=temperature), expected,
          what=f"next_token_probs(logits {tuple(logits.shape)}, temperature={temperature})")


@pytest.mark.exercise("sampling", weight=2)
def test_sampling_top_k_keeps_ties_at_the_kth_place(student):
    """top-k keeps every logit >= the k-th largest: ties at the k-th place are all kept; top_k >= V keeps all"""
    e = math.exp
    cases = [
        ([2.0, 1.0, 1.0, 0.0], dict(top_k=2), [e(2), e(1), e(1), 0]),
        ([3.0, 1.0, 3.0], dict(top_k=1), [1, 0, 1]),
        ([0.0, 1.0, 2.0], dict(top_k=3), [1, e(1), e(2)]),
        ([0.0, 1.0, 2.0], dict(top_k=7), [1, e(1), e(2)]),
        ([0.0, 2.0, 4.0, 4.0], dict(top_k=3, temperature=2.0), [0, e(1), e(2), e(2)]),
    ]
    for logits, kwargs, weights in cases:
        close(student.generate.next_token_probs(as_tensor(logits), **kwargs), normalised(weights),
              what=f"next_token_probs({logits}, {kwargs})")


@pytest.mark.exercise("sampling", weight=2)
def test_sampling_top_p_keeps_the_smallest_set(student):
    """top-p keeps a token when the probabilities sorted before it sum to < top_p (ties in index order)"""
    log = math.log
    p = [0.15, 0.5, 0.05, 0.3]  # sorted: 0.5 (index 1), 0.3, 0.15, 0.05; sums before them 0, 0.5, 0.8, 0.95
    cases = [
        (p, dict(top_p=0.45), [0, 1, 0, 0]),
        (p, dict(top_p=0.6), [0, 0.5, 0, 0.3]),
        (p, dict(top_p=0.85), [0.15, 0.5, 0, 0.3]),
        (p, dict(top_p=1.0), p),
        ([0.25] * 4, dict(top_p=0.2), [1, 0, 0, 0]),
        ([0.25] * 4, dict(top_p=0.3), [1, 1, 0, 0]),
    ]
    for probs, kwargs, weights in cases:
        close(student.generate.next_token_probs(as_tensor([log(q) for q in probs]), **kwargs), normalised(weights),
              what=f"next_token_probs(log of {probs}, {kwargs})")


@pytest.mark.exercise("sampling", weight=1)
def test_sampling_applies_temperature_top_k_softmax_top_p_in_order(student):
    """temperature, then top-k on the logits, then softmax, then top-p on what is left, then renormalise"""
    logits = as_tensor([4.0, 2.0, 0.0, 2.0, -2.0])
    # /2 -> [2, 1, 0, 1, -1]; top-3 keeps 2, 1, 1 (the tie at the 3rd place is kept, and 0 is 4th)
    kept = [math.exp(2), math.exp(1), 0, math.exp(1), 0]
    total = sum(kept)  # sorted probabilities 0.576, 0.212, 0.212: sums before them 0, 0.576, 0.788
    close(student.generate.next_token_probs(logits, temperature=2.0, top_k=3, top_p=0.7),
          normalised([kept[0], kept[1], 0, 0, 0]), what="temperature 2, top_k 3, top_p 0.7")
    close(student.generate.next_token_probs(logits, temperature=2.0, top_k=3, top_p=0.9),
          normalised(kept), what=f"temperature 2, top_k 3, top_p 0.9 (sum {total:.3f})")


@pytest.mark.exercise("sampling", weight=1)
def test_sampling_rejects_bad_arguments(student):
    """temperature < 0, top_k < 1, top_p outside (0, 1] raise ValueError, at temperature 0 too"""
    logits = as_tensor([1.0, 2.0])
    for kwargs in [dict(temperature=-0.5), dict(top_k=0), dict(top_p=0.0), dict(top_p=1.5),
                   dict(temperature=0.0, top_k=0), dict(temperature=0.0, top_p=-0.1)]:
        expect_value_error(student.generate.next_token_probs, logits, what=f"next_token_probs(logits, {kwargs})",
                           **kwargs)


@pytest.mark.exercise("sampling", weight=2)
@settings(max_examples=6)
@given(B=st.integers(1, 5), V=st.integers(2, 8), seed=st.integers(0, 2**31 - 1),
       kwargs=st.sampled_from([dict(), dict(temperature=0.7), dict(top_k=2), dict(top_p=0.8, temperature=1.5)]))
def test_sampling_sample_is_multinomial_with_the_generator(student, B, V, seed, kwargs):
    """sample draws torch.multinomial(next_token_probs(logits), 1, generator=generator): the same seed, the same tokens"""
    logits = values(B, V, seed=seed, scale=2.0)
    probs = student.generate.next_token_probs(logits, **kwargs)
    expected = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed)).reshape(B)
    got = student.generate.sample(logits, generator=torch.Generator().manual_seed(seed), **kwargs)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.long, f"sample must return a LongTensor, got {got!r}"
    assert torch.equal(got, expected), (f"sample(logits {tuple(logits.shape)}, {kwargs}) with a generator seeded "
                                        f"{seed} drew {got.tolist()}; torch.multinomial draws {expected.tolist()}")


@pytest.mark.exercise("sampling", weight=1)
def test_sampling_sample_uses_the_generator_it_is_given(student):
    """two different seeds draw different tokens (64 draws over 6 tokens); the same seed draws the same"""
    logits = torch.zeros(64, 6, dtype=torch.float64)
    first = student.generate.sample(logits, generator=torch.Generator().manual_seed(1))
    again = student.generate.sample(logits, generator=torch.Generator().manual_seed(1))
    other = student.generate.sample(logits, generator=torch.Generator().manual_seed(2))
    assert torch.equal(first, again), "the same generator state must draw the same tokens"
    assert not torch.equal(first, other), "generators seeded 1 and 2 drew the same 64 tokens: is the generator used?"


@pytest.mark.exercise("sampling", weight=1)
def test_sampling_sample_shapes_and_greedy(student):
    """sample returns logits.shape[:-1] (0-d for 1-D logits); temperature 0 returns the argmax"""
    one = student.generate.sample(as_tensor([0.0, 1.0, 0.5]), generator=torch.Generator().manual_seed(0))
    assert isinstance(one, torch.Tensor) and one.shape == () and one.dtype == torch.long, f"1-D logits gave {one!r}"
    grid = values(2, 3, 5, seed=4)
    drawn = student.generate.sample(grid, generator=torch.Generator().manual_seed(0))
    assert tuple(drawn.shape) == (2, 3), f"logits (2, 3, 5) gave tokens of shape {tuple(drawn.shape)}"
    greedy = student.generate.sample(as_tensor([[0.0, 9.0, 9.0], [5.0, 0.0, 1.0]]), temperature=0.0)
    assert greedy.tolist() == [1, 0], f"greedy sample of [[0, 9, 9], [5, 0, 1]] gave {greedy.tolist()}, expected [1, 0]"
