"""Sinusoidal positional encoding ("Attention Is All You Need", section 3.5).

Each position gets a fixed d_model-dimensional vector of sines and cosines of different
frequencies, added to the token embeddings so that attention can tell positions apart.
"""

import torch


def sinusoidal_positional_encoding(seq_len, d_model):
    """The sinusoidal positional-encoding table.

    PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    Args:
        seq_len: number of positions T, an int >= 1.
        d_model: encoding width C, an even int >= 2.

    Returns:
        A torch.float32 tensor (T, C). Row ``pos`` is the encoding of position ``pos``. Accuracy
        matters at long positions (a float32 angle at position 2048 is already off by about 1e-4):
        compared with exact values, an absolute error up to ``1e-5 + 1e-7 * seq_len`` is accepted.

    Raises:
        ValueError: if seq_len < 1, d_model < 2 or d_model is odd.

    Example: sinusoidal_positional_encoding(2, 2) -> [[0., 1.], [sin(1.), cos(1.)]]
    """
    if seq_len < 1:
        raise ValueError(f"sinusoidal_positional_encoding: seq_len must be >= 1, got {seq_len}")
    if d_model < 2 or d_model % 2 != 0:
        raise ValueError(f"sinusoidal_positional_encoding: d_model must be even and >= 2, got {d_model}")
    pos = torch.arange(seq_len, dtype=torch.float64)  # (T,)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (C/2,)
    angle = pos[:, None] / 10000.0 ** (two_i / d_model)  # (T, C/2) in float64: exact at long positions
    pe = torch.stack([angle.sin(), angle.cos()], dim=-1)  # (T, C/2, 2)
    return pe.reshape(seq_len, d_model).float()  # (T, C) columns sin, cos, sin, cos, ...
