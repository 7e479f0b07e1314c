"""The padding mask is True at the padding instead of at the real tokens."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.padding_inverted"}


def padding_mask(lengths, max_len=None):
    lengths = torch.as_tensor(lengths)
    if lengths.numel() == 0:
        raise ValueError("lengths is empty")
    if (lengths < 0).any():
        raise ValueError("negative length")
    T = int(lengths.max()) if max_len is None else max_len
    if int(lengths.max()) > T:
        raise ValueError("a length above max_len")
    return torch.arange(T)[None, :] >= lengths[:, None]
