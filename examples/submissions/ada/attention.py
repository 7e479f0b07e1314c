"""Attention from scratch: scaled dot-product attention, attention masks, top-k attention and a
multi-head attention module.

Mask convention everywhere in this module: a boolean tensor where True means "may attend", exactly
as the boolean ``attn_mask`` of ``torch.nn.functional.scaled_dot_product_attention``.

Write everything with plain tensor operations (matmul, softmax, masked_fill / where, ...). Calling
``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention`` or
``torch.nn.functional.multi_head_attention_forward`` scores 0 for the exercise.
"""

import math

import torch
import torch.nn as nn


def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    """Scaled dot-product attention; returns ``(output, weights)``.

    Args:
        query: float tensor (..., L, E).
        key: float tensor (..., S, E).
        value: float tensor (..., S, Ev). The leading dimensions "..." of the three inputs
            broadcast against each other as in ``torch.matmul``.
        mask: None, or a bool tensor broadcastable to (..., L, S); True means "may attend".
        scale: None for ``1 / sqrt(E)``, otherwise the float that multiplies the scores.

    Returns:
        output: (..., L, Ev), ``weights @ value``, same dtype as the inputs.
        weights: (..., L, S), the softmax over the last dimension of ``scale * query @ key^T``,
            with weight exactly 0 wherever the mask is False. A query row whose mask allows no
            key at all gets all-zero weights and an all-zero output -- never NaN, neither in
            the forward nor in the gradients.

    Gradients flow to query, key and value. Must match
    ``F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)``.

    Example: q, k, v of shape (2, 4, 8) -> output (2, 4, 8), weights (2, 4, 4), rows summing to 1.
    """
    E = query.shape[-1]
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale  # (..., L, S)
    if mask is not None:
        # a finite fill (not -inf): a row with no allowed key then gives no NaN, even in backward
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)  # (..., L, S)
    weights = torch.softmax(scores, dim=-1)  # (..., L, S)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)  # (..., L, S) exactly 0 where masked
    output = weights @ value  # (..., L, Ev)
    return output, weights


def causal_mask(seq_len, *, device=None):
    """Causal (autoregressive) mask: query i may attend to key j iff j <= i.

    Args:
        seq_len: number of positions T, an int >= 1.
        device: keyword-only; the device of the returned tensor (None: the default device).

    Returns:
        A torch.bool tensor (T, T), lower triangular (diagonal included).

    Raises:
        ValueError: if seq_len < 1.

    Example: causal_mask(3) -> [[T, F, F], [T, T, F], [T, T, T]]
    """
    if seq_len < 1:
        raise ValueError(f"causal_mask: seq_len must be >= 1, got {seq_len}")
    return torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()  # (T, T)


def sliding_window_mask(seq_len, window, *, device=None):
    """Sliding-window causal mask: query i may attend to key j iff 0 <= i - j < window.

    Each query sees itself and the ``window - 1`` tokens before it; ``window >= seq_len`` gives
    the causal mask.

    Args:
        seq_len: number of positions T, an int >= 1.
        window: the window size, an int >= 1.
        device: keyword-only; the device of the returned tensor (None: the default device).

    Returns:
        A torch.bool tensor (T, T).

    Raises:
        ValueError: if seq_len < 1 or window < 1.

    Example: sliding_window_mask(4, 2) -> [[T, F, F, F], [T, T, F, F], [F, T, T, F], [F, F, T, T]]
    """
    if seq_len < 1:
        raise ValueError(f"sliding_window_mask: seq_len must be >= 1, got {seq_len}")
    if window < 1:
        raise ValueError(f"sliding_window_mask: window must be >= 1, got {window}")
    pos = torch.arange(seq_len, device=device)  # (T,)
    dist = pos[:, None] - pos[None, :]  # (T, T) i - j
    return (dist >= 0) & (dist < window)  # (T, T)


