"""Uses d_k for both products, ignoring d_v (own mistake)."""
VARIANT = {"module": "complexity", "breaks": ["complexity"], "misconception": "complexity.flops_dk_only"}


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    return 4 * q_len * kv_len * d_k
