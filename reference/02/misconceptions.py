"""Assignment 02's private catalogue of misconceptions: the mistakes only the reference can show
(see grader.grading.diagnose), named in grading. Never shipped to students.

Each entry names the student function it concerns, says the mistake in plain words, and either
computes the reference *with that mistake* on a few probe inputs chosen to tell the mistakes apart
(head widths of at least 4, so that the two RoPE layouts differ; `eps=1e-2`, so that a misplaced
epsilon shows; two layers and a prompt of several tokens before single steps, so that every cache
mistake shows; ties for top-k; `top_p` far from every partial sum), or is a predicate for mistakes
no single output shows (an untied head, a generator ignored, a model left in eval mode, a forbidden
built-in). Probes run in float64. The grader names a mistake only when the student's values equal
the mistaken ones on every probe and differ from the reference's on at least one.
``MISCONCEPTIONS`` at the end is this part of the catalogue; the mistakes public data can show
(RoPE, the loss's shift, the cache's size) are in ``public_misconceptions.py``, shipped with the
stubs and named in a student's own run too.
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from grader.grading.diagnose import Evidence, Misconception, catalogue_module, probe, reaches_forbidden
from grader.grading.proxy import ForbiddenCall, SubmissionError

PUBLIC = catalogue_module(Path(__file__).with_name("public_misconceptions.py"))
LM, _config, _lm_cfg = PUBLIC.LM, PUBLIC.config, PUBLIC.lm_cfg
_NO_BUILTIN = "no built-in function of the forbidden list"  # what a forbidden-call entry expected


# --- norms --------------------------------------------------------------------------------------

def _layernorm(m, x, eps, state):
    module = LM.loaded(m.layers.LayerNorm(x.shape[-1], eps=eps, bias="bias" in state), state, "LayerNorm")
    return module(x)


def _rmsnorm(m, x, eps, state):
    return LM.loaded(m.layers.RMSNorm(x.shape[-1], eps=eps), state, "RMSNorm")(x)


def _affine(y, state):
    return y * state["weight"] + state.get("bias", 0.0)


def _layernorm_unbiased(ref, x, eps, state):
    mean = x.mean(-1, keepdim=True)
    return _affine((x - mean) / (x.var(-1, unbiased=True, keepdim=True) + eps).sqrt(), state)


def _layernorm_eps_outside(ref, x, eps, state):
    mean = x.mean(-1, keepdim=True)
    return _affine((x - mean) / ((x - mean).pow(2).mean(-1, keepdim=True).sqrt() + eps), state)


def _rmsnorm_centred(ref, x, eps, state):
    centred = x - x.mean(-1, keepdim=True)
    return _affine(centred / (centred.pow(2).mean(-1, keepdim=True) + eps).sqrt(), state)


_NX = LM.values(2, 3, 5, seed=1, scale=3.0) + torch.tensor([0.0, 0.0, 4.0, 0.0, 1.0], dtype=torch.float64)
NORM_PROBES = (
    probe(_NX[0, :1, :4], 1e-2, LM.weights(LM.norm_shapes("", 4, "layernorm", True), seed=2)),
    probe(_NX, 1e-2, LM.weights(LM.norm_shapes("", 5, "layernorm", True), seed=3)),
    probe(_NX + 10, 0.3, LM.weights(LM.norm_shapes("", 5, "layernorm", False), seed=4)),
)
RMS_PROBES = tuple(probe(p.args[0], p.args[1], {"weight": p.args[2]["weight"]}) for p in NORM_PROBES)


# --- ffn ----------------------------------------------------------------------------------------

def _ffn(m, x, kind, state):
    d_model, d_ff = state["up.weight"].shape[1], state["up.weight"].shape[0]
    module = LM.loaded(m.layers.FeedForward(d_model, d_ff, kind, "up.bias" in state), state, "FeedForward")
    return module(x)


def _linear(x, state, name):
    return F.linear(x, state[f"{name}.weight"], state.get(f"{name}.bias"))


def _ffn_tanh_gelu(ref, x, kind, state):
    if kind != "gelu":
        return _ffn(ref, x, kind, state)
    return _linear(F.gelu(_linear(x, state, "up"), approximate="tanh"), state, "down")


def _ffn_swapped(ref, x, kind, state):
    if kind != "swiglu":
        return _ffn(ref, x, kind, state)
    return _linear(F.silu(_linear(x, state, "up")) * _linear(x, state, "gate"), state, "down")


_FX = LM.values(2, 3, 4, seed=5, scale=3.0)
FFN_PROBES = (
    probe(_FX[0, :2], "gelu", LM.weights(LM.ffn_shapes("", 4, 6, "gelu", True), seed=6)),
    probe(_FX[0, :2], "swiglu", LM.weights(LM.ffn_shapes("", 4, 6, "swiglu", False), seed=7)),
    probe(_FX, "gelu", LM.weights(LM.ffn_shapes("", 4, 8, "gelu", False), seed=8)),
    probe(_FX, "swiglu", LM.weights(LM.ffn_shapes("", 4, 8, "swiglu", True), seed=9)),
)


# --- block --------------------------------------------------------------------------------------

def _block_cfg(**fields):
    return {**dict(vocab_size=8, max_seq_len=16, n_layers=1, d_model=8, n_heads=2, d_ff=6, eps=1e-2, rope_base=50.0),
            **fields}


def _attention(m, cfg, seed, x):
    state = LM.weights(LM.attention_shapes("", cfg["d_model"], cfg.get("bias", False)), seed)
    return LM.loaded(m.model.CausalSelfAttention(_config(m, cfg)), state, "CausalSelfAttention")(x)


def _block(m, cfg, seed, x):
    module = LM.loaded(m.model.TransformerBlock(_config(m, cfg)), LM.weights(LM.block_shapes("", cfg), seed),
                       "TransformerBlock")
    return module(x)


def _manual_attention(ref, cfg, state, x, *, scale_by_model=False, rope_on_keys=True, base=None):
    cfg = {**LM.DEFAULTS, **cfg}
    B, T, C = x.shape
    H = cfg["n_heads"]
    hd = C // H
    q, k, v = (_linear(x, state, f"{p}_proj").view(B, T, H, hd).transpose(1, 2) for p in "qkv")
    if cfg["positions"] == "rope":
        cos, sin = ref.rope.rope_angles(hd, T, base=cfg["rope_base"] if base is None else base, dtype=x.dtype)
        q = ref.rope.apply_rope(q, cos, sin)
        k = ref.rope.apply_rope(k, cos, sin) if rope_on_keys else k
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(C if scale_by_model else hd))
    return _linear(y.transpose(1, 2).reshape(B, T, C), state, "out_proj")


def _attention_with(**switches):
    def mistaken(ref, cfg, seed, x):
        state = LM.weights(LM.attention_shapes("", cfg["d_model"], cfg.get("bias", False)), seed)
        return _manual_attention(ref, cfg, state, x, **switches)
    return mistaken


def _block_with(order="pre", residual=True, eps=None):
    def mistaken(ref, cfg, seed, x):
        cfg_norms = cfg if eps is None else {**cfg, "eps": eps(cfg)}
        full = {**LM.DEFAULTS, **cfg_norms}
        state = LM.weights(LM.block_shapes("", cfg), seed)
        sub = lambda prefix: {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}  # noqa: E731
        norm = lambda z, name: (F.layer_norm(z, (z.shape[-1],), state[f"{name}.weight"], state.get(f"{name}.bias"),  # noqa: E731
                                             full["eps"]) if full["norm"] == "layernorm"
                                else z / (z.pow(2).mean(-1, keepdim=True) + full["eps"]).sqrt() * state[f"{name}.weight"])
        attn = lambda z: _manual_attention(ref, cfg, sub("attn."), z)  # noqa: E731
        ffn = lambda z: _ffn(ref, z, full["ffn"], sub("ffn."))  # noqa: E731
        if order == "post":
            h = norm(x + attn(x), "norm1")
            return norm(h + ffn(h), "norm2")
        h = (x if residual else 0) + attn(norm(x, "norm1"))
        return h + ffn(norm(h, "norm2"))
    return mistaken


def _default_eps(cfg):
    return 1e-5 if cfg.get("norm") == "layernorm" else 1e-6


_BX = LM.values(2, 4, 8, seed=11)
BLOCK_PROBES = (
    probe(_block_cfg(), 12, _BX[:1, :3]),
    probe(_block_cfg(norm="layernorm", ffn="gelu", bias=True), 13, _BX),
    probe(_block_cfg(positions="learned", bias=True), 14, _BX),
)
ATTENTION_PROBES = (
    probe(_block_cfg(), 15, _BX[:1, :3]),
    probe(_block_cfg(bias=True), 16, _BX),
    probe(_block_cfg(n_heads=1), 17, _BX),
)


# --- lm -----------------------------------------------------------------------------------------

def _model(m, cfg, seed):
    return LM.loaded(m.model.DecoderOnlyLM(_config(m, cfg)), LM.lm_weights(cfg, seed), "DecoderOnlyLM")


def _logits(m, cfg, seed, ids):
    return _model(m, cfg, seed)(ids)


def _logits_without_final_norm(ref, cfg, seed, ids):
    model = _model(ref, cfg, seed)
    with torch.no_grad():
        x = model.tok_emb(ids)
        if model.pos_emb is not None:
            x = x + model.pos_emb(torch.arange(ids.shape[1]))
        for i, block in enumerate(model.blocks):
            x = block(x, None, i)
        return model.lm_head(x)


_IDS = LM.token_ids(2, 5, 11, seed=18)
LM_PROBES = (probe(_lm_cfg(), 19, _IDS[:1, :3]), probe(_lm_cfg(positions="learned", norm="layernorm", ffn="gelu",
                                                              tie_embeddings=True, bias=True), 20, _IDS))


def _untied_head(student, reference):
    cfg = dict(vocab_size=10, d_model=4, n_heads=2, n_layers=1, d_ff=6, max_seq_len=7, tie_embeddings=True)
    try:
        model = student.model.DecoderOnlyLM(_config(student, cfg))
        shared = student.lm_checks.shares_parameter(model, "tok_emb.weight", "lm_head.weight")
        count = student.lm_checks.parameter_count(model)
    except (SubmissionError, ForbiddenCall):
        return None
    expected = sum(p.numel() for p in reference.model.DecoderOnlyLM(_config(reference, cfg)).parameters())
    if shared or count != expected + 10 * 4:
        return None
    return Evidence(f"cfg = {cfg}", f"lm_head.weight is tok_emb.weight: {expected} parameters",
                    f"two separate Parameters: {count} parameters")


# --- kvcache ------------------------------------------------------------------------------------

def _cached_logits(m, cfg, seed, ids, pieces):
    model = _model(m, cfg, seed)
    cache, start, parts = m.model.KVCache(cfg["n_layers"]), 0, []
    for n in pieces:
        parts.append(model(ids[:, start:start + n], cache))
        start += n
    return torch.cat(parts, dim=1)


def _cached_with(*, mask_offset=True, rope_offset=True, start_after_update=False, positions_offset=True):
    """The reference model fed in pieces, its attention written out with the given mistakes."""
    def mistaken(ref, cfg, seed, ids, pieces):
        full = {**LM.DEFAULTS, **cfg}
        model = _model(ref, cfg, seed)
        H, layers = full["n_heads"], [None] * full["n_layers"]
        start, parts = 0, []
        with torch.no_grad():
            for n in pieces:
                x = model.tok_emb(ids[:, start:start + n])  # (B, T, C)
                if model.pos_emb is not None:
                    first = start if positions_offset else 0
                    x = x + model.pos_emb(torch.arange(first, first + n))
                for i, block in enumerate(model.blocks):
                    h = block.norm1(x)
                    B, T, C = h.shape
                    hd = C // H
                    q, k, v = (getattr(block.attn, f"{p}_proj")(h).view(B, T, H, hd).transpose(1, 2) for p in "qkv")
                    at = start + T if start_after_update and i > 0 else start
                    if full["positions"] == "rope":
                        cos, sin = ref.rope.rope_angles(hd, T, base=full["rope_base"], offset=at if rope_offset else 0,
                                                        dtype=h.dtype)
                        q, k = ref.rope.apply_rope(q, cos, sin), ref.rope.apply_rope(k, cos, sin)
                    if layers[i] is not None:
                        k, v = torch.cat([layers[i][0], k], 2), torch.cat([layers[i][1], v], 2)
                    layers[i] = (k, v)
                    S = k.shape[2]
                    allowed = torch.arange(S)[None, :] <= torch.arange(T)[:, None] + (at if mask_offset else 0)
                    scores = (q @ k.transpose(-2, -1) / math.sqrt(hd)).masked_fill(~allowed, float("-inf"))
                    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
                    x = x + block.attn.out_proj(y)
                    x = x + block.ffn(block.norm2(x))
                parts.append(model.lm_head(model.norm_f(x)))
                start += n
        return torch.cat(parts, dim=1)
    return mistaken


_CIDS = LM.token_ids(2, 7, 11, seed=25)
CACHE_PROBES = (probe(_lm_cfg(), 26, _CIDS[:1, :5], [3, 1, 1]),
                probe(_lm_cfg(bias=True), 27, _CIDS, [4, 1, 2]),
                probe(_lm_cfg(positions="learned", norm="layernorm"), 28, _CIDS, [3, 1, 3]))
LEARNED_PROBES = CACHE_PROBES[2:] + (probe(_lm_cfg(positions="learned"), 29, _CIDS[:, :4], [2, 1, 1]),)


# --- sampling -----------------------------------------------------------------------------------

def _probs(m, logits, temperature=1.0, top_k=None, top_p=None):
    return m.generate.next_token_probs(logits, temperature, top_k, top_p)


def _renormalised(probs):
    return probs / probs.sum(-1, keepdim=True)


def _probs_with(*, keep_k="ties", keep_p="smallest", temperature_on="logits"):
    """The reference's probabilities with the given mistakes (temperature_on "probs": the
    probabilities after the softmax are divided by the temperature, and top-p cuts those)."""
    def mistaken(ref, logits, temperature=1.0, top_k=None, top_p=None):
        if temperature == 0:
            return ref.generate.next_token_probs(logits, 0.0)
        z = logits / temperature if temperature_on == "logits" else logits
        V = z.shape[-1]
        if top_k is not None and top_k < V:
            top = z.topk(top_k, dim=-1)
            keep = (z >= top.values[..., -1:]) if keep_k == "ties" else \
                torch.zeros_like(z, dtype=torch.bool).scatter(-1, top.indices, True)
            z = z.masked_fill(~keep, float("-inf"))
        probs = z.softmax(-1) if temperature_on == "logits" else z.softmax(-1) / temperature
        if top_p is not None:
            ordered, order = probs.sort(dim=-1, descending=True, stable=True)
            inclusive = ordered.cumsum(-1)
            keep = {"smallest": inclusive - ordered < top_p, "too_few": inclusive <= top_p,
                    "too_many": torch.cat([torch.ones_like(inclusive[..., :1], dtype=torch.bool),
                                           (inclusive - ordered)[..., :-1] < top_p], -1)}[keep_p]
            probs = probs.masked_fill(~torch.zeros_like(keep).scatter(-1, order, keep), 0.0)
        return _renormalised(probs)
    return mistaken


def _crashes_above_vocab(ref, logits, temperature=1.0, top_k=None, top_p=None):
    if top_k is not None and top_k > logits.shape[-1]:
        raise RuntimeError("selected index k out of range")
    return ref.generate.next_token_probs(logits, temperature, top_k, top_p)


_SL = torch.tensor([[2.0, 1.0, 1.0, 0.0, -1.0], [0.5, 3.0, 0.5, 0.5, 1.0]], dtype=torch.float64)
_P = torch.tensor([[0.1, 0.45, 0.05, 0.25, 0.15]], dtype=torch.float64).log()  # sorted 0.45, 0.25, 0.15, 0.1, 0.05
SAMPLING_PROBES = (
    probe(_SL[:1], top_k=2),
    probe(_SL, temperature=0.5, top_k=2),
    probe(_P, top_p=0.6),
    probe(_P, temperature=2.0, top_p=0.3),
    probe(_SL, temperature=1.5, top_k=9),
)


def _ignores_generator(student, reference):
    logits = torch.zeros(64, 6, dtype=torch.float64)
    try:
        first = student.generate.sample(logits, generator=torch.Generator().manual_seed(1))
        again = student.generate.sample(logits, generator=torch.Generator().manual_seed(1))
    except (SubmissionError, ForbiddenCall):
        return None
    if not isinstance(first, torch.Tensor) or first.shape != (64,) or torch.equal(first, again):
        return None
    expected = reference.generate.sample(logits, generator=torch.Generator().manual_seed(1))
    return Evidence("logits = zeros (64, 6), generator seeded 1, twice",
                    f"the same tokens both times: {expected[:12].tolist()} ...",
                    f"{first[:12].tolist()} ... then {again[:12].tolist()} ...")


# --- generate -----------------------------------------------------------------------------------

_GCFG = _lm_cfg(vocab_size=12, d_ff=8)


def _generated(m, seed, ids, steps, eos_id, pad_id, options):
    model = _model(m, _GCFG, seed)
    generator = torch.Generator().manual_seed(seed) if options else None
    return m.generate.generate(model, ids, steps, eos_id=eos_id, pad_id=pad_id, generator=generator, **options)


def _loop_with(*, pad=True, stop=True, prompt_counts=False, sample_finished=True):
    """The reference model's generation loop, written out with the given mistakes."""
    def mistaken(ref, seed, ids, steps, eos_id, pad_id, options):
        model = _model(ref, _GCFG, seed)
        generator = torch.Generator().manual_seed(seed) if options else None
        finished = (ids == eos_id).any(1) if prompt_counts else torch.zeros(len(ids), dtype=torch.bool)
        out = ids.clone()
        with torch.no_grad():
            for _ in range(steps):
                if stop and bool(finished.all()):
                    break
                logits = model(out)[:, -1]
                rows = torch.ones_like(finished) if sample_finished else ~finished
                token = torch.full_like(finished, pad_id, dtype=torch.long)
                chosen = ref.generate.sample(logits[rows], generator=generator, **options) if options else \
                    logits[rows].argmax(-1)
                token[rows] = chosen
                if pad:
                    token = token.masked_fill(finished, pad_id)
                finished = finished | (token == eos_id)
                out = torch.cat([out, token[:, None]], 1)
        return out
    return mistaken


