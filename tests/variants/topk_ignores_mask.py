"""Picks the top k among all scores, forbidden ones included, and only then applies the mask."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["topk"], "misconception": "topk.topk_ignores_mask"}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        kth = scores.topk(min(k, scores.shape[-1]), dim=-1).values[..., -1:]
        keep = scores >= kth
        if mask is not None:
            keep = keep & mask
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=scale)
