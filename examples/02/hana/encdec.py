"""Cross-attention: how the decoder of an encoder-decoder model reads the encoder's outputs.

Write it from scratch: reaching `torch.nn.functional.scaled_dot_product_attention`,
`torch.nn.MultiheadAttention`, `torch.nn.functional.multi_head_attention_forward` or
`torch.nn.Transformer*` (by any route) scores 0 for the exercise `cross`.
"""

import math

import torch
import torch.nn as nn


class CrossAttention(nn.Module):
    """Multi-head attention from decoder positions (queries) to encoder positions (keys, values).

    Submodules `q_proj`, `k_proj`, `v_proj`, `out_proj`: each `Linear(d_model, d_model, bias=bias)`.
    Raises ValueError when d_model % n_heads != 0 or a size is < 1. (The default `bias=False`
    follows this assignment's configuration, unlike `nn.MultiheadAttention`.)

    `forward(x, memory, memory_mask=None)`:
    - queries from `x` (B, T, d_model), keys and values from `memory` (B, S, d_model); heads split
      as in `CausalSelfAttention`, scores scaled by `1 / sqrt(head_dim)`;
    - no positional encoding and **no causal mask**: every decoder position sees every encoder
      position;
    - `memory_mask` (B, S) bool, True at real encoder positions (False: padding, never attended);
      a batch row whose mask is all False gets a zero attention output (then `out_proj`, so its
      bias);
    - returns (B, T, d_model).

    Matches `torch.nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True)` called with
    `key_padding_mask = ~memory_mask`, given the same weights (on rows not fully masked).
    """

    def __init__(self, d_model, n_heads, bias=False):
        super().__init__()
        if d_model < 1 or n_heads < 1:
            raise ValueError(f"d_model and n_heads must be >= 1, got {d_model} and {n_heads}")
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, memory, memory_mask=None):
        B, T, C = x.shape
        S = memory.shape[1]
        H = self.n_heads
        hd = C // H
        q = self.q_proj(x).view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(memory).view(B, S, H, hd).transpose(1, 2)  # (B, H, S, hd)
        v = self.v_proj(memory).view(B, S, H, hd).transpose(1, 2)  # (B, H, S, hd)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)  # (B, H, T, S)
        if memory_mask is not None:
            allowed = memory_mask[:, None, None, :]  # (B, 1, 1, S)
            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)  # finite: no NaN
        weights = scores.softmax(dim=-1)  # (B, H, T, S)
        if memory_mask is not None:
            weights = weights.masked_fill(~allowed, 0.0)  # (B, H, T, S) rows with no key: all 0
        y = (weights @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, d_model)
        return self.out_proj(y)
