"""The sliding window lets each token see `window` tokens before it (i - j <= window), one too many."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.window_off_by_one"}


def sliding_window_mask(seq_len, window, *, device=None):
    if seq_len < 1 or window < 1:
        raise ValueError("seq_len and window must be >= 1")
    pos = torch.arange(seq_len, device=device)
    dist = pos[:, None] - pos[None, :]
    return (dist >= 0) & (dist <= window)
