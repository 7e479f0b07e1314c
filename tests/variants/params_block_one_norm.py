"""A decoder block is counted with one norm instead of two (pre-norm has one before each sublayer)."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.block_one_norm"}


def block_params(cfg):
    _check_config(cfg)
    return norm_params(cfg.d_model, cfg.norm) + attention_params(cfg) + ffn_params(cfg)
