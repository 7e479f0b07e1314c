"""Public tests of `DecoderOnlyLM` and `lm_loss` in `model.py` (exercise `lm`).

- A GPT-2-style model (learned positions, LayerNorm, GELU, biases, tied head) is compared with the
  same model assembled from PyTorch parts: embeddings, `nn.TransformerEncoderLayer` blocks, a final
  `F.layer_norm` and the embedding matrix as the head.
- The presets are counted on the `meta` device inside your process: GPT-2 small has 124,439,808
  parameters and Llama 2 7B 6,738,415,616 (assignment 01's `model_params`).
- `lm_loss` is compared with `F.cross_entropy` on the shifted logits and targets.
"""

import pytest
import torch
import torch.nn.functional as F
from lm_checks import (
    causal_mask,
    config,
    lm_shapes,
    lm_weights,
    loaded,
    token_ids,
    torch_encoder_layer,
    values,
)

from grader.testing import close, expect_value_error, given, settings, st

GPT_LIKE = dict(norm="layernorm", ffn="gelu", positions="learned", bias=True, tie_embeddings=True, eps=1e-2)
LLAMA_LIKE = dict(norm="rmsnorm", ffn="swiglu", positions="rope", bias=False, tie_embeddings=False, eps=1e-2,
                  rope_base=50.0)


@st.composite
def model_configs(draw, style):
    n_heads = draw(st.integers(1, 2))
    return {**style, "vocab_size": draw(st.integers(2, 20)), "d_model": n_heads * 2 * draw(st.integers(1, 2)),
            "n_heads": n_heads, "n_layers": draw(st.integers(1, 2)), "d_ff": draw(st.integers(1, 8)),
            "max_seq_len": 8}


def student_lm(student, cfg, seed, dtype=torch.float64):
    state = lm_weights(cfg, seed)
    return loaded(student.model.DecoderOnlyLM(config(student, **cfg)), state, "DecoderOnlyLM(cfg)", dtype), state


def torch_gpt(cfg, state, ids):
    """The GPT-2-style model from PyTorch parts, float64."""
    T = ids.shape[1]
    x = F.embedding(ids, state["tok_emb.weight"]) + state["pos_emb.weight"][:T]
    for i in range(cfg["n_layers"]):
        prefix = f"blocks.{i}."
        block = {name[len(prefix):]: v for name, v in state.items() if name.startswith(prefix)}
        x = torch_encoder_layer(cfg, block)(x, src_mask=causal_mask(T))
    x = F.layer_norm(x, (cfg["d_model"],), state["norm_f.weight"], state["norm_f.bias"], cfg["eps"])
    return x @ state["tok_emb.weight"].T


@pytest.mark.exercise("lm", weight=1)
@pytest.mark.parametrize("style", ["gpt", "llama"])
def test_lm_structure(student, style):
    """tok_emb, pos_emb (learned positions only, else None), blocks.0.., norm_f, lm_head without bias; cfg kept as .cfg"""
    cfg = {**(GPT_LIKE if style == "gpt" else LLAMA_LIKE), "vocab_size": 10, "d_model": 4, "n_heads": 2,
           "n_layers": 2, "d_ff": 6, "max_seq_len": 7}
    model = student.model.DecoderOnlyLM(config(student, **cfg))
    got = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert got == lm_shapes(cfg), f"DecoderOnlyLM({style}-style cfg) holds {got}, expected {lm_shapes(cfg)}"
    assert (model.pos_emb is None) == (style == "llama"), "pos_emb must be None exactly when positions == 'rope'"
    assert model.cfg.d_model == 4 and model.cfg.n_layers == 2, "the model must keep its configuration as .cfg"


@pytest.mark.exercise("lm", weight=1)
def test_lm_tied_head_is_the_embedding(student):
    """with tie_embeddings, lm_head.weight is tok_emb.weight (one Parameter); without, two"""
    sizes = dict(vocab_size=10, d_model=4, n_heads=2, n_layers=1, d_ff=6, max_seq_len=7)
    for tied in (True, False):
        model = student.model.DecoderOnlyLM(config(student, **sizes, tie_embeddings=tied))
        shared = student.lm_checks.shares_parameter(model, "tok_emb.weight", "lm_head.weight")
        assert shared == tied, (f"tie_embeddings={tied}: lm_head.weight {'must' if tied else 'must not'} be "
                                "the very Parameter tok_emb.weight (a copy is not tied: it trains apart)")


@pytest.mark.exercise("lm", weight=2)
@pytest.mark.parametrize("preset, count", [("GPT2_SMALL", 124_439_808), ("LLAMA2_7B", 6_738_415_616)])
def test_lm_parameter_counts_of_the_presets(student, preset, count):
    """built on the meta device, the presets have assignment 01's parameter counts (a tied head counts once)"""
    got = student.lm_checks.preset_parameter_count(preset)
    assert got == count, f"DecoderOnlyLM({preset}) has {got:,} parameters, expected {count:,}"


