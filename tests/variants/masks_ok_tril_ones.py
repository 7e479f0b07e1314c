"""Correct, written differently: torch.tril / triu arithmetic for the window, ones().cumsum for padding."""

import torch

VARIANT = {"module": "attention", "breaks": []}


def causal_mask(seq_len, *, device=None):
    if seq_len <= 0:
        raise ValueError(seq_len)
    return torch.tril(torch.ones((seq_len, seq_len), device=device)).bool()


def sliding_window_mask(seq_len, window, *, device=None):
    if seq_len <= 0 or window <= 0:
        raise ValueError((seq_len, window))
    ones = torch.ones((seq_len, seq_len), dtype=torch.bool, device=device)
    return torch.tril(ones) & torch.triu(ones, diagonal=-(window - 1))


def padding_mask(lengths, max_len=None):
    if isinstance(lengths, torch.Tensor):
        lengths = lengths.tolist()
    if len(lengths) == 0 or any(n < 0 for n in lengths):
        raise ValueError(f"bad lengths {lengths}")
    T = max(lengths) if max_len is None else max_len
    if any(n > T for n in lengths):
        raise ValueError(f"lengths {lengths} do not fit in {T}")
    counts = torch.ones(len(lengths), T, dtype=torch.long).cumsum(-1)  # 1, 2, ..., T
    return counts <= torch.tensor(lengths, dtype=torch.long)[:, None]
