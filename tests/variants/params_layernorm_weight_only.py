"""LayerNorm is counted as d (its weight) instead of 2d (weight and bias)."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.layernorm_weight_only"}


def norm_params(dim, kind):
    if kind in ("layernorm", "rmsnorm"):
        return int(dim)
    raise ValueError(f"unknown norm {kind!r}")
