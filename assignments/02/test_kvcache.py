"""Public tests of `KVCache` and `kv_cache_bytes` in `model.py` (exercise `kvcache`).

The main property: feeding a sequence to your model in pieces through a `KVCache` (a prompt, then
one token or a few at a time) gives, at every position, the logits of one full forward pass over the
whole sequence. Models run in float64, so that the two paths agree to rounding; the models have two
layers, so that a layer reading how far the cache is *after* layer 0 has been updated shows.
"""

import pytest
import torch
from lm_checks import config, lm_weights, loaded, token_ids, values

from grader.testing import close, expect_value_error, given, named, settings, st

CachedRun = named("cfg", "pieces", "B", "seed", name="CachedRun")
LLAMA_7B = dict(vocab_size=32000, d_model=4096, n_heads=32, n_layers=32, d_ff=11008, max_seq_len=4096)


@st.composite
def cached_runs(draw):
    """A two-layer config (RoPE or learned positions) and the lengths of the pieces fed in turn."""
    n_heads = draw(st.integers(1, 2))
    cfg = dict(vocab_size=draw(st.integers(2, 20)), d_model=n_heads * 2 * draw(st.integers(1, 2)), n_heads=n_heads,
               n_layers=2, d_ff=draw(st.integers(1, 8)), max_seq_len=16, eps=1e-2, rope_base=50.0,
               positions=draw(st.sampled_from(["rope", "learned"])), norm=draw(st.sampled_from(["rmsnorm", "layernorm"])))
    pieces = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    return CachedRun(cfg, pieces, draw(st.integers(1, 2)), draw(st.integers(0, 2**31 - 1)))


def student_lm(student, cfg, seed):
    return loaded(student.model.DecoderOnlyLM(config(student, **cfg)), lm_weights(cfg, seed), "DecoderOnlyLM(cfg)")


@pytest.mark.exercise("kvcache", weight=2)
def test_kvcache_starts_empty_and_grows_along_dim_2(student):
    """a new cache has length 0 and n_layers None entries; update appends along dim 2; length follows layer 0"""
    cache = student.model.KVCache(3)
    assert cache.length == 0 and cache.layers == [None, None, None], "a new KVCache(3): length 0, layers [None] * 3"
    k1, v1, k2, v2 = (values(1, 2, n, 4, seed=s) for s, n in ((1, 3), (2, 3), (3, 2), (4, 2)))
    k, v = cache.update(0, k1, v1)
    close(k, k1, what="keys returned by the first update")
    assert cache.length == 3, f"after caching 3 positions of layer 0, length is {cache.length}"
    cache.update(1, k1, v1)
    assert cache.length == 3, "updating layer 1 must not change length (it counts layer 0's positions)"
    k, v = cache.update(0, k2, v2)
    close(k, torch.cat([k1, k2], 2), what="keys after a second update (appended along dim 2)")
    close(v, torch.cat([v1, v2], 2), what="values after a second update")
    assert (cache.length, cache.cached(0), cache.cached(1), cache.cached(2)) == (5, 5, 3, 0), (
        f"length, cached(0), cached(1), cached(2) = {(cache.length, cache.cached(0), cache.cached(1), cache.cached(2))}"
        ", expected (5, 5, 3, 0)")
    stored_k, stored_v = cache.layers[0]
    close(stored_k, torch.cat([k1, k2], 2), what="cache.layers[0] keys")


@pytest.mark.exercise("kvcache", weight=6)
@settings(max_examples=5)
@given(run=cached_runs())
def test_kvcache_pieces_give_the_full_forward_logits(student, run):
    """feeding the sequence in pieces through a KVCache gives every position the logits of the full forward pass"""
    cfg, pieces, B, seed = run
    model = student_lm(student, cfg, seed)
    ids = token_ids(B, sum(pieces), cfg["vocab_size"], seed)
    with torch.no_grad():
        full = model(ids)
    cache, start, parts = student.model.KVCache(2), 0, []
    for n in pieces:
        parts.append(model(ids[:, start:start + n], cache))
        start += n
    assert cache.length == start, f"after feeding {start} positions, cache.length is {cache.length}"
    close(torch.cat(parts, dim=1), full,
          what=f"logits fed in pieces of {pieces} ({cfg['positions']} positions) vs the full forward")


@pytest.mark.exercise("kvcache", weight=2)
def test_kvcache_keys_do_not_depend_on_how_the_sequence_was_fed(student):
    """the cached keys and values (keys after RoPE) are the same whether fed token by token or at once"""
    cfg = dict(vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=6, max_seq_len=8, rope_base=50.0)
    model = student_lm(student, cfg, seed=5)
    ids = token_ids(2, 6, 11, seed=6)
    at_once, one_by_one = student.model.KVCache(2), student.model.KVCache(2)
    model(ids, at_once)
    for t in range(6):
        model(ids[:, t:t + 1], one_by_one)
    for layer, ((k1, v1), (k2, v2)) in enumerate(zip(at_once.layers, one_by_one.layers)):
        close(k2, k1, what=f"layer {layer} keys cached token by token vs at once")
        close(v2, v1, what=f"layer {layer} values cached token by token vs at once")


@pytest.mark.exercise("kvcache", weight=1)
def test_kvcache_refuses_to_go_past_max_seq_len(student):
    """cache.length + T > max_seq_len raises ValueError (RoPE and learned positions)"""
    for positions in ("rope", "learned"):
        cfg = dict(vocab_size=5, d_model=4, n_heads=2, n_layers=1, d_ff=4, max_seq_len=4, positions=positions)
        model, cache = student.model.DecoderOnlyLM(config(student, **cfg)), student.model.KVCache(1)
        model(torch.zeros(1, 3, dtype=torch.long), cache)
        expect_value_error(model, torch.zeros(1, 2, dtype=torch.long), cache,
                           what=f"2 more positions after 3 cached, max_seq_len 4 ({positions})")


@pytest.mark.exercise("kvcache", weight=2)
def test_kvcache_bytes(student):
    """2 * n_layers * batch * seq_len * d_model * bytes_per_value: Llama 2 7B, 4,096 fp16 tokens take 2 GiB"""
    llama = config(student, **LLAMA_7B)
    assert student.model.kv_cache_bytes(llama, 1, 4096) == 2_147_483_648
    small = config(student, vocab_size=10, d_model=6, n_heads=3, n_layers=3, d_ff=4, max_seq_len=8)
    got = student.model.kv_cache_bytes(small, 5, 7, bytes_per_value=4)
    assert got == 2 * 3 * 5 * 7 * 6 * 4 and type(got) is int, f"kv_cache_bytes(3 layers, d 6, batch 5, 7 tokens, 4 B) = {got!r}"
    for args in [(0, 7), (5, 0), (5, 7, 0)]:
        expect_value_error(student.model.kv_cache_bytes, small, *args, what=f"kv_cache_bytes(cfg, *{args})")
