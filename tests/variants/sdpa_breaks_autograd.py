"""Computes through NumPy, so no gradient reaches the inputs."""

import math

import torch

VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.breaks_autograd"}


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    import numpy as np
    q, k, v = (x.detach().numpy() for x in (query, key, value))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    if mask is not None:
        m = mask.numpy()
        scores = np.where(m, scores, -1e30)
    scores = scores - scores.max(-1, keepdims=True)
    weights = np.exp(scores)
    if mask is not None:
        weights = weights * m
    total = weights.sum(-1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
    weights = weights.astype(q.dtype)
    return torch.from_numpy(weights @ v), torch.from_numpy(weights)
