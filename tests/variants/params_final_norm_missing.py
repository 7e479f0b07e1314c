"""The final norm after the last block is left out of the model count."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.final_norm_missing"}


def model_params(cfg):
    _check_config(cfg)
    total = embedding_params(cfg.vocab_size, cfg.d_model)
    if cfg.max_seq_len > 0:
        total += embedding_params(cfg.max_seq_len, cfg.d_model)
    total += cfg.n_layers * block_params(cfg)
    if not cfg.tie_embeddings:
        total += linear_params(cfg.d_model, cfg.vocab_size, bias=False)
    return int(total)
