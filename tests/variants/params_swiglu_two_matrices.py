"""A SwiGLU FFN is counted as two matrices (up and down), forgetting the gate."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.swiglu_two_matrices"}


def ffn_params(cfg):
    _check_config(cfg)
    up = linear_params(cfg.d_model, cfg.d_ff, cfg.bias)
    down = linear_params(cfg.d_ff, cfg.d_model, cfg.bias)
    return up + down
