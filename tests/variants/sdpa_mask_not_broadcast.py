"""Indexes the scores with the mask, which only works when the mask has the scores' full shape."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.mask_not_broadcast"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores.clone()
        scores[~mask] = -1e9
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.clone()
        weights[~mask] = 0.0
    return weights @ value, weights
