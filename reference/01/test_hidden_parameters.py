"""Hidden tests of the parameter-count formulas (exercise `params`): every function against the
reference on generated configs, from tiny to larger than Llama 2 70B, and every ValueError.
"""

import pytest

from grader.testing import expect_value_error, given, settings, st

KNOWN = {"layernorm", "rmsnorm", "mlp", "swiglu"}
CFG_FUNCTIONS = ("attention_params", "ffn_params", "block_params", "model_params")
# Names that are not a known kind, even after lower-casing or stripping (so no lenient reading helps).
UNKNOWN = st.one_of(
    st.sampled_from(["", "batchnorm", "groupnorm", "layer_norm", "rms", "moe", "gelu", "none"]),
    st.text(max_size=8),
).filter(lambda s: s.strip().lower() not in KNOWN)


def expect_int(value, what: str) -> int:
    assert type(value) is int, f"{what} must return an int, got {type(value).__name__} {value!r:.80}"
    return value


@st.composite
def configs(draw, norm=st.sampled_from(["layernorm", "rmsnorm"]), ffn=st.sampled_from(["mlp", "swiglu"])):
    """Config fields with sizes from 1 to beyond the largest published models."""
    small = draw(st.booleans())
    size = (lambda hi: st.integers(1, hi)) if small else (lambda hi: st.integers(1, hi * 1000))
    n_heads = draw(st.integers(1, 128))
    return dict(vocab_size=draw(size(256)), d_model=n_heads * draw(size(16)),
                n_layers=draw(st.integers(0, 128)),
                n_heads=n_heads, d_ff=draw(size(64)), max_seq_len=draw(st.one_of(st.just(0), size(32))),
                bias=draw(st.booleans()), norm=draw(norm), ffn=draw(ffn), tie_embeddings=draw(st.booleans()))


def both(student, reference, fields):
    """The config built by the submission (a handle) and by the reference."""
    return (student.parameters.TransformerConfig(**fields), reference.parameters.TransformerConfig(**fields))


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=16)
@given(d_in=st.integers(1, 10**6), d_out=st.integers(1, 10**6), bias=st.booleans(),
       kind=st.sampled_from(["layernorm", "rmsnorm"]))
def test_params_hidden_layers_match_reference(student, reference, d_in, d_out, bias, kind):
    """linear_params, embedding_params and norm_params equal the reference's, as ints"""
    p, r = student.parameters, reference.parameters
    got = expect_int(p.linear_params(d_in, d_out, bias), "linear_params")
    assert got == r.linear_params(d_in, d_out, bias), f"linear_params({d_in}, {d_out}, {bias})"
    assert expect_int(p.linear_params(d_in, d_out), "linear_params") == r.linear_params(d_in, d_out), \
        f"linear_params({d_in}, {d_out}) (bias defaults to True)"
    got = expect_int(p.embedding_params(d_in, d_out), "embedding_params")
    assert got == r.embedding_params(d_in, d_out), f"embedding_params({d_in}, {d_out})"
    assert expect_int(p.norm_params(d_out, kind), "norm_params") == r.norm_params(d_out, kind), \
        f"norm_params({d_out}, {kind!r})"


@pytest.mark.exercise("params", weight=1)
@pytest.mark.parametrize("name", CFG_FUNCTIONS)
@settings(max_examples=10)
@given(fields=configs())
def test_params_hidden_cfg_functions_match_reference(student, reference, name, fields):
    """attention_params, ffn_params, block_params and model_params equal the reference's, as ints"""
    cfg, ref_cfg = both(student, reference, fields)
    got = expect_int(getattr(student.parameters, name)(cfg), name)
    assert got == getattr(reference.parameters, name)(ref_cfg), f"{name}(TransformerConfig(**{fields}))"


@pytest.mark.exercise("params", weight=1)
@settings(max_examples=3)
@given(dim=st.integers(1, 4096), kind=UNKNOWN)
def test_params_hidden_norm_unknown_kind_raises(student, dim, kind):
    """norm_params raises ValueError for any kind other than "layernorm" and "rmsnorm\""""
    expect_value_error(student.parameters.norm_params, dim, kind, what=f"norm_params({dim}, {kind!r})")


@pytest.mark.exercise("params", weight=1)
@pytest.mark.parametrize("name", CFG_FUNCTIONS)
@settings(max_examples=4)
@given(fields=st.one_of(configs(norm=UNKNOWN), configs(ffn=UNKNOWN)))
def test_params_hidden_cfg_unknown_kind_raises(student, name, fields):
    """every cfg function raises ValueError when cfg.norm or cfg.ffn is unknown"""
    cfg = student.parameters.TransformerConfig(**fields)
    expect_value_error(getattr(student.parameters, name), cfg, what=f"{name}(TransformerConfig(**{fields}))")
