"""Calls torch.topk with k itself, which raises when k exceeds the number of keys."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["topk"], "misconception": "topk.k_above_length_crashes"}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            scores = torch.where(mask, scores, float("-inf"))
        kth = scores.topk(k, dim=-1).values[..., -1:]
        keep = scores >= kth
        if mask is not None:
            keep = keep & mask
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=scale)