_GIDS = LM.token_ids(3, 3, 12, seed=1)
_GIDS_EOS = _GIDS.clone()
_GIDS_EOS[2, 0] = 2
GENERATE_PROBES = (  # eos 2 is row 0's second token in seed 1's greedy run, 4 in seed 2's sampled run
    probe(1, _GIDS, 10, 2, 11, {}),
    probe(1, _GIDS_EOS, 10, 2, 0, {}),
    probe(2, LM.token_ids(3, 3, 12, seed=2), 10, 4, 11, {"temperature": 1.5, "top_k": 5}),
)


def _mode_not_restored(student, reference):
    try:
        model = student.model.DecoderOnlyLM(_config(student, dict(vocab_size=7, d_model=4, n_heads=1, n_layers=1,
                                                                   d_ff=4, max_seq_len=6)))
        model.train()
        student.generate.generate(model, torch.tensor([[1, 2]]), 2)
        training = model.training
    except (SubmissionError, ForbiddenCall):
        return None
    if training is not False:
        return None
    return Evidence("a model in train mode, generate(model, [[1, 2]], 2)", "model.training is True afterwards",
                    "model.training is False afterwards")


# --- cross --------------------------------------------------------------------------------------

def _cross(m, x, memory, memory_mask, state):
    d = x.shape[-1]
    module = LM.loaded(m.encdec.CrossAttention(d, 2, bias="q_proj.bias" in state), state, "CrossAttention")
    return module(x, memory, memory_mask)


