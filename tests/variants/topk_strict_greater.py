"""Keeps only the scores strictly above the k-th largest (off by one: the k-th and its ties are lost)."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["topk"], "misconception": "topk.strict_greater"}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            scores = torch.where(mask, scores, float("-inf"))
        S = scores.shape[-1]
        kth = scores.topk(min(k, S), dim=-1).values[..., -1:]
        keep = (scores > kth) | ((k >= S) & torch.isfinite(scores))
        if mask is not None:
            keep = keep & mask
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=scale)
