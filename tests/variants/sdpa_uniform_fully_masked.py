"""Fills masked scores with -1e9 and never zeroes: a row with no allowed key gets uniform weights."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.fully_masked_uniform"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
