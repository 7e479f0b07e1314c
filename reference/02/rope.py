"""Rotary position embedding (RoPE): positions as rotations of pairs of query and key features.

Convention (as in the RoFormer paper and Meta's Llama code): **consecutive pairs** are rotated.
The pair `(x[..., 2i], x[..., 2i+1])` of a vector at position `p` turns by the angle
`p * theta_i`, with `theta_i = base ** (-2i / head_dim)` for `i = 0 .. head_dim/2 - 1`. (Rotating
the two halves of the vector, `x[..., i]` with `x[..., i + head_dim/2]`, is another layout, used
by some libraries; it is not the one asked for here.)
"""

import torch


def rope_angles(head_dim, seq_len, *, base=10000.0, offset=0, dtype=torch.float32):
    """The cosines and sines of RoPE's angles for positions `offset .. offset + seq_len - 1`.

    Args:
        head_dim: the width of one head, even and >= 2.
        seq_len: the number of positions T, >= 1.
        base: keyword-only; the base of the frequencies `theta_i = base ** (-2i / head_dim)`.
        offset: keyword-only; the position of the first row, >= 0 (positions already cached).
        dtype: keyword-only; the dtype of the results.

    Returns:
        `(cos, sin)`, each (T, head_dim // 2): `cos[p, i] = cos((offset + p) * theta_i)`, same for
        `sin`. The angles are computed in float64, then the results cast to `dtype` (a float32
        angle at position 100,000 is already off by about 0.005).

    Raises:
        ValueError: for an odd or non-positive head_dim, seq_len < 1 or offset < 0.

    Example: rope_angles(2, 2) -> cos [[1.0], [0.5403]], sin [[0.0], [0.8415]]
    """
    ### BEGIN SOLUTION
    if head_dim < 2 or head_dim % 2:
        raise ValueError(f"head_dim must be even and >= 2, got {head_dim}")
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    i = torch.arange(head_dim // 2, dtype=torch.float64)  # (head_dim/2,)
    theta = base ** (-2 * i / head_dim)  # (head_dim/2,)
    positions = torch.arange(offset, offset + seq_len, dtype=torch.float64)  # (T,)
    angles = positions[:, None] * theta[None, :]  # (T, head_dim/2)
    return angles.cos().to(dtype), angles.sin().to(dtype)
    ### END SOLUTION


def apply_rope(x, cos, sin):
    """Rotate each consecutive pair of features of `x` by its position's angle.

    Args:
        x: (..., T, head_dim), the queries or keys of one or more heads.
        cos, sin: (T, head_dim // 2), from `rope_angles`; cast to `x.dtype` first, and broadcast
            over the leading dimensions of `x`.

    Returns:
        A new tensor of `x`'s shape and dtype where each pair `(a, b) = (x[..., 2i], x[..., 2i+1])`
        becomes `(a * cos - b * sin, a * sin + b * cos)`. Every vector keeps its norm, and the dot
        product of a rotated query and a rotated key depends only on the difference of their
        positions.

    Raises:
        ValueError: when the last dimension of x is not `2 * cos.shape[-1]`, or T differs from
            `cos.shape[0]`.

    Example: apply_rope(torch.tensor([[1.0, 0.0]]), *rope_angles(2, 1, offset=1)) -> [[0.5403, 0.8415]]
    """
    ### BEGIN SOLUTION
    if x.shape[-1] != 2 * cos.shape[-1]:
        raise ValueError(f"x has {x.shape[-1]} features, cos and sin are for {2 * cos.shape[-1]}")
    if x.shape[-2] != cos.shape[0]:
        raise ValueError(f"x has {x.shape[-2]} positions, cos and sin have {cos.shape[0]}")
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)  # (T, head_dim/2)
    a, b = x[..., 0::2], x[..., 1::2]  # (..., T, head_dim/2) each
    rotated = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)  # (..., T, head_dim/2, 2)
    return rotated.flatten(-2)  # (..., T, head_dim)
    ### END SOLUTION
