"""Scores are not multiplied by 1/sqrt(d_k)."""


import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.missing_scale"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scores = query @ key.transpose(-2, -1)
    if scale is not None:
        scores = scores * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
