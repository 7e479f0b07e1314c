"""Calls F.scaled_dot_product_attention for the output."""


import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.forbidden_builtin"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    import torch.nn.functional as F
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)
    eye = torch.eye(key.shape[-2], dtype=query.dtype)
    weights = F.scaled_dot_product_attention(query, key, eye, attn_mask=mask, scale=scale)
    return out, weights
