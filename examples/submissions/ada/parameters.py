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


def norm_params(dim: int, kind: str) -> int:
    """Parameters of one normalization layer over `dim` features.

    Args:
        dim: the number of features normalized.
        kind: "layernorm" (a weight and a bias, as `torch.nn.LayerNorm(dim)`) or "rmsnorm"
            (a weight only, as `torch.nn.RMSNorm(dim)`).

    Raises:
        ValueError: `kind` is neither "layernorm" nor "rmsnorm".
    """
    if kind == "layernorm":
        return int(2 * dim)
    if kind == "rmsnorm":
        return int(dim)
    raise ValueError(f"norm kind {kind!r} is not known; use one of {_NORM_KINDS}")


def attention_params(cfg: TransformerConfig) -> int:
    """Parameters of one block's multi-head attention: the q, k, v and out projections,
    each d_model -> d_model, with biases when `cfg.bias`. (The number of heads changes how the
    projections are split, not how many parameters there are.)

    Raises:
        ValueError: `cfg.norm` or `cfg.ffn` is not a known kind (checked by every function taking cfg).

    Example: attention_params(TransformerConfig(100, 8, 1, 2, 32)) -> 288
    """
    _check_config(cfg)
    return 4 * linear_params(cfg.d_model, cfg.d_model, cfg.bias)


def ffn_params(cfg: TransformerConfig) -> int:
    """Parameters of one block's feed-forward network.

    "mlp": up (d_model -> d_ff) and down (d_ff -> d_model). "swiglu": gate and up (both
    d_model -> d_ff) and down (d_ff -> d_model). Every Linear has a bias when `cfg.bias`.

    Raises:
        ValueError: `cfg.norm` or `cfg.ffn` is not a known kind.

    Example: ffn_params(TransformerConfig(100, 8, 1, 2, 32, bias=False)) -> 512
    """
    _check_config(cfg)
    up = linear_params(cfg.d_model, cfg.d_ff, cfg.bias)
    down = linear_params(cfg.d_ff, cfg.d_model, cfg.bias)
    return (2 * up if cfg.ffn == "swiglu" else up) + down


def block_params(cfg: TransformerConfig) -> int:
    """Parameters of one pre-norm decoder block: norm, attention, norm, FFN.

    Raises:
        ValueError: `cfg.norm` or `cfg.ffn` is not a known kind.
    """
    _check_config(cfg)
    return 2 * norm_params(cfg.d_model, cfg.norm) + attention_params(cfg) + ffn_params(cfg)


def model_params(cfg: TransformerConfig) -> int:
    """Parameters of the whole model: token embedding, position table (when `cfg.max_seq_len` > 0),
    `cfg.n_layers` blocks, final norm and LM head (d_model x vocab_size, no bias; when
    `cfg.tie_embeddings` it is the token-embedding matrix, so it adds nothing).

    Raises:
        ValueError: `cfg.norm` or `cfg.ffn` is not a known kind.

    Example (GPT-2 small):
        model_params(TransformerConfig(50257, 768, 12, 12, 3072, max_seq_len=1024,
                                       tie_embeddings=True)) -> 124439808
    """
    _check_config(cfg)
    total = embedding_params(cfg.vocab_size, cfg.d_model)
    if cfg.max_seq_len > 0:
        total += embedding_params(cfg.max_seq_len, cfg.d_model)
    total += cfg.n_layers * block_params(cfg)
    total += norm_params(cfg.d_model, cfg.norm)
    if not cfg.tie_embeddings:
        total += linear_params(cfg.d_model, cfg.vocab_size, bias=False)
    return int(total)
