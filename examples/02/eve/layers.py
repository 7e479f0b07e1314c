"""The layers a transformer block is made of: two normalisations and the feed-forward network.

Every module works on the last dimension of its input, whatever the leading dimensions, and keeps
the input's dtype. Write the norms from scratch: reaching `torch.nn.functional.layer_norm`,
`torch.nn.LayerNorm`, `torch.layer_norm`, `torch.nn.functional.rms_norm`, `torch.rms_norm` or
`torch.nn.RMSNorm` (by any route) scores 0 for the exercise `norms`. The feed-forward layer may use
`torch.nn.Linear`, `torch.nn.functional.gelu` and `torch.nn.functional.silu`.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

FFN_KINDS = ("swiglu", "gelu")


def _check_sizes(**sizes) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def _check_norm(dim, eps) -> None:
    _check_sizes(dim=dim)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")


class LayerNorm(nn.Module):
    """Layer normalisation over the last dimension, with a learned scale and (optionally) shift.

    `forward(x) = (x - mean) / sqrt(var + eps) * weight + bias`, mean and **biased** variance
    (divide by n, not n - 1) taken over the last dimension. Parameters: `weight` (dim,) starts at
    ones, `bias` (dim,) at zeros; with `bias=False` the attribute `bias` is None. Matches
    `torch.nn.LayerNorm(dim, eps=eps, bias=bias)` given the same parameters.

    Raises ValueError when dim < 1 or eps < 0.

    Example: LayerNorm(2)(torch.tensor([1.0, 3.0])) -> about [-1.0, 1.0]
    """

    def __init__(self, dim, eps=1e-5, bias=True):
        super().__init__()
        _check_norm(dim, eps)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)  # (..., 1)
        var = (x - mean).pow(2).mean(-1, keepdim=True)  # (..., 1) biased
        y = (x - mean) * torch.rsqrt(var + self.eps) * self.weight  # (..., dim)
        return y if self.bias is None else y + self.bias


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last dimension, with a learned scale.

    `forward(x) = x / sqrt(mean(x**2) + eps) * weight`, the mean taken over the last dimension (no
    mean is subtracted). Parameter: `weight` (dim,), starting at ones. Matches
    `torch.nn.RMSNorm(dim, eps=eps)` given the same weight.

    Raises ValueError when dim < 1 or eps < 0.

    Example: RMSNorm(2, eps=0.0)(torch.tensor([3.0, 4.0])) -> about [0.8485, 1.1314]
    """

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        _check_norm(dim, eps)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        rms = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)  # (..., 1)
        return x * rms * self.weight  # (..., dim)


class FeedForward(nn.Module):
    """The position-wise feed-forward network of a transformer block.

    - `kind="gelu"`: submodules `up = Linear(d_model, d_ff)` and `down = Linear(d_ff, d_model)`;
      `forward(x) = down(gelu(up(x)))` with the exact GELU (the erf form, not the tanh
      approximation).
    - `kind="swiglu"`: submodules `gate` and `up` (both `Linear(d_model, d_ff)`) and
      `down = Linear(d_ff, d_model)`; `forward(x) = down(silu(gate(x)) * up(x))`.

    `bias` applies to every Linear of the layer. Raises ValueError for another kind, or when
    d_model or d_ff is < 1.

    Example: FeedForward(8, 32)(torch.zeros(2, 5, 8)).shape -> (2, 5, 8)
    """

    def __init__(self, d_model, d_ff, kind="swiglu", bias=False):
        super().__init__()
        if kind not in FFN_KINDS:
            raise ValueError(f"kind={kind!r} is not one of {FFN_KINDS}")
        _check_sizes(d_model=d_model, d_ff=d_ff)
        self.kind = kind
        if kind == "swiglu":
            self.gate = nn.Linear(d_model, d_ff, bias=bias)
        self.up = nn.Linear(d_model, d_ff, bias=bias)
        self.down = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x):
        if self.kind == "gelu":
            return self.down(F.gelu(self.up(x)))  # (..., d_model)
        return self.down(F.silu(self.gate(x)) * self.up(x))  # (..., d_model)
