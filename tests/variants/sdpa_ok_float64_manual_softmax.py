"""Correct, written differently: float64 inside, a hand-written softmax (exp of shifted scores over
their sum), rows with no allowed key set to zero by guarding the denominator; cast back at the end."""

import math

import torch

VARIANT = {"module": "attention", "breaks": []}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    dtype = query.dtype
    q, k, v = query.double(), key.double(), value.double()
    d = q.size(-1)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) if scale is None else torch.matmul(q, k.mT) * scale
    if mask is None:
        mask = torch.ones(scores.shape[-2:], dtype=torch.bool)
    allowed = mask.expand(scores.shape)
    shifted = scores - scores.masked_fill(~allowed, float("-inf")).amax(-1, keepdim=True).nan_to_num(0.0, 0.0, 0.0)
    e = torch.where(allowed, shifted, torch.zeros_like(shifted)).exp() * allowed
    total = e.sum(-1, keepdim=True)
    weights = e / torch.where(total > 0, total, torch.ones_like(total))
    return (weights @ v).to(dtype), weights.to(dtype)
