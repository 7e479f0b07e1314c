"""Keeps exactly k positions (the indices of torch.topk), dropping ties at the k-th place."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["topk"], "misconception": "topk.exact_k_via_topk_indices"}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            scores = torch.where(mask, scores, float("-inf"))
        idx = scores.topk(min(k, scores.shape[-1]), dim=-1).indices
        keep = torch.zeros_like(scores, dtype=torch.bool).scatter(-1, idx, True)
        if mask is not None:
            keep = keep & mask
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=scale)
