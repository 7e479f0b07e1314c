"""Rotary position embedding (RoPE): positions as rotations of pairs of query and key features.

Convention (as in the RoFormer paper and Meta's Llama code): **consecutive pairs** are rotated.
The pair `(x[..., 2i], x[..., 2i+1])` of a vector at position `p` turns by the angle
`p * theta_i`, with `theta_i = base ** (-2i / head_dim)` for `i = 0 .. head_dim/2 - 1`. (Rotating
the two halves of the vector, `x[..., i]` with `x[..., i + head_dim/2]`, is another layout, used
by some libraries; it is not the one asked for here.)
"""


import torch


def rope_angles(head_dim, seq_len, *, base=10000.0, offset=0, dtype=torch.float32):
    if head_dim <= 0 or head_dim % 2 == 1 or seq_len < 1 or offset < 0:
        raise ValueError("rope_angles: bad arguments")
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float64) + offset, inv_freq)
    return torch.cos(angles).to(dtype), torch.sin(angles).to(dtype)


def apply_rope(x, cos, sin):
    if x.shape[-1] != 2 * cos.shape[-1] or x.shape[-2] != cos.shape[0]:
        raise ValueError("apply_rope: x does not match cos and sin")
    wide = torch.float64 if x.dtype == torch.float64 else torch.float32
    pairs = torch.view_as_complex(x.to(wide).reshape(*x.shape[:-1], -1, 2).contiguous())
    turn = torch.complex(cos.to(x.dtype).to(wide), sin.to(x.dtype).to(wide))
    return torch.view_as_real(pairs * turn).reshape(x.shape).to(x.dtype)
