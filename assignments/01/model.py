"""A small decoder-only Transformer language model (given code: nothing to write here).

It builds the model that `parameters.py` counts, from a `TransformerConfig` (any object with the
same fields will do), so that you can compare your formulas with what PyTorch counts:

    import torch
    from parameters import TransformerConfig, model_params
    from model import TransformerLM

    cfg = TransformerConfig(vocab_size=32000, d_model=4096, n_layers=32, n_heads=32, d_ff=11008,
                            bias=False, norm="rmsnorm", ffn="swiglu")
    with torch.device("meta"):           # parameters without storage: a 7B model costs no memory
        model = TransformerLM(cfg)
    sum(p.numel() for p in model.parameters()) == model_params(cfg)   # tied weights count once

The model is a parameter skeleton: it holds exactly the parameters of the architecture, with
their names and shapes, and has no forward pass (running attention is what you write in
attention.py; this file does not depend on your solutions).
"""

from torch import nn

NORMS = ("layernorm", "rmsnorm")
FFNS = ("mlp", "swiglu")


def make_norm(dim: int, kind: str) -> nn.Module:
    """A normalization layer: "layernorm" (weight and bias) or "rmsnorm" (weight only)."""
    if kind == "layernorm":
        return nn.LayerNorm(dim)
    if kind == "rmsnorm":
        return nn.RMSNorm(dim)
    raise ValueError(f"norm={kind!r} is not a known norm; use one of {NORMS}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention's parameters: q, k, v and out projections, each d_model -> d_model."""

    def __init__(self, d_model: int, n_heads: int, bias: bool = True) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

class FeedForward(nn.Module):
    """The FFN's parameters: "mlp" has up and down; "swiglu" has gate, up and down."""

    def __init__(self, d_model: int, d_ff: int, kind: str = "mlp", bias: bool = True) -> None:
        super().__init__()
        if kind not in FFNS:
            raise ValueError(f"ffn={kind!r} is not a known FFN; use one of {FFNS}")
        self.gate = nn.Linear(d_model, d_ff, bias=bias) if kind == "swiglu" else None
        self.up = nn.Linear(d_model, d_ff, bias=bias)
        self.down = nn.Linear(d_ff, d_model, bias=bias)

class Block(nn.Module):
    """One pre-norm decoder block's parameters: norm, attention, norm, FFN."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.attn_norm = make_norm(cfg.d_model, cfg.norm)
        self.attn = CausalSelfAttention(cfg.d_model, cfg.n_heads, cfg.bias)
        self.ffn_norm = make_norm(cfg.d_model, cfg.norm)
        self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.ffn, cfg.bias)

class TransformerLM(nn.Module):
    """A decoder-only Transformer language model built from a `TransformerConfig`.

    Parts, in order: token embedding `tok_emb` (vocab_size x d_model); a learned position table
    `pos_emb` (max_seq_len x d_model) when cfg.max_seq_len > 0, else None; `cfg.n_layers` pre-norm
    `blocks`; a final norm `norm`; and the LM head `lm_head` (d_model -> vocab_size, no bias), which
    is None when cfg.tie_embeddings: the logits then use the token-embedding matrix itself.

    `cfg` is any object with the fields of `parameters.TransformerConfig`. An unknown cfg.norm or
    cfg.ffn, or a d_model that n_heads does not divide, raises ValueError.
    """

    def __init__(self, cfg) -> None:
        super().__init__()
        if cfg.norm not in NORMS:
            raise ValueError(f"cfg.norm={cfg.norm!r} is not a known norm; use one of {NORMS}")
        if cfg.ffn not in FFNS:
            raise ValueError(f"cfg.ffn={cfg.ffn!r} is not a known FFN; use one of {FFNS}")
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_seq_len, cfg.d_model) if cfg.max_seq_len > 0 else None
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = make_norm(cfg.d_model, cfg.norm)
        self.lm_head = None if cfg.tie_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

