"""Returns the right count as a float (own mistake: the contract says int)."""
VARIANT = {"module": "complexity", "breaks": ["complexity"], "misconception": "complexity.flops_returns_float"}


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    return 2.0 * q_len * kv_len * (d_k + d_v)
