"""Returns the table in float64 instead of float32 (own mistake)."""
VARIANT = {"module": "positional", "breaks": ["posenc"], "misconception": "posenc.float64_output"}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError("bad sizes")
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe
