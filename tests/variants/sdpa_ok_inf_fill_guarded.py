"""Correct, written differently: -inf fill, but rows with no allowed key get score 0 before the
softmax (so no NaN appears, not even in backward), and the mask zeroes them afterwards."""

import math

import torch

VARIANT = {"module": "attention", "breaks": []}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    scale = 1 / math.sqrt(key.shape[-1]) if scale is None else scale
    scores = scale * (query @ key.transpose(-2, -1))
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        mask = mask.expand(scores.shape)
        has_any = mask.any(dim=-1, keepdim=True)
        scores = scores.masked_fill(~mask, float("-inf"))
        scores = torch.where(has_any, scores, torch.zeros_like(scores))
        weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)
    return weights @ value, weights
