"""Public tests of the parameter-count formulas in `parameters.py` (exercise `params`).

Every formula is compared with what PyTorch counts on the given `model.py`
(`sum(p.numel() for p in module.parameters())`, built on the meta device so nothing is allocated),
and with the published sizes of GPT-2 small and Llama 2 7B.
"""

import importlib.util
import itertools
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import torch

from grader.testing import expect_value_error, given, settings, st


def load_model_py():
    """The given model.py next to this test file, imported under a private name."""
    path = Path(__file__).parent / "model.py"
    spec = importlib.util.spec_from_file_location("_given_model_params_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODEL = load_model_py()
FIELDS = ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_seq_len", "bias", "norm", "ffn",
          "tie_embeddings")


def numel(build) -> int:
    """Parameters of the module that ``build()`` returns, built on the meta device.

    nn.Embedding's random init is skipped: a count needs no values, and on the meta device its
    normal_ would import torch._dynamo once (seconds of test time).
    """
    with torch.device("meta"), mock.patch.object(torch.nn.Embedding, "reset_parameters", lambda self: None):
        module = build()
    return sum(p.numel() for p in module.parameters())


def expect_int(value, what: str) -> int:
    assert type(value) is int, f"{what} must return an int, got {type(value).__name__} {value!r:.80}"
    return value


@st.composite
def configs(draw):
    """Config fields: small sizes (n_heads divides d_model) and every norm / ffn / bias / tie choice."""
    n_heads = draw(st.integers(1, 4))
    return dict(vocab_size=draw(st.integers(1, 300)), d_model=n_heads * draw(st.integers(1, 16)),
                n_layers=draw(st.integers(0, 3)), n_heads=n_heads, d_ff=draw(st.integers(1, 64)),
                max_seq_len=draw(st.sampled_from([0, 0, 1, 7, 128])), bias=draw(st.booleans()),
                norm=draw(st.sampled_from(["layernorm", "rmsnorm"])),
                ffn=draw(st.sampled_from(["mlp", "swiglu"])),
                tie_embeddings=draw(st.booleans()))


def describe(fields: dict) -> str:
    return "TransformerConfig(" + ", ".join(f"{k}={fields[k]!r}" for k in FIELDS) + ")"


@pytest.mark.exercise("params", weight=1)
def test_params_smoke(student):
    """the docstring examples: linear 4->3 is 15 (12 without bias), embedding 10x4 is 40, ..."""
    p = student.parameters
    assert p.linear_params(4, 3) == 15, "linear_params(4, 3)"
    assert p.linear_params(4, 3, bias=False) == 12, "linear_params(4, 3, bias=False)"
    assert p.embedding_params(10, 4) == 40, "embedding_params(10, 4)"
    assert p.norm_params(8, "layernorm") == 16, "norm_params(8, 'layernorm'): weight and bias"
    assert p.norm_params(8, "rmsnorm") == 8, "norm_params(8, 'rmsnorm'): weight only"
    cfg = p.TransformerConfig(100, 8, 1, 2, 32)
    assert p.attention_params(cfg) == 288, "attention_params(TransformerConfig(100, 8, 1, 2, 32))"
    assert p.ffn_params(p.TransformerConfig(100, 8, 1, 2, 32, bias=False)) == 512, \
        "ffn_params(TransformerConfig(100, 8, 1, 2, 32, bias=False))"


@pytest.mark.exercise("params", weight=2)
def test_params_gpt2_small(student):
    """GPT-2 small (learned positions, LayerNorm, MLP, biases, tied head) has 124,439,808 parameters"""
    p = student.parameters
    cfg = p.TransformerConfig(50257, 768, 12, 12, 3072, max_seq_len=1024, bias=True, norm="layernorm",
                              ffn="mlp", tie_embeddings=True)
    assert expect_int(p.model_params(cfg), "model_params") == 124_439_808, "model_params(GPT-2 small)"


@pytest.mark.exercise("params", weight=2)
def test_params_llama2_7b(student):
    """Llama 2 7B (no positions, RMSNorm, SwiGLU, no biases, untied head) has 6,738,415,616 parameters"""
    p = student.parameters
    cfg = p.TransformerConfig(32000, 4096, 32, 32, 11008, max_seq_len=0, bias=False, norm="rmsnorm",
                              ffn="swiglu", tie_embeddings=False)
    assert expect_int(p.model_params(cfg), "model_params") == 6_738_415_616, "model_params(Llama 2 7B)"


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=6)
@given(d_in=st.integers(1, 4096), d_out=st.integers(1, 4096), bias=st.booleans(), kind=st.sampled_from(
    ["layernorm", "rmsnorm"]))
