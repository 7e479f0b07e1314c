"""The model's configuration (given code: nothing to write here, and it is not graded).

Build configurations with keyword arguments (the field order differs from assignment 01's
`TransformerConfig`):

    from config import ModelConfig, GPT2_SMALL, LLAMA2_7B

    cfg = ModelConfig(vocab_size=64, d_model=16, n_heads=4, n_layers=2, d_ff=32, max_seq_len=32)
    cfg.head_dim                               # 4, d_model // n_heads
    ModelConfig(vocab_size=64, d_model=16, n_heads=0, n_layers=2, d_ff=32, max_seq_len=32)
    # ValueError: n_heads must be >= 1, got 0
"""

from dataclasses import dataclass

NORMS = ("rmsnorm", "layernorm")
FFNS = ("swiglu", "gelu")
POSITIONS = ("rope", "learned")


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    d_model: int
    n_heads: int
    n_layers: int
    d_ff: int
    max_seq_len: int
    norm: str = "rmsnorm"        # "rmsnorm" | "layernorm"
    ffn: str = "swiglu"          # "swiglu" | "gelu"
    positions: str = "rope"      # "rope" | "learned"
    bias: bool = False           # bias in every Linear except lm_head; LayerNorm bias too
    tie_embeddings: bool = False  # lm_head.weight is tok_emb.weight (the same Parameter)
    eps: float = 1e-5            # the norms' epsilon
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        if self.rope_base <= 0:
            raise ValueError(f"rope_base must be > 0, got {self.rope_base}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        for name, known in (("norm", NORMS), ("ffn", FFNS), ("positions", POSITIONS)):
            if getattr(self, name) not in known:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {known}")
        if self.positions == "rope" and self.head_dim % 2 != 0:
            raise ValueError(f"RoPE rotates pairs of features: head_dim={self.head_dim} must be even")

    @property
    def head_dim(self) -> int:
        """The width of one attention head, d_model // n_heads."""
        return self.d_model // self.n_heads


GPT2_SMALL = ModelConfig(vocab_size=50257, d_model=768, n_heads=12, n_layers=12, d_ff=3072, max_seq_len=1024,
                         norm="layernorm", ffn="gelu", positions="learned", bias=True, tie_embeddings=True)
LLAMA2_7B = ModelConfig(vocab_size=32000, d_model=4096, n_heads=32, n_layers=32, d_ff=11008, max_seq_len=4096,
                        norm="rmsnorm", ffn="swiglu", positions="rope", bias=False, tie_embeddings=False,
                        eps=1e-5)
