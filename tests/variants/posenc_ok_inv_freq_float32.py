"""Correct, written differently: inv_freq = 1 / 10000^(2i/d) in float32, outer product, stack."""
VARIANT = {"module": "positional", "breaks": []}


def sinusoidal_positional_encoding(seq_len, d_model):
    if not (seq_len >= 1 and d_model >= 2 and d_model % 2 == 0):
        raise ValueError(f"bad sizes {seq_len}, {d_model}")
    inv_freq = 1.0 / (10000 ** (torch.arange(0, d_model, 2, dtype=torch.float32) / d_model))
    angle = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).reshape(seq_len, d_model)
