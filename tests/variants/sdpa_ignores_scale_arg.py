"""Always uses 1/sqrt(d_k), ignoring the scale argument."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.ignores_scale_arg"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1])
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
