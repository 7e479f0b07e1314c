"""Computes in float32 whatever the input dtype: float64 inputs give float32 results."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.wrong_dtype"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    query, key, value = query.float(), key.float(), value.float()
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ value, weights