def test_params_layers_match_torch(student, d_in, d_out, bias, kind):
    """linear_params, embedding_params and norm_params equal torch.nn.Linear / Embedding / norm numel"""
    p = student.parameters
    got = expect_int(p.linear_params(d_in, d_out, bias), "linear_params")
    assert got == numel(lambda: torch.nn.Linear(d_in, d_out, bias=bias)), \
        f"linear_params({d_in}, {d_out}, {bias})"
    got = expect_int(p.embedding_params(d_in, d_out), "embedding_params")
    assert got == numel(lambda: torch.nn.Embedding(d_in, d_out)), f"embedding_params({d_in}, {d_out})"
    got = expect_int(p.norm_params(d_out, kind), "norm_params")
    assert got == numel(lambda: MODEL.make_norm(d_out, kind)), f"norm_params({d_out}, {kind!r})"


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=4)
@given(fields=configs())
def test_params_attention_matches_model(student, fields):
    """attention_params(cfg) equals the numel of model.py's attention: four d_model x d_model Linears"""
    cfg = student.parameters.TransformerConfig(**fields)
    expected = numel(lambda: MODEL.CausalSelfAttention(fields["d_model"], fields["n_heads"], fields["bias"]))
    got = expect_int(student.parameters.attention_params(cfg), "attention_params")
    assert got == expected, f"attention_params({describe(fields)})"


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=10)
@given(fields=configs())
def test_params_ffn_matches_model(student, fields):
    """ffn_params(cfg) equals the numel of model.py's FeedForward (mlp: 2 Linears, swiglu: 3)"""
    cfg = student.parameters.TransformerConfig(**fields)
    d_model, d_ff, ffn, bias = fields["d_model"], fields["d_ff"], fields["ffn"], fields["bias"]
    expected = numel(lambda: MODEL.FeedForward(d_model, d_ff, ffn, bias))
    got = expect_int(student.parameters.ffn_params(cfg), "ffn_params")
    assert got == expected, f"ffn_params({describe(fields)})"


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=16)
@given(fields=configs())
def test_params_block_matches_model(student, fields):
    """block_params(cfg) equals the numel of one model.py Block: two norms, attention and FFN"""
    cfg = student.parameters.TransformerConfig(**fields)
    expected = numel(lambda: MODEL.Block(SimpleNamespace(**fields)))
    got = expect_int(student.parameters.block_params(cfg), "block_params")
    assert got == expected, f"block_params({describe(fields)})"


@pytest.mark.exercise("params", weight=2)
def test_params_model_every_combination(student):
    """model_params(cfg) equals model.py's numel for every norm / ffn / bias / tie / positions choice"""
    for norm, ffn, bias, tie, max_seq_len in itertools.product(
            ["layernorm", "rmsnorm"], ["mlp", "swiglu"], [True, False], [True, False], [0, 16]):
        fields = dict(vocab_size=50, d_model=12, n_layers=2, n_heads=3, d_ff=20, max_seq_len=max_seq_len,
                      bias=bias, norm=norm, ffn=ffn, tie_embeddings=tie)
        cfg = student.parameters.TransformerConfig(**fields)
        expected = numel(lambda: MODEL.TransformerLM(SimpleNamespace(**fields)))
        got = expect_int(student.parameters.model_params(cfg), "model_params")
        assert got == expected, f"model_params({describe(fields)})"


@pytest.mark.exercise("params", weight=2)
@settings(max_examples=16)
@given(fields=configs())
def test_params_model_matches_model(student, fields):
    """model_params(cfg) equals sum(p.numel()) of model.py's TransformerLM on generated configs"""
    cfg = student.parameters.TransformerConfig(**fields)
    expected = numel(lambda: MODEL.TransformerLM(SimpleNamespace(**fields)))
    got = expect_int(student.parameters.model_params(cfg), "model_params")
    assert got == expected, f"model_params({describe(fields)})"


@pytest.mark.exercise("params", weight=1)
def test_params_unknown_kind_raises(student):
    """an unknown norm kind (norm_params) or cfg.norm / cfg.ffn (every cfg function) raises ValueError"""
    p = student.parameters
    expect_value_error(p.norm_params, 8, "batchnorm", what="norm_params(8, 'batchnorm')")
    for bad in (dict(norm="batchnorm"), dict(ffn="moe")):
        cfg = p.TransformerConfig(100, 8, 1, 2, 32, **bad)
        for name in ("attention_params", "ffn_params", "block_params", "model_params"):
            what = f"{name}(TransformerConfig(100, 8, 1, 2, 32, {bad}))"
            expect_value_error(getattr(p, name), cfg, what=what)
