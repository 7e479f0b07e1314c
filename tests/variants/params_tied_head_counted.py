"""The LM head is counted even when it is tied to the token embedding."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.tied_head_counted"}


def model_params(cfg):
    _check_config(cfg)
    total = embedding_params(cfg.vocab_size, cfg.d_model)
    if cfg.max_seq_len > 0:
        total += embedding_params(cfg.max_seq_len, cfg.d_model)
    total += cfg.n_layers * block_params(cfg)
    total += norm_params(cfg.d_model, cfg.norm)
    total += linear_params(cfg.d_model, cfg.vocab_size, bias=False)
    return int(total)
