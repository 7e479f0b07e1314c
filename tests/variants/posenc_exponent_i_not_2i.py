"""Uses 10000^(i / d_model) instead of 10000^(2i / d_model)."""
VARIANT = {"module": "positional", "breaks": ["posenc"], "misconception": "posenc.exponent_i_not_2i"}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError("bad sizes")
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = pos / 10000.0 ** (i / d_model)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe.float()
