"""The sliding window is symmetric (|i - j| < window): tokens also see the future."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.window_symmetric"}


def sliding_window_mask(seq_len, window, *, device=None):
    if seq_len < 1 or window < 1:
        raise ValueError("seq_len and window must be >= 1")
    pos = torch.arange(seq_len, device=device)
    return (pos[:, None] - pos[None, :]).abs() < window
