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
        self._keys = [[] for _ in range(n_layers)]
        self._values = [[] for _ in range(n_layers)]

    def update(self, layer, k, v):
        self._keys[layer].append(k)
        self._values[layer].append(v)
        return torch.cat(self._keys[layer], dim=2), torch.cat(self._values[layer], dim=2)

    def cached(self, layer):
        return sum(k.shape[2] for k in self._keys[layer])

    @property
    def length(self):
        return self.cached(0)

    @property
    def layers(self):
        return [None if not ks else (torch.cat(ks, dim=2), torch.cat(vs, dim=2))
                for ks, vs in zip(self._keys, self._values)]


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
        self.cfg = cfg
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)

    def forward(self, x, cache=None, layer=0):
        batch, length, width = x.shape
        heads = self.cfg.n_heads
        size = width // heads

        def split(t):
            return t.reshape(batch, length, heads, size).permute(0, 2, 1, 3)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        start = cache.cached(layer) if cache is not None else 0
        if self.cfg.positions == "rope":
            cos, sin = rope_angles(size, length, base=self.cfg.rope_base, offset=start, dtype=x.dtype)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        scores = torch.einsum("bhtd,bhsd->bhts", q, k) * size ** -0.5
        visible = torch.ones(length, k.shape[2], dtype=torch.bool).tril(diagonal=start)
        scores = torch.where(visible, scores, torch.tensor(-1e9, dtype=scores.dtype))
        out = torch.einsum("bhts,bhsd->bhtd", torch.softmax(scores, dim=-1), v)
        return self.out_proj(out.permute(0, 2, 1, 3).reshape(batch, length, width))


def _make_norm(cfg):
    """The norm of a block (and the model's final norm)."""
    if cfg.norm == "layernorm":
        return LayerNorm(cfg.d_model, cfg.eps, cfg.bias)
    return RMSNorm(cfg.d_model, cfg.eps)


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
        self.norm1 = _make_norm(cfg)
        self.attn = CausalSelfAttention(cfg)
        self.norm2 = _make_norm(cfg)
        self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.ffn, cfg.bias)

    def forward(self, x, cache=None, layer=0):
        h = x + self.attn(self.norm1(x), cache, layer)  # (B, T, d_model)
        return h + self.ffn(self.norm2(h))  # (B, T, d_model)


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
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_seq_len, cfg.d_model) if cfg.positions == "learned" else None
        self.blocks = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg.n_layers))
        self.norm_f = _make_norm(cfg)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight

    def forward(self, ids, cache=None):
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype not in (torch.long, torch.int32):
            what = f"{ids.dtype} {tuple(ids.shape)}" if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"ids must be a 2-D torch.long or torch.int32 tensor, got {what}")
        B, T = ids.shape
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.cfg.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.cfg.vocab_size}), "
                             f"got values from {int(ids.min())} to {int(ids.max())}")
        start = 0 if cache is None else cache.length
        if start + T > self.cfg.max_seq_len:
            raise ValueError(f"{start} cached + {T} new positions exceed max_seq_len={self.cfg.max_seq_len}")
        x = self.tok_emb(ids)  # (B, T, d_model)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(start, start + T, device=ids.device))  # (B, T, d_model)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)  # (B, T, d_model)
        return self.lm_head(self.norm_f(x))  # (B, T, vocab_size)


def lm_loss(logits, ids, ignore_index=-100):
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = ids[:, 1:].long()
    keep = targets != ignore_index
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * keep).sum() / keep.sum()


def kv_cache_bytes(cfg: ModelConfig, batch, seq_len, bytes_per_value=2):
    """Bytes a full KV cache takes: keys and values of every layer, `2 * n_layers * batch * seq_len
    * d_model * bytes_per_value` (an int).

    Raises ValueError when batch, seq_len or bytes_per_value is < 1.

    Example: kv_cache_bytes(LLAMA2_7B, 1, 4096) -> 2147483648 (2 GiB in fp16 for 4,096 tokens)
    """
    for name, value in (("batch", batch), ("seq_len", seq_len), ("bytes_per_value", bytes_per_value)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    return int(2 * cfg.n_layers * batch * seq_len * cfg.d_model * bytes_per_value)