def _cross_with(*, causal=False, use_mask=True, invert=False, nan_rows=False):
    def mistaken(ref, x, memory, memory_mask, state):
        B, T, d = x.shape
        S, H, hd = memory.shape[1], 2, d // 2
        q = _linear(x, state, "q_proj").view(B, T, H, hd).transpose(1, 2)
        k, v = (_linear(memory, state, f"{p}_proj").view(B, S, H, hd).transpose(1, 2) for p in "kv")
        allowed = torch.ones(B, 1, T, S, dtype=torch.bool)
        if memory_mask is not None and use_mask:
            allowed = allowed & (~memory_mask if invert else memory_mask)[:, None, None, :]
        if causal:
            allowed = allowed & torch.ones(T, S, dtype=torch.bool).tril()
        scores = (q @ k.transpose(-2, -1) / math.sqrt(hd)).masked_fill(~allowed, float("-inf"))
        weights = scores.softmax(-1)
        if not nan_rows:
            weights = weights.nan_to_num(0.0)
        y = (weights @ v).transpose(1, 2).reshape(B, T, d)
        return _linear(y, state, "out_proj")
    return mistaken


_XQ, _XM = LM.values(2, 3, 4, seed=30), LM.values(2, 5, 4, seed=31)
CROSS_PROBES = (
    probe(_XQ[:1, :2], _XM[:1, :3], None, LM.weights(LM.attention_shapes("", 4, False), seed=32)),
    probe(_XQ, _XM, torch.tensor([[True, False, True, True, False], [True, True, False, False, True]]),
          LM.weights(LM.attention_shapes("", 4, True), seed=33)),
    probe(_XQ, _XM, torch.tensor([[True, True, True, False, True], [False] * 5]),
          LM.weights(LM.attention_shapes("", 4, True), seed=34)),
)


