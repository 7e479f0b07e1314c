"""Multiplies the weights by the mask after softmax, without renormalising."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.mask_after_softmax"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    weights = torch.softmax((query @ key.transpose(-2, -1)) * scale, dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ value, weights
