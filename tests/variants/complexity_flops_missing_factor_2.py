"""Counts a multiply-add as one operation."""
VARIANT = {"module": "complexity", "breaks": ["complexity"], "misconception": "complexity.flops_missing_factor_2"}


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    return q_len * kv_len * d_k + q_len * kv_len * d_v
