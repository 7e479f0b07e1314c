"""Correct, written differently: all three masks built entry by entry with Python loops."""

import torch

VARIANT = {"module": "attention", "breaks": []}


def causal_mask(seq_len, *, device=None):
    if not seq_len >= 1:
        raise ValueError("causal_mask needs seq_len >= 1")
    rows = [[j <= i for j in range(seq_len)] for i in range(seq_len)]
    return torch.tensor(rows, dtype=torch.bool, device=device)


def sliding_window_mask(seq_len, window, *, device=None):
    if seq_len < 1:
        raise ValueError("sliding_window_mask needs seq_len >= 1")
    if window < 1:
        raise ValueError("sliding_window_mask needs window >= 1")
    rows = [[0 <= i - j < window for j in range(seq_len)] for i in range(seq_len)]
    return torch.tensor(rows, dtype=torch.bool, device=device)


def padding_mask(lengths, max_len=None):
    lengths = [int(n) for n in lengths]
    if not lengths:
        raise ValueError("padding_mask: empty lengths")
    if min(lengths) < 0:
        raise ValueError("padding_mask: negative length")
    T = max(lengths) if max_len is None else max_len
    if max(lengths) > T:
        raise ValueError("padding_mask: length above max_len")
    out = torch.zeros(len(lengths), T, dtype=torch.bool)
    for b, n in enumerate(lengths):
        out[b, :n] = True
    return out
