"""Correct, written differently: the layers are built as torch modules on the meta device and counted."""
VARIANT = {"module": "parameters", "breaks": []}

import torch


def _count(module):
    return int(sum(p.numel() for p in module.parameters()))


def linear_params(d_in, d_out, bias=True):
    return _count(torch.nn.Linear(d_in, d_out, bias=bias, device="meta"))


def embedding_params(num_embeddings, dim):
    # _weight skips the random init (on the meta device normal_ would import torch._dynamo).
    weight = torch.empty(num_embeddings, dim, device="meta")
    return _count(torch.nn.Embedding(num_embeddings, dim, _weight=weight))


def norm_params(dim, kind):
    if kind == "layernorm":
        return _count(torch.nn.LayerNorm(dim, device="meta"))
    if kind == "rmsnorm":
        return _count(torch.nn.RMSNorm(dim, device="meta"))
    raise ValueError(f"unknown norm kind {kind!r}")
