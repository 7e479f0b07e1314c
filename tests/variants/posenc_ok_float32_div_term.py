"""Correct, written differently: the PyTorch-tutorial version, angles computed in float32."""

import math

VARIANT = {"module": "positional", "breaks": []}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1:
        raise ValueError("seq_len must be >= 1")
    if d_model < 2 or d_model % 2 == 1:
        raise ValueError("d_model must be even and >= 2")
    pe = torch.zeros(seq_len, d_model)
    position = torch.arange(0, seq_len, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe
