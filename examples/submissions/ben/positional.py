"""Sinusoidal positional encoding ("Attention Is All You Need", section 3.5).

Each position gets a fixed d_model-dimensional vector of sines and cosines of different
frequencies, added to the token embeddings so that attention can tell positions apart.
"""
import math

import torch


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError("invalid sizes")
    rows = []
    for pos in range(seq_len):
        row = []
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32)