# --- the catalogue ------------------------------------------------------------------------------

def _entry(id, function, explanation, run, mistaken, probes):
    return Misconception(id, function, explanation, run=run, mistaken=mistaken, probes=probes)


MISCONCEPTIONS = (
    _entry("norms.unbiased_variance", "layers.LayerNorm", "your LayerNorm divides by the unbiased variance "
           "(n - 1 in the denominator, torch.var's default); layer normalisation uses the biased variance, "
           "the mean of the squared deviations (unbiased=False)", _layernorm, _layernorm_unbiased, NORM_PROBES),
    _entry("norms.eps_outside_sqrt", "layers.LayerNorm", "your LayerNorm adds eps to the standard deviation, "
           "(x - mean) / (std + eps); eps goes inside the square root: (x - mean) / sqrt(var + eps)",
           _layernorm, _layernorm_eps_outside, NORM_PROBES),
    _entry("norms.rms_subtracts_mean", "layers.RMSNorm", "your RMSNorm subtracts the mean first, which makes it "
           "a LayerNorm without bias; RMSNorm divides x itself by sqrt(mean(x**2) + eps)", _rmsnorm,
           _rmsnorm_centred, RMS_PROBES),
    Misconception("norms.forbidden_builtin", "layers.LayerNorm", "your norms reach a built-in normalisation "
                  "(F.layer_norm, nn.LayerNorm, F.rms_norm or nn.RMSNorm); this exercise must be written from "
                  "scratch", detect=reaches_forbidden(_layernorm, NORM_PROBES[1], _NO_BUILTIN)),
    _entry("ffn.tanh_gelu", "layers.FeedForward", "your GELU is the tanh approximation "
           "(F.gelu(..., approximate='tanh')); the contract asks for the exact one, x * Phi(x) with the erf",
           _ffn, _ffn_tanh_gelu, FFN_PROBES),
    _entry("ffn.swiglu_gate_up_swapped", "layers.FeedForward", "your SwiGLU applies SiLU to up(x) and multiplies "
           "by gate(x); it is down(silu(gate(x)) * up(x)): the gate goes through the SiLU", _ffn, _ffn_swapped,
           FFN_PROBES),
    _entry("block.post_norm", "model.TransformerBlock", "your block normalises after the residual sums "
           "(post-norm: norm(x + attn(x))); this block is pre-norm: x + attn(norm1(x)), then h + ffn(norm2(h))",
           _block, _block_with(order="post"), BLOCK_PROBES),
    _entry("block.missing_residual", "model.TransformerBlock", "your block drops the residual around the "
           "attention (h = attn(norm1(x))); it is h = x + attn(norm1(x))", _block, _block_with(residual=False),
           BLOCK_PROBES),
    _entry("block.ignores_cfg_eps", "model.TransformerBlock", "your block's norms use their default epsilon "
           "instead of cfg.eps; build them with RMSNorm(d_model, cfg.eps) or LayerNorm(d_model, cfg.eps, cfg.bias)",
           _block, _block_with(eps=_default_eps), BLOCK_PROBES),
    _entry("block.scale_by_d_model", "model.CausalSelfAttention", "your attention scales the scores by "
           "1/sqrt(d_model); each head scales by 1/sqrt(head_dim)", _attention, _attention_with(scale_by_model=True),
           ATTENTION_PROBES),
    _entry("block.rope_on_queries_only", "model.CausalSelfAttention", "you rotate the queries but not the keys; "
           "RoPE turns both, so that their dot product depends on the distance of the positions", _attention,
           _attention_with(rope_on_keys=False), ATTENTION_PROBES),
    _entry("block.ignores_rope_base", "model.CausalSelfAttention", "your attention builds its angles with the "
           "default base 10000 instead of cfg.rope_base", _attention, _attention_with(base=10000.0),
           ATTENTION_PROBES),
    Misconception("block.forbidden_builtin", "model.CausalSelfAttention", "your attention reaches a built-in "
                  "attention function (F.scaled_dot_product_attention, nn.MultiheadAttention or an "
                  "nn.Transformer layer); this exercise must be written from scratch",
                  detect=reaches_forbidden(_attention, ATTENTION_PROBES[1], _NO_BUILTIN)),
    Misconception("lm.untied_head", "model.DecoderOnlyLM", "with tie_embeddings your lm_head holds a copy of the "
                  "embedding (counted twice, trained apart); make it the same Parameter: "
                  "self.lm_head.weight = self.tok_emb.weight", detect=_untied_head),
    _entry("lm.no_final_norm", "model.DecoderOnlyLM", "your model skips the final norm: the head reads the last "
           "block's output; it reads norm_f of it", _logits, _logits_without_final_norm, LM_PROBES),
    _entry("kvcache.mask_not_offset", "model.KVCache", "with a cache, your causal mask lets new query t see only "
           "keys up to t, as if nothing were cached; query t sits at position start + t and sees every cached "
           "key", _cached_logits, _cached_with(mask_offset=False), CACHE_PROBES),
    _entry("kvcache.rope_restarts", "model.KVCache", "with a cache, your RoPE angles start again at position 0 "
           "for every new piece; the new positions are start .. start + T - 1 (offset=start)", _cached_logits,
           _cached_with(rope_offset=False), CACHE_PROBES),
    _entry("kvcache.start_after_update", "model.KVCache", "your attention reads cache.length as its start: in "
           "every layer after the first, layer 0 has already been updated, so start is off by T; read "
           "cache.cached(layer) before this layer's update", _cached_logits, _cached_with(start_after_update=True),
           CACHE_PROBES),
    _entry("kvcache.positions_restart", "model.KVCache", "with a cache, your learned positions start again at 0 "
           "for every new piece; they start at cache.length", _cached_logits, _cached_with(positions_offset=False),
           LEARNED_PROBES),
    _entry("sampling.top_k_drops_ties", "generate.next_token_probs", "your top-k keeps exactly k tokens "
           "(torch.topk's indices), dropping ties at the k-th place; keep every logit >= the k-th largest",
           _probs, _probs_with(keep_k="exact"), SAMPLING_PROBES),
    _entry("sampling.top_p_one_too_few", "generate.next_token_probs", "your top-p drops the token that crosses "
           "top_p (kept: cumulative sums <= top_p); keep a token when the sum of the probabilities *before* it "
           "is < top_p, so the set reaches top_p", _probs, _probs_with(keep_p="too_few"), SAMPLING_PROBES),
    _entry("sampling.top_p_one_too_many", "generate.next_token_probs", "your top-p keeps one token past the "
           "smallest set; keep a token when the sum of the probabilities before it is < top_p", _probs,
           _probs_with(keep_p="too_many"), SAMPLING_PROBES),
    _entry("sampling.temperature_after_softmax", "generate.next_token_probs", "you divide the probabilities by "
           "the temperature after the softmax, which the final renormalisation undoes (and which moves top-p's "
           "cut); divide the logits by the temperature before the softmax", _probs, _probs_with(temperature_on="probs"), SAMPLING_PROBES),
    _entry("sampling.top_k_above_vocab_crashes", "generate.next_token_probs", "a top_k larger than the "
           "vocabulary crashes (torch.topk with k itself); top_k >= V keeps every token", _probs,
           _crashes_above_vocab, SAMPLING_PROBES),
    Misconception("sampling.ignores_generator", "generate.sample", "your sample does not draw with the generator "
                  "it is given: the same seed gives different tokens; pass generator=generator to "
                  "torch.multinomial", detect=_ignores_generator),
    _entry("generate.eos_not_padded", "generate.generate", "your rows go on generating after they produced "
           "eos_id; once a row is finished, its new tokens are pad_id", _generated, _loop_with(pad=False),
           GENERATE_PROBES),
    _entry("generate.eos_in_prompt_counts", "generate.generate", "a row whose prompt holds eos_id counts as "
           "finished before it generated anything; only a generated eos_id finishes a row", _generated,
           _loop_with(prompt_counts=True), GENERATE_PROBES),
    _entry("generate.does_not_stop", "generate.generate", "your loop goes on (adding pad_id) after every row "
           "finished; it stops as soon as all rows are finished", _generated, _loop_with(stop=False),
           GENERATE_PROBES),
    _entry("generate.skips_finished_rows", "generate.generate", "you sample only the rows still running, so the "
           "generator's draws shift; sample all rows every step (finished or not), then set finished rows to "
           "pad_id", _generated, _loop_with(sample_finished=False), GENERATE_PROBES),
    Misconception("generate.mode_not_restored", "generate.generate", "generate leaves the model in eval mode; "
                  "put it back in the mode it was in (model.train(was_training))", detect=_mode_not_restored),
    _entry("cross.causal_mask", "encdec.CrossAttention", "your cross-attention applies a causal mask; every "
           "decoder position may see every (real) encoder position", _cross, _cross_with(causal=True), CROSS_PROBES),
    _entry("cross.mask_ignored", "encdec.CrossAttention", "your cross-attention ignores memory_mask, so padding "
           "positions of the encoder are attended", _cross, _cross_with(use_mask=False), CROSS_PROBES),
    _entry("cross.mask_inverted", "encdec.CrossAttention", "you treat True in memory_mask as padding; True marks "
           "the real encoder positions", _cross, _cross_with(invert=True), CROSS_PROBES[1:]),
    _entry("cross.nan_all_padding", "encdec.CrossAttention", "a batch row whose encoder positions are all padding "
           "becomes NaN (softmax of all -inf); its attention output must be zero (so the row gives out_proj's "
           "bias)", _cross, _cross_with(nan_rows=True), CROSS_PROBES),
    Misconception("cross.forbidden_builtin", "encdec.CrossAttention", "your cross-attention reaches a built-in "
                  "attention function (nn.MultiheadAttention, F.scaled_dot_product_attention, ...); this "
                  "exercise must be written from scratch", detect=reaches_forbidden(_cross, CROSS_PROBES[1], _NO_BUILTIN)),
)
