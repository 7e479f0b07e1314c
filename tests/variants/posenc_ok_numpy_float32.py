"""Correct, written differently: NumPy in float32, pos / power(10000, 2i/d)."""

import numpy as np

VARIANT = {"module": "positional", "breaks": []}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model < 2 or d_model % 2 != 0:
        raise ValueError("invalid sizes")
    pos = np.arange(seq_len, dtype=np.float32)[:, None]
    i = np.arange(d_model // 2, dtype=np.float32)
    angle = pos / np.power(np.float32(10000), 2 * i / np.float32(d_model))
    pe = np.zeros((seq_len, d_model), dtype=np.float32)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return torch.from_numpy(pe)
