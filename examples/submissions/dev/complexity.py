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
    raise NotImplementedError("complexity: not implemented yet")


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
    raise NotImplementedError("complexity: not implemented yet")
