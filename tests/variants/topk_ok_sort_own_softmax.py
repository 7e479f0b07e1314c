"""Correct, written differently: sorts each row, reads the k-th largest allowed score with gather,
and does its own masked softmax (-1e9 fill, zeroed afterwards) instead of calling the sdpa function."""

import math

import torch

VARIANT = {"module": "attention", "breaks": []}


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
