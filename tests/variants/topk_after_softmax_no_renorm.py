"""Zeroes the weights outside the top k after the softmax, without renormalising."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["topk"], "misconception": "topk.topk_after_softmax_no_renorm"}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    _, weights = scaled_dot_product_attention(query, key, value, mask=mask, scale=scale)
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            scores = torch.where(mask, scores, float("-inf"))
        kth = scores.topk(min(k, scores.shape[-1]), dim=-1).values[..., -1:]
        keep = scores >= kth
    weights = weights * keep
    return weights @ value, weights
