"""A decoder-only transformer language model: attention with RoPE and a KV cache, pre-norm blocks,
the model with (optionally) tied embeddings, its next-token loss, and the memory bill of its cache.

Everything is built from a `ModelConfig` (config.py, given). Write attention from scratch: reaching
`torch.nn.functional.scaled_dot_product_attention`, `torch.nn.MultiheadAttention`,
`torch.nn.functional.multi_head_attention_forward` or `torch.nn.Transformer*` (by any route) scores
0 for the exercises `block`, `lm` and `kvcache`.

Masks, where they appear, are bool with True meaning "may attend".
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from config import ModelConfig
from layers import FeedForward, LayerNorm, RMSNorm
from rope import apply_rope, rope_angles


class KVCache:
    """The keys and values of every layer for the positions seen so far (inference only).

    Attributes:
        length: the number of positions cached so far (0 when new): those of layer 0, so it grows
            when layer 0 is updated.
        layers: a list of `n_layers` entries, each None (nothing cached yet) or a pair `(k, v)` of
            tensors (B, n_heads, cached positions, head_dim); the keys are stored after RoPE.

    Example: cache = KVCache(2); k, v = cache.update(0, k1, v1)  # k1 (B, H, 3, hd): cache.length == 3
    """

    def __init__(self, n_layers):
        raise NotImplementedError("kvcache: not implemented yet")

    def update(self, layer, k, v):
        """Append `k`, `v` (B, n_heads, T, head_dim) to layer `layer`'s entry, along dim 2.

        Returns all the cached keys and values of that layer, `(k_all, v_all)`, each
        (B, n_heads, cached + T, head_dim). Updating layer 0 adds T to `length`.
        """
        raise NotImplementedError("kvcache: not implemented yet")

    def cached(self, layer):
        """The number of positions already cached for `layer` (0 when its entry is None)."""
        raise NotImplementedError("kvcache: not implemented yet")


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, with RoPE when `cfg.positions == "rope"`.

    Submodules `q_proj`, `k_proj`, `v_proj`, `out_proj`: each `Linear(d_model, d_model, bias=cfg.bias)`.

    `forward(x, cache=None, layer=0)`, x (B, T, d_model) -> (B, T, d_model):
    - heads split as `view(B, T, n_heads, head_dim).transpose(1, 2)`;
    - `start` is the number of positions this layer has cached already, `cache.cached(layer)`, read
      before this layer's update (0 without a cache);
    - with RoPE, queries and keys of every head are rotated for positions `start .. start + T - 1`,
      with `rope_angles(head_dim, T, base=cfg.rope_base, offset=start, dtype=x.dtype)`;
    - with a cache, the new keys (after RoPE) and values are appended by
      `cache.update(layer, k, v)` and attention runs over all the cached positions;
    - scores are scaled by `1 / sqrt(head_dim)`; the new query `t` (at position `start + t`)
      attends to every cached position and to the new positions up to its own.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        raise NotImplementedError("block: not implemented yet")

    def forward(self, x, cache=None, layer=0):
        raise NotImplementedError("block: not implemented yet")




class TransformerBlock(nn.Module):
    """A pre-norm decoder block: `h = x + attn(norm1(x))`, then `out = h + ffn(norm2(h))`.

    Submodules `norm1`, `attn` (a `CausalSelfAttention`), `norm2`, `ffn`
    (`FeedForward(d_model, d_ff, cfg.ffn, cfg.bias)`); the norms are `RMSNorm(d_model, cfg.eps)`,
    or `LayerNorm(d_model, cfg.eps, cfg.bias)` when `cfg.norm == "layernorm"`.

    `forward(x, cache=None, layer=0)`: x (B, T, d_model) -> (B, T, d_model); `cache` and `layer`
    are passed on to the attention.

    With `norm="layernorm", ffn="gelu", positions="learned", bias=True`, the block equals
    `torch.nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.0, activation="gelu",
    norm_first=True, batch_first=True, layer_norm_eps=eps)` under a causal mask, given the same
    weights.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        raise NotImplementedError("block: not implemented yet")

    def forward(self, x, cache=None, layer=0):
        raise NotImplementedError("block: not implemented yet")


class DecoderOnlyLM(nn.Module):
    """A decoder-only language model: token ids (B, T) -> next-token logits (B, T, vocab_size).

    Keeps its configuration as `self.cfg`. Submodules, in order: `tok_emb = Embedding(vocab_size,
    d_model)`; `pos_emb = Embedding(max_seq_len, d_model)` when `cfg.positions == "learned"`, else the
    attribute `pos_emb` is None; `blocks`, a ModuleList of `n_layers` TransformerBlocks; `norm_f`, a
    final norm built like the blocks' norms; `lm_head = Linear(d_model, vocab_size, bias=False)`.
    With `cfg.tie_embeddings`, `lm_head.weight` is `tok_emb.weight`: the same Parameter, counted once.

    `forward(ids, cache=None)`: logits in the parameters' dtype. Learned positions start at
    `cache.length` (read before block 0 runs; 0 without a cache); block `i` gets `layer=i`.

    Raises ValueError when ids is not a 2-D torch.long or torch.int32 tensor, holds an id outside
    [0, vocab_size), or when `cache.length + T > max_seq_len` (without a cache, `T > max_seq_len`).

    Example: DecoderOnlyLM(cfg)(torch.zeros(2, 5, dtype=torch.long)).shape -> (2, 5, cfg.vocab_size)
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        raise NotImplementedError("lm: not implemented yet")

    def forward(self, ids, cache=None):
        raise NotImplementedError("lm: not implemented yet")


def lm_loss(logits, ids, ignore_index=-100):
    """The next-token cross-entropy of a batch: position t's logits predict `ids[:, t + 1]`.

    Args:
        logits: (B, T, vocab_size), the model's output for `ids`.
        ids: (B, T) integer tensor, the inputs themselves (the targets are them shifted by one).
        ignore_index: a target equal to it is left out of the mean.

    Returns:
        A scalar tensor: the mean over every predicted position whose target is not `ignore_index`
        (NaN when there is none: T == 1 or every target ignored, as `F.cross_entropy` returns),
        with gradients to `logits`. `F.cross_entropy` may be used.

    Example: all-zero logits over a vocabulary of 4 -> log(4) = 1.386 whatever the ids
    """
    raise NotImplementedError("lm: not implemented yet")


def kv_cache_bytes(cfg: ModelConfig, batch, seq_len, bytes_per_value=2):
    """Bytes a full KV cache takes: keys and values of every layer, `2 * n_layers * batch * seq_len
    * d_model * bytes_per_value` (an int).

    Raises ValueError when batch, seq_len or bytes_per_value is < 1.

    Example: kv_cache_bytes(LLAMA2_7B, 1, 4096) -> 2147483648 (2 GiB in fp16 for 4,096 tokens)
    """
    raise NotImplementedError("kvcache: not implemented yet")
