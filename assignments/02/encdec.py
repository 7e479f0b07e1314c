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
        raise NotImplementedError("cross: not implemented yet")

    def forward(self, x, memory, memory_mask=None):
        raise NotImplementedError("cross: not implemented yet")
