"""Correct, written differently: each count as one closed-form expression, no helper calls."""
VARIANT = {"module": "parameters", "breaks": []}


def norm_params(dim, kind):
    per_dim = {"layernorm": 2, "rmsnorm": 1}
    if kind not in per_dim:
        raise ValueError(f"unknown norm kind {kind!r}")
    return per_dim[kind] * dim


def attention_params(cfg):
    if cfg.norm not in ("layernorm", "rmsnorm") or cfg.ffn not in ("mlp", "swiglu"):
        raise ValueError("unknown cfg.norm or cfg.ffn")
    d = cfg.d_model
    return 4 * d * d + (4 * d if cfg.bias else 0)


def ffn_params(cfg):
    if cfg.norm not in ("layernorm", "rmsnorm") or cfg.ffn not in ("mlp", "swiglu"):
        raise ValueError("unknown cfg.norm or cfg.ffn")
    n_in = 2 if cfg.ffn == "swiglu" else 1
    d, f = cfg.d_model, cfg.d_ff
    return n_in * d * f + f * d + ((n_in * f + d) if cfg.bias else 0)


def block_params(cfg):
    if cfg.norm not in ("layernorm", "rmsnorm") or cfg.ffn not in ("mlp", "swiglu"):
        raise ValueError("unknown cfg.norm or cfg.ffn")
    d, f = cfg.d_model, cfg.d_ff
    norms = (4 if cfg.norm == "layernorm" else 2) * d
    attn = 4 * d * d + (4 * d if cfg.bias else 0)
    mats = 3 if cfg.ffn == "swiglu" else 2
    ffn = mats * d * f + (((mats - 1) * f + d) if cfg.bias else 0)
    return norms + attn + ffn


def model_params(cfg):
    if cfg.norm not in ("layernorm", "rmsnorm") or cfg.ffn not in ("mlp", "swiglu"):
        raise ValueError("unknown cfg.norm or cfg.ffn")
    d, V = cfg.d_model, cfg.vocab_size
    heads = 1 if cfg.tie_embeddings else 2
    final_norm = d * (2 if cfg.norm == "layernorm" else 1)
    return heads * V * d + max(cfg.max_seq_len, 0) * d + cfg.n_layers * block_params(cfg) + final_norm