@pytest.mark.exercise("lm", weight=3)
@settings(max_examples=6)
@given(cfg=model_configs(GPT_LIKE), B=st.integers(1, 2), T=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_lm_matches_torch_parts(student, cfg, B, T, seed):
    """GPT-2 style: logits equal embeddings + positions -> TransformerEncoderLayers -> final LayerNorm -> tied head"""
    model, state = student_lm(student, cfg, seed)
    ids = token_ids(B, T, cfg["vocab_size"], seed)
    with torch.no_grad():
        expected = torch_gpt(cfg, state, ids)
    close(model(ids), expected, what=f"logits of ids {tuple(ids.shape)}")


@pytest.mark.exercise("lm", weight=1)
@settings(max_examples=4)
@given(cfg=model_configs(LLAMA_LIKE), T=st.integers(2, 8), cut=st.integers(0, 6), seed=st.integers(0, 2**31 - 1))
def test_lm_is_causal(student, cfg, T, cut, seed):
    """changing the tokens after position t never changes the logits at positions <= t"""
    cut = min(cut, T - 2)
    model, _ = student_lm(student, cfg, seed)
    ids = token_ids(2, T, cfg["vocab_size"], seed)
    changed = ids.clone()
    changed[:, cut + 1:] = (ids[:, cut + 1:] + 1) % cfg["vocab_size"]
    close(model(changed)[:, :cut + 1], model(ids)[:, :cut + 1],
          what=f"logits at positions 0..{cut} when the tokens after position {cut} change")


@pytest.mark.exercise("lm", weight=1)
def test_lm_logits_dtype_and_int32_ids(student):
    """logits have the parameters' dtype; torch.int32 ids give the same logits as torch.long ids"""
    cfg = {**LLAMA_LIKE, "vocab_size": 12, "d_model": 4, "n_heads": 1, "n_layers": 1, "d_ff": 4, "max_seq_len": 6}
    ids = token_ids(2, 5, 12, seed=1)
    for dtype in (torch.float32, torch.float64):
        model, _ = student_lm(student, cfg, seed=2, dtype=dtype)
        logits = model(ids)
        assert logits.dtype == dtype, f"a {dtype} model gave {logits.dtype} logits"
        close(model(ids.int()), logits, what="logits of int32 ids vs the same ids as int64")


@pytest.mark.exercise("lm", weight=1)
def test_lm_rejects_bad_ids(student):
    """ids not 2-D long/int32, outside [0, vocab_size), or longer than max_seq_len raise ValueError"""
    for positions in ("rope", "learned"):
        cfg = dict(vocab_size=5, d_model=4, n_heads=2, n_layers=1, d_ff=4, max_seq_len=4, positions=positions)
        model = student.model.DecoderOnlyLM(config(student, **cfg))
        for ids, what in [(torch.zeros(2, 3), "float ids"), (torch.zeros(3, dtype=torch.long), "1-D ids"),
                          (torch.tensor([[0, 5]]), "id 5 with vocab_size 5"), (torch.tensor([[-1, 0]]), "id -1"),
                          (torch.zeros(1, 5, dtype=torch.long), "5 positions with max_seq_len 4")]:
            expect_value_error(model, ids, what=f"model({what}), {positions} positions")


@pytest.mark.exercise("lm", weight=2)
@settings(max_examples=8)
@given(B=st.integers(1, 3), T=st.integers(3, 6), V=st.integers(2, 7), ignore=st.sampled_from([-100, 0]),
       seed=st.integers(0, 2**31 - 1))
def test_lm_loss_is_the_mean_nll_of_shifted_targets(student, B, T, V, ignore, seed):
    """lm_loss(logits, ids) is F.cross_entropy of logits[:, :-1] against ids[:, 1:], ignored targets left out"""
    logits = values(B, T, V, seed=seed, scale=3.0)
    ids = token_ids(B, T, V, seed + 1)
    ids[0, -1] = ignore  # at least one target ignored
    ids[0, 1] = 1  # and at least one not, so that the mean exists (no target at all: the test below)
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), ignore_index=ignore)
    close(student.model.lm_loss(logits, ids, ignore_index=ignore), expected,
          what=f"lm_loss of logits {tuple(logits.shape)}, ignore_index={ignore}")


@pytest.mark.exercise("lm", weight=1)
def test_lm_loss_gradient_and_empty_cases(student):
    """the loss's gradient matches F.cross_entropy's; T == 1 or every target ignored gives NaN"""
    logits, ids = values(2, 4, 5, seed=1), token_ids(2, 4, 5, seed=2)
    _, (grad,) = student.backward(student.model.lm_loss, logits, ids, wrt=(0,), grad_output=torch.tensor(1.0,
                                  dtype=torch.float64))
    leaf = logits.clone().requires_grad_(True)
    F.cross_entropy(leaf[:, :-1].reshape(-1, 5), ids[:, 1:].reshape(-1)).backward()
    close(grad, leaf.grad, what="gradient of lm_loss with respect to the logits")
    assert student.model.lm_loss(logits[:, :1], ids[:, :1]).isnan(), "with T == 1 nothing is predicted: NaN"
    assert student.model.lm_loss(logits, torch.full((2, 4), -100)).isnan(), "every target ignored: NaN"
