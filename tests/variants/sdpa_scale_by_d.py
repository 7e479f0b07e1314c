"""Divides the scores by d_k instead of sqrt(d_k)."""


import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.scale_by_d"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / query.shape[-1] if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
