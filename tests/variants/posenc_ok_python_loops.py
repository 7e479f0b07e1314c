"""Correct, written differently: Python loops with math.sin / math.cos, then a float32 tensor."""

import math

VARIANT = {"module": "positional", "breaks": []}


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
