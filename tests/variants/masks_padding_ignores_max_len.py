"""The padding mask always has max(lengths) columns: max_len is ignored."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.padding_ignores_max_len"}


def padding_mask(lengths, max_len=None):
    lengths = torch.as_tensor(lengths)
    if lengths.numel() == 0:
        raise ValueError("lengths is empty")
    if (lengths < 0).any():
        raise ValueError("negative length")
    if max_len is not None and int(lengths.max()) > max_len:
        raise ValueError("a length above max_len")
    return torch.arange(int(lengths.max()))[None, :] < lengths[:, None]
