"""Rejects odd d_model and seq_len < 1, but lets d_model = 0 or -2 through (own mistake)."""
VARIANT = {"module": "positional", "breaks": ["posenc"]}


def sinusoidal_positional_encoding(seq_len, d_model):
    if seq_len < 1 or d_model % 2:
        raise ValueError("bad sizes")
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angle = pos / 10000.0 ** (torch.arange(0, max(d_model, 0), 2, dtype=torch.float64) / d_model)
    pe = torch.empty(seq_len, max(d_model, 0), dtype=torch.float64)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()
    return pe.float()
