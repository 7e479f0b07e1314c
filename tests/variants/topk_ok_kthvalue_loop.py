"""Correct, written differently: a loop over the flattened rows with torch.kthvalue on the negated
allowed scores, then attention with the kept positions as the mask (through the module's sdpa)."""

import math

import torch

VARIANT = {"module": "attention", "breaks": []}


def top_k_attention(query, key, value, k, mask=None, scale=None):
    if not k >= 1:
        raise ValueError(f"top_k_attention: k={k} < 1")
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    with torch.no_grad():
        scores = torch.matmul(query, key.transpose(-2, -1)) * s
        allowed = torch.ones_like(scores, dtype=torch.bool) if mask is None else torch.broadcast_to(mask, scores.shape)
        flat_s, flat_a = scores.reshape(-1, scores.shape[-1]), allowed.reshape(-1, scores.shape[-1])
        keep = torch.zeros_like(flat_a)
        for r in range(flat_s.shape[0]):
            vals = flat_s[r][flat_a[r]]
            if vals.numel() == 0:
                continue
            kth = torch.kthvalue(-vals, min(k, vals.numel())).values
            keep[r] = flat_a[r] & (flat_s[r] >= -kth)
        keep = keep.reshape(scores.shape)
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=s)
