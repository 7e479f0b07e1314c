"""The causal mask hides each token from itself (strictly lower triangular)."""

import torch

VARIANT = {"module": "attention", "breaks": ["masks"], "misconception": "masks.causal_excludes_diagonal"}


def causal_mask(seq_len, *, device=None):
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    return torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril(diagonal=-1)
