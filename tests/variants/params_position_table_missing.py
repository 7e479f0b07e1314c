"""The learned position table is left out of the model count."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.position_table_missing"}


def model_params(cfg):
    _check_config(cfg)
    total = embedding_params(cfg.vocab_size, cfg.d_model)
    total += cfg.n_layers * block_params(cfg)
    total += norm_params(cfg.d_model, cfg.norm)
    if not cfg.tie_embeddings:
        total += linear_params(cfg.d_model, cfg.vocab_size, bias=False)
    return int(total)
