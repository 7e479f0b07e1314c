"""A length above max_len is silently cut to max_len instead of raising ValueError (and no other check)."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.missing_value_errors"}


def padding_mask(lengths, max_len=None):
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    T = (int(lengths.max()) if lengths.numel() else 0) if max_len is None else max_len
    return torch.arange(T)[None, :] < lengths[:, None]
