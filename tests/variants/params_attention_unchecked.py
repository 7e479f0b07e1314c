"""attention_params does not look at cfg.norm / cfg.ffn, so an unknown kind gives no ValueError there."""
VARIANT = {"module": "parameters", "breaks": ["params"]}


def attention_params(cfg):
    return 4 * linear_params(cfg.d_model, cfg.d_model, cfg.bias)
