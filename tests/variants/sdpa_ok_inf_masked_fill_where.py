"""Correct, written differently: masked_fill with -inf, then torch.where zeroes the rows with no
allowed key (their NaN never reaches the gradients: masked_fill's backward drops it)."""

import math

import torch

VARIANT = {"module": "attention", "breaks": []}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    weights = None
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        weights = torch.where(mask.any(-1, keepdim=True), weights, 0.0)
    else:
        weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights

