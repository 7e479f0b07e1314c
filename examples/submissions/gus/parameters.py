"""Hostile: floods the output, writes fake grades, and answers with objects that equal everything."""
from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    max_seq_len: int = 0
    bias: bool = True
    norm: str = "layernorm"
    ffn: str = "mlp"
    tie_embeddings: bool = False


class Anything(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def _flood():
    print("x" * 10_000_000)
    for path in ("grades.csv", "results.json", "../grades.csv", "/tmp/grades.csv"):
        try:
            with open(path, "w") as handle:
                handle.write("gus,100\n")
        except OSError:
            pass


def linear_params(d_in, d_out, bias=True):
    _flood()
    return Anything(0)


embedding_params = norm_params = attention_params = ffn_params = block_params = model_params = linear_params
