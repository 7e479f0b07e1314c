"""Softmax over the query dimension (dim -2) instead of the keys."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.softmax_wrong_dim"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-2)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