def padding_mask(lengths, max_len=None):
    """Padding mask for a batch of right-padded sequences: entry [b, t] is True iff t < lengths[b].

    Args:
        lengths: a list / tuple of B ints, or a 1-D integer tensor (B,), all >= 0.
        max_len: the padded length T; None means ``max(lengths)``.

    Returns:
        A torch.bool tensor (B, T), on the device of ``lengths`` when it is a tensor.

    Raises:
        ValueError: if lengths is empty, not 1-D, not integer, holds a negative length, or holds
            a length above max_len.

    Example: padding_mask([2, 0, 3]) -> [[T, T, F], [F, F, F], [T, T, T]]
    """
    lengths = torch.as_tensor(lengths)  # (B,)
    if lengths.numel() == 0:
        raise ValueError("padding_mask: lengths is empty; pass at least one length")
    if lengths.dim() != 1:
        raise ValueError(f"padding_mask: lengths must be 1-D, got shape {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise ValueError(f"padding_mask: lengths must be integers, got dtype {lengths.dtype}")
    if (lengths < 0).any():
        raise ValueError(f"padding_mask: lengths must be >= 0, got {lengths.tolist()}")
    longest = int(lengths.max())
    T = longest if max_len is None else max_len
    if longest > T:
        raise ValueError(f"padding_mask: a length of {longest} does not fit in max_len={max_len}")
    pos = torch.arange(T, device=lengths.device)  # (T,)
    return pos[None, :] < lengths[:, None]  # (B, T)


def top_k_attention(query, key, value, k, mask=None, scale=None):
    """Top-k attention: like scaled_dot_product_attention, but each query row keeps only its
    largest scores in the softmax; returns ``(output, weights)``.

    In every query row, a position keeps its place in the softmax iff the mask allows it and its
    scaled score (``scale * query @ key^T``) is at least the k-th largest allowed score of that
    row; every other position gets weight exactly 0. Ties at the k-th place are all kept (a row
    can keep more than k positions). Masked positions are never kept and do not count towards k.
    When k is at least the number of allowed positions, the result equals
    ``scaled_dot_product_attention``; a row with no allowed key is all zeros, as there.

    Args:
        query: float tensor (..., L, E).
        key: float tensor (..., S, E).
        value: float tensor (..., S, Ev).
        k: int >= 1, how many of the largest allowed scores each row keeps.
        mask: None, or a bool tensor broadcastable to (..., L, S); True means "may attend".
        scale: None for ``1 / sqrt(E)``, otherwise the float that multiplies the scores.

    Returns:
        output: (..., L, Ev) and weights: (..., L, S), as in scaled_dot_product_attention.

    Raises:
        ValueError: if k < 1.

    Example: scores [[3., 1., 2.]] and k=2 -> weights [[softmax([3, 2])[0], 0, softmax([3, 2])[1]]]
    """
    if k < 1:
        raise ValueError(f"top_k_attention: k must be >= 1, got {k}")
    E = query.shape[-1]
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    with torch.no_grad():  # choosing the kept positions is not differentiable
        scores = (query @ key.transpose(-2, -1)) * scale  # (..., L, S)
        if mask is not None:
            scores = torch.where(mask, scores, float("-inf"))  # (..., L, S)
        S = scores.shape[-1]
        kth = scores.topk(min(k, S), dim=-1).values[..., -1:]  # (..., L, 1), -inf if too few allowed
        keep = scores >= kth  # (..., L, S) ties at the k-th place all kept
        if mask is not None:
            keep = keep & mask  # (..., L, S) masked positions never kept
    return scaled_dot_product_attention(query, key, value, mask=keep, scale=scale)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate query, key, value and output projections.

    Submodules (and no other parameters): ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``, each
    ``nn.Linear(d_model, d_model, bias=bias)``. Each of the ``n_heads`` heads works on
    ``head_dim = d_model // n_heads`` channels and scales its scores by ``1 / sqrt(head_dim)``.
    With the same weights it matches ``nn.MultiheadAttention(d_model, n_heads, bias=bias,
    batch_first=True)`` (whose bool ``attn_mask`` uses the opposite convention: True = blocked).

    Example: MultiHeadAttention(64, 4)(torch.randn(2, 10, 64)) -> output (2, 10, 64), weights (2, 4, 10, 10)
    """

    def __init__(self, d_model, n_heads, bias=True):
        """Create the four projections.

        Args:
            d_model: model width C.
            n_heads: number of heads H; must divide d_model.
            bias: whether the four nn.Linear layers have a bias.

        Raises:
            ValueError: if n_heads < 1 or d_model % n_heads != 0.
        """
        super().__init__()
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError(
                f"MultiHeadAttention: n_heads={n_heads} must be >= 1 and divide d_model={d_model}"
            )
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None):
        """Attend from ``query`` to ``key`` / ``value``; returns ``(output, weights)``.

        Args:
            query: (B, L, d_model).
            key: (B, S, d_model); None means ``query`` (self-attention).
            value: (B, S, d_model); None means ``key``.
            mask: None, or a bool tensor broadcastable to (B, n_heads, L, S); True means "may
                attend". E.g. ``causal_mask(L)`` (L, L), or a padding mask (B, S) reshaped to
                (B, 1, 1, S).

        Returns:
            output: (B, L, d_model), after ``out_proj``.
            weights: (B, n_heads, L, S), the per-head attention weights. A query row with no
                allowed key gets zero weights, so its output is ``out_proj``'s bias.
        """
        key = query if key is None else key
        value = key if value is None else value
        B, L, C = query.shape
        S = key.shape[1]
        H, D = self.n_heads, self.head_dim
        q = self.q_proj(query).view(B, L, H, D).transpose(1, 2)  # (B, H, L, D)
        k = self.k_proj(key).view(B, S, H, D).transpose(1, 2)  # (B, H, S, D)
        v = self.v_proj(value).view(B, S, H, D).transpose(1, 2)  # (B, H, S, D)
        y, weights = scaled_dot_product_attention(q, k, v, mask=mask)  # (B, H, L, D), (B, H, L, S)
        y = y.transpose(1, 2).reshape(B, L, C)  # (B, L, C) heads side by side
        return self.out_proj(y), weights
