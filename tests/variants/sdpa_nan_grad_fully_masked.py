"""Adds a -inf bias at masked positions and zeroes the NaN rows with torch.where afterwards: the
forward is right, but the NaN of a row with no allowed key flows back into the gradients.
"""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.nan_grad_fully_masked"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    weights = None
    if mask is not None:
        scores = scores + torch.zeros_like(scores).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        weights = torch.where(mask.any(-1, keepdim=True), weights, 0.0)
    else:
        weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
