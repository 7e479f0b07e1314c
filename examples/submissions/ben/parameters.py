"""Counting the parameters of a decoder-only Transformer.

`TransformerConfig` below is given: do not change it. You write the seven counting functions under
it; each returns an `int`. The model they count is:

    token embedding           vocab_size x d_model
    position table            max_seq_len x d_model          (only when max_seq_len > 0)
    n_layers decoder blocks   norm, attention (q, k, v, out: d_model x d_model each), norm, FFN
    final norm
    LM head                   d_model x vocab_size, no bias  (absent when tie_embeddings)

`model.py` (given) builds exactly this model as a `torch.nn.Module`, so you can check a formula
against `sum(p.numel() for p in model.parameters())`; build it under `with torch.device("meta"):`
and even a 7B model costs no memory.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    max_seq_len: int = 0        # > 0: a learned position-embedding table of that many rows; 0: none
    bias: bool = True           # every Linear in attention and FFN has a bias; the LM head never has one
    norm: str = "layernorm"     # "layernorm": weight and bias (2 * d_model); "rmsnorm": weight only
    ffn: str = "mlp"            # "mlp": up and down Linear; "swiglu": gate, up and down Linear
    tie_embeddings: bool = False  # the LM head reuses the token-embedding matrix


_NORM_KINDS = ("layernorm", "rmsnorm")
_FFN_KINDS = ("mlp", "swiglu")


def _check_config(cfg: TransformerConfig) -> None:
    """Raise ValueError when cfg.norm or cfg.ffn is not a known kind."""
    if cfg.norm not in _NORM_KINDS:
        raise ValueError(f"cfg.norm={cfg.norm!r} is not a known norm; use one of {_NORM_KINDS}")
    if cfg.ffn not in _FFN_KINDS:
        raise ValueError(f"cfg.ffn={cfg.ffn!r} is not a known FFN; use one of {_FFN_KINDS}")




def linear_params(d_in: int, d_out: int, bias: bool = True) -> int:
    """Parameters of `torch.nn.Linear(d_in, d_out, bias=bias)`: its weight, plus its bias if any.

    Example: linear_params(4, 3) -> 15, linear_params(4, 3, bias=False) -> 12
    """
    return int(d_in * d_out + (d_out if bias else 0))


def embedding_params(num_embeddings: int, dim: int) -> int:
    """Parameters of `torch.nn.Embedding(num_embeddings, dim)`: a table of one row per entry.

    Example: embedding_params(10, 4) -> 40
    """
    return int(num_embeddings * dim)


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
