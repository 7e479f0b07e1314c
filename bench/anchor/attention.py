"""The baselines' exercise: scaled_dot_product_attention(q, k, v, mask=None) -> (output, weights)."""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of ``q`` (..., L, D) over ``k`` (..., S, D), ``v`` (..., S, Dv); ``mask`` (L, S)
    boolean, True = keep. Returns the output (..., L, Dv) and the weights (..., L, S)."""
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION
