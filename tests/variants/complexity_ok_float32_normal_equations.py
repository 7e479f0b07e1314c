"""Correct, written differently: float32 normal equations (uncentred sums), loops for the FLOPs."""
VARIANT = {"module": "complexity", "breaks": []}


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    total = 0
    for d in (d_k, d_v):
        total += 2 * q_len * kv_len * d
    return total


def fit_power_law(sizes, times):
    if len(sizes) != len(times) or len(sizes) < 2:
        raise ValueError("need equally many sizes and times, at least two")
    if any(float(s) <= 0 for s in sizes) or any(float(t) <= 0 for t in times):
        raise ValueError("sizes and times must be positive")
    x = torch.log(torch.tensor([float(s) for s in sizes]))
    y = torch.log(torch.tensor([float(t) for t in times]))
    n = len(sizes)
    exponent = (n * (x * y).sum() - x.sum() * y.sum()) / (n * (x * x).sum() - x.sum() ** 2)
    intercept = (y.sum() - exponent * x.sum()) / n
    return float(exponent), float(torch.exp(intercept))
