"""Treats True in the mask as 'blocked'."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.mask_inverted"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        mask = ~mask
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
