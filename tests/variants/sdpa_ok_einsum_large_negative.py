"""Correct, written differently: einsum, a finite -1e9 fill, and weights multiplied by the mask."""

import torch

VARIANT = {"module": "attention", "breaks": []}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    if scale is None:
        scale = query.shape[-1] ** -0.5
    scores = torch.einsum("...le,...se->...ls", query * scale, key)
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights * mask.to(weights.dtype)
    output = torch.einsum("...ls,...sv->...lv", weights, value)
    return output, weights
