"""Hidden tests of `KVCache` and `kv_cache_bytes` (exercise `kvcache`) against the reference.

The cached logits are compared with the reference's full forward pass, and the cache's contents
(keys after RoPE, values) with the reference's cache, for models of two layers (a layer that reads
`cache.length` after layer 0 was updated is off by the number of new positions).
"""

import pytest
import torch
from lm_checks import config, lm_weights, pair, token_ids

from grader.testing import close, expect_value_error, given, named, settings, st

CachedRun = named("cfg", "pieces", "B", "seed", name="CachedRun")


@st.composite
def runs(draw):
    n_heads = draw(st.integers(1, 2))
    cfg = dict(vocab_size=draw(st.integers(2, 40)), d_model=n_heads * 2 * draw(st.integers(1, 3)), n_heads=n_heads,
               n_layers=2, d_ff=draw(st.integers(1, 12)), max_seq_len=16, eps=1e-2, rope_base=50.0,
               positions=draw(st.sampled_from(["rope", "learned"])), norm=draw(st.sampled_from(["rmsnorm", "layernorm"])),
               ffn=draw(st.sampled_from(["swiglu", "gelu"])), bias=draw(st.booleans()))
    pieces = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    return CachedRun(cfg, pieces, draw(st.integers(1, 2)), draw(st.integers(0, 2**31 - 1)))


def fed_in_pieces(model, cache, ids, pieces):
    start, parts = 0, []
    for n in pieces:
        parts.append(model(ids[:, start:start + n], cache))
        start += n
    return torch.cat(parts, dim=1)


@pytest.mark.exercise("kvcache", weight=6)
@settings(max_examples=5)
@given(run=runs())
def test_hidden_kvcache_logits_match_the_references_full_forward(student, reference, run):
    """logits fed in pieces through a KVCache equal the reference's full forward at every position"""
    cfg, pieces, B, seed = run
    mine, theirs = pair(student, reference, lambda m: m.model.DecoderOnlyLM(config(m, **cfg)), lm_weights(cfg, seed),
                        "DecoderOnlyLM(cfg)")
    ids = token_ids(B, sum(pieces), cfg["vocab_size"], seed)
    with torch.no_grad():
        expected = theirs(ids)
    got = fed_in_pieces(mine, student.model.KVCache(2), ids, pieces)
    close(got, expected, what=f"logits fed in pieces {pieces}, cfg {cfg}")


@pytest.mark.exercise("kvcache", weight=3)
@pytest.mark.parametrize("pieces", [[3, 1, 1], [1, 1, 4]])
def test_hidden_kvcache_contents_match_reference(student, reference, pieces):
    """cache.length and every layer's cached keys (after RoPE) and values equal the reference's"""
    cfg = dict(vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=6, max_seq_len=10, rope_base=50.0)
    mine, theirs = pair(student, reference, lambda m: m.model.DecoderOnlyLM(config(m, **cfg)), lm_weights(cfg, 4),
                        "DecoderOnlyLM(cfg)")
    ids = token_ids(2, sum(pieces), 11, seed=5)
    cache, expected = student.model.KVCache(2), reference.model.KVCache(2)
    fed_in_pieces(mine, cache, ids, pieces)
    with torch.no_grad():
        fed_in_pieces(theirs, expected, ids, pieces)
    assert cache.length == expected.length, f"cache.length is {cache.length}, expected {expected.length}"
    for layer, (got, want) in enumerate(zip(cache.layers, expected.layers)):
        assert got is not None and len(got) == 2, f"cache.layers[{layer}] must be a pair (k, v), got {got!r:.80}"
        close(got[0], want[0], what=f"keys cached for layer {layer} (after RoPE)")
        close(got[1], want[1], what=f"values cached for layer {layer}")


@pytest.mark.exercise("kvcache", weight=2)
@settings(max_examples=5)
@given(n_layers=st.integers(1, 2), d_model=st.integers(1, 32), batch=st.integers(1, 64), seq_len=st.integers(1, 10**5),
       bytes_per_value=st.sampled_from([1, 2, 4]))
def test_hidden_kvcache_bytes_match_reference(student, reference, n_layers, d_model, batch, seq_len, bytes_per_value):
    """kv_cache_bytes equals the reference's count (an int), long sequences and large batches included"""
    fields = dict(vocab_size=3, d_model=d_model, n_heads=1, n_layers=n_layers, d_ff=1, max_seq_len=1,
                  positions="learned")
    got = student.model.kv_cache_bytes(config(student, **fields), batch, seq_len, bytes_per_value)
    expected = reference.model.kv_cache_bytes(config(reference, **fields), batch, seq_len, bytes_per_value)
    assert got == expected and type(got) is int, f"kv_cache_bytes(...) = {got!r}, expected {expected}"


@pytest.mark.exercise("kvcache", weight=1)
def test_hidden_kvcache_rejects_bad_arguments(student):
    """kv_cache_bytes with a value < 1 and a model fed past max_seq_len raise ValueError"""
    cfg = config(student, vocab_size=5, d_model=4, n_heads=2, n_layers=2, d_ff=4, max_seq_len=6)
    for args in [(-1, 5), (1, -5), (1, 5, -2)]:
        expect_value_error(student.model.kv_cache_bytes, cfg, *args, what=f"kv_cache_bytes(cfg, *{args})")
    model, cache = student.model.DecoderOnlyLM(cfg), student.model.KVCache(2)
    for _ in range(6):
        model(torch.zeros(1, 1, dtype=torch.long), cache)
    expect_value_error(model, torch.zeros(1, 1, dtype=torch.long), cache, what="a 7th position with max_seq_len 6")
