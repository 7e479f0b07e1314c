"""All sines in the first half of the columns, all cosines in the second (own mistake)."""
VARIANT = {"module": "positional", "breaks": ["posenc"], "misconception": "posenc.halves_not_interleaved"}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError("bad sizes")
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    return torch.cat([angle.sin(), angle.cos()], dim=1).float()
