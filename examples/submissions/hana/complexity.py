"""How attention's cost grows with sequence length: the FLOPs of its two matrix products, and a
power-law fit ``time = coefficient * size^exponent`` to measured timings.
"""

import math

import torch


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    """Floating-point operations of the two matrix products of one attention head.

    The products are the scores ``(q_len, d_k) @ (d_k, kv_len)`` and the weighted sum
    ``(q_len, kv_len) @ (kv_len, d_v)``; one multiply-add counts as 2 FLOPs, as
    ``torch.utils.flop_counter.FlopCounterMode`` counts them.

    Args:
        q_len, kv_len, d_k, d_v: ints, the number of queries, of keys / values, and the key and
            value widths.

    Returns:
        An int, equal to what FlopCounterMode counts for the two products.

    Example: attention_matmul_flops(1, 1, 1, 1) -> 4
    """
    scores = 2 * q_len * kv_len * d_k  # (q_len, d_k) @ (d_k, kv_len)
    weighted_sum = 2 * q_len * kv_len * d_v  # (q_len, kv_len) @ (kv_len, d_v)
    return int(scores + weighted_sum)


def fit_power_law(sizes, times):
    """Least-squares fit of ``log(time) = exponent * log(size) + log(coefficient)``.

    Args:
        sizes: N > 0 numbers (list, tuple, 1-D numpy array or 1-D tensor), N >= 2.
        times: N > 0 numbers, in the same forms.

    Returns:
        ``(exponent, coefficient)`` as Python floats, so that ``time ~ coefficient * size**exponent``.

    Raises:
        ValueError: if there are fewer than 2 points, the inputs are not 1-D or have unequal
            lengths, a value is not positive, or all sizes are equal (no slope to fit).

    Example: fit_power_law([1, 2, 4], [3, 12, 48]) -> (2.0, 3.0)
    """
    x = torch.as_tensor(sizes, dtype=torch.float64)  # (N,)
    y = torch.as_tensor(times, dtype=torch.float64)  # (N,)
    if x.dim() != 1 or y.dim() != 1:
        raise ValueError(
            f"fit_power_law: sizes and times must be 1-D, got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) != len(y):
        raise ValueError(f"fit_power_law: got {len(x)} sizes but {len(y)} times; pass one time per size")
    if len(x) < 2:
        raise ValueError(f"fit_power_law: need at least 2 points, got {len(x)}")
    if not ((x > 0).all() and (y > 0).all()):
        raise ValueError("fit_power_law: every size and time must be > 0 (the fit is in log space)")
    lx, ly = x.log(), y.log()  # (N,), (N,)
    dx, dy = lx - lx.mean(), ly - ly.mean()  # (N,), (N,) centred
    var = (dx * dx).sum()
    if var == 0:
        raise ValueError("fit_power_law: all sizes are equal; use at least two different sizes")
    exponent = (dx * dy).sum() / var
    log_coefficient = ly.mean() - exponent * lx.mean()
    return float(exponent), math.exp(float(log_coefficient))
