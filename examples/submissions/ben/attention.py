"""Attention from scratch: scaled dot-product attention, attention masks, top-k attention and a
multi-head attention module.

Mask convention everywhere in this module: a boolean tensor where True means "may attend", exactly
as the boolean ``attn_mask`` of ``torch.nn.functional.scaled_dot_product_attention``.

Write everything with plain tensor operations (matmul, softmax, masked_fill / where, ...). Calling
``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention`` or
``torch.nn.functional.multi_head_attention_forward`` scores 0 for the exercise.
"""
import math
import torch
import torch
import torch

import math

import torch
import torch.nn as nn


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    if scale is None:
        scale = query.shape[-1] ** -0.5
    scores = torch.einsum("...le,...se->...ls", query * scale, key)
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights * mask.to(weights.dtype)
    output = torch.einsum("...ls,...sv->...lv", weights, value)
    return output, weights


def causal_mask(seq_len, *, device=None):
    if not seq_len >= 1:
        raise ValueError("causal_mask needs seq_len >= 1")
    rows = [[j <= i for j in range(seq_len)] for i in range(seq_len)]
    return torch.tensor(rows, dtype=torch.bool, device=device)


def sliding_window_mask(seq_len, window, *, device=None):
    if seq_len < 1:
        raise ValueError("sliding_window_mask needs seq_len >= 1")
    if window < 1:
        raise ValueError("sliding_window_mask needs window >= 1")
    rows = [[0 <= i - j < window for j in range(seq_len)] for i in range(seq_len)]
    return torch.tensor(rows, dtype=torch.bool, device=device)


def padding_mask(lengths, max_len=None):
    lengths = [int(n) for n in lengths]
    if not lengths:
        raise ValueError("padding_mask: empty lengths")
    if min(lengths) < 0:
        raise ValueError("padding_mask: negative length")
    T = max(lengths) if max_len is None else max_len
    if max(lengths) > T:
        raise ValueError("padding_mask: length above max_len")
    out = torch.zeros(len(lengths), T, dtype=torch.bool)
    for b, n in enumerate(lengths):
        out[b, :n] = True
    return out


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError("k must be at least 1")
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    scores = scale * torch.matmul(query, key.transpose(-1, -2))
    allowed = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask.expand(scores.shape)
    ranked = scores.detach().masked_fill(~allowed, float("-inf")).sort(dim=-1, descending=True).values
    n_allowed = allowed.sum(-1, keepdim=True)
    pos = (torch.clamp(n_allowed, max=k) - 1).clamp(min=0)
    threshold = ranked.gather(-1, pos)
    keep = allowed & (scores.detach() >= threshold)
    weights = torch.softmax(scores.masked_fill(~keep, -1e9), dim=-1) * keep
    return weights @ value, weights


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError("d_model must be a multiple of n_heads")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.register_buffer("inv_scale", torch.tensor(1.0 / math.sqrt(self.head_dim)))
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        Q, K, V = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        B, L, _ = Q.shape
        S = K.shape[1]
        if mask is not None:
            mask = torch.broadcast_to(mask, (B, self.n_heads, L, S))
        outs, weights = [], []
        for h in range(self.n_heads):
            sl = slice(h * self.head_dim, (h + 1) * self.head_dim)
            scores = Q[..., sl] @ K[..., sl].transpose(1, 2) * self.inv_scale  # (B, L, S)
            if mask is not None:
                scores = torch.where(mask[:, h], scores, torch.tensor(float("-inf")))
            top = scores.amax(-1, keepdim=True)
            top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
            e = torch.exp(scores - top)
            total = e.sum(-1, keepdim=True)
            w = torch.where(total > 0, e / total.clamp_min(1e-30), torch.zeros_like(e))
            weights.append(w)
            outs.append(w @ V[..., sl])
        return self.out_proj(torch.cat(outs, dim=-1)), torch.stack(weights, dim=1)
