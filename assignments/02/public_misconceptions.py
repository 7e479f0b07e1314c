"""The mistakes of assignment 02 that public data can show: named in a student's own run
(``pytest assignments/02``, the notebook's check cell, a pull request) as well as in grading.

Shipped to students (``grader generate 02`` copies it next to the stubs), so nothing here comes
from the reference: ``EXPECTED`` stands in for it with what the public tests and the handout
already say (RoPE's angles by the formula and its rotation through complex numbers, as
`test_rope.py` computes them; the loss as `F.cross_entropy` of the shifted logits; the size of a
cache by its formula), and every entry computes its mistaken values from ``EXPECTED`` alone.
``grader check 02`` verifies that ``EXPECTED`` agrees with the reference on every probe, so a
mistake is named in a student's run exactly when grading names it. The mistakes only the hidden
reference can show (norms, FFN, block, model, cache, sampling, generation, cross-attention) are in
``misconceptions.py``, which stays with the reference. Format: see ``grader.grading.diagnose``.
"""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from grader.grading.diagnose import Evidence, Misconception, probe
from grader.grading.proxy import ForbiddenCall, SubmissionError
from grader.testing import named

Angles = named("cos", "sin", name="Angles")  # what rope_angles returns


def _given(name: str):
    """A given file of this folder (the tests' helpers), loaded once for the catalogue's probes."""
    spec = importlib.util.spec_from_file_location(f"_misconceptions_02_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LM = _given("lm_checks")


def lm_cfg(**fields):
    """A small two-layer model configuration (as a dict), with ``fields`` changed."""
    return {**dict(vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=6, max_seq_len=16, eps=1e-2, rope_base=50.0),
            **fields}


def config(modules, cfg):
    return modules.config.ModelConfig(**cfg)


# --- what the public tests compare with -------------------------------------------------------

def _angles_by_formula(head_dim, seq_len, *, base=10000.0, offset=0, dtype=torch.float32):
    """cos and sin of (offset + p) * base ** (-2i / head_dim), in plain Python, then cast."""
    angles = torch.tensor([[(offset + p) * base ** (-2 * i / head_dim) for i in range(head_dim // 2)]
                           for p in range(seq_len)], dtype=torch.float64)
    return Angles(angles.cos().to(dtype), angles.sin().to(dtype))


def _complex_rotation(x, cos, sin):
    """Each consecutive pair of x read as a complex number, multiplied by cos + 1j * sin."""
    pairs = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2).contiguous())
    return torch.view_as_real(pairs * torch.complex(cos.double(), sin.double())).reshape(x.shape).to(x.dtype)


def _cross_entropy_of_the_next_token(logits, ids, ignore_index=-100):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), ignore_index=ignore_index)


def _bytes_by_formula(cfg, batch, seq_len, bytes_per_value=2):
    return 2 * cfg.n_layers * batch * seq_len * cfg.d_model * bytes_per_value


EXPECTED = SimpleNamespace(  # the reference as far as these entries use it, from public code only
    rope=SimpleNamespace(rope_angles=_angles_by_formula, apply_rope=_complex_rotation),
    model=SimpleNamespace(lm_loss=_cross_entropy_of_the_next_token, kv_cache_bytes=_bytes_by_formula),
    config=SimpleNamespace(ModelConfig=lambda **cfg: SimpleNamespace(**{**LM.DEFAULTS, **cfg})))


# --- rope ---------------------------------------------------------------------------------------

def _exact_angles(head_dim, T, offset):
    """cos and sin of RoPE's angles (base 10000), float64."""
    return _angles_by_formula(head_dim, T, offset=offset, dtype=torch.float64)


def apply(m, x, offset):
    cos, sin = _exact_angles(x.shape[-1], x.shape[-2], offset)
    return m.rope.apply_rope(x, cos, sin)


def _half_split(ref, x, offset):
    cos, sin = _exact_angles(x.shape[-1], x.shape[-2], offset)
    a, b = x.chunk(2, dim=-1)
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def _backwards(ref, x, offset):
    cos, sin = _exact_angles(x.shape[-1], x.shape[-2], offset)
    return ref.rope.apply_rope(x, cos, -sin)


_RX = LM.values(2, 3, 8, seed=10)
APPLY_PROBES = (probe(_RX[0, :2, :4], 1), probe(_RX, 5), probe(_RX[:, :, :6], 40))


def angles(m, head_dim, seq_len, offset):
    return Angles.of(m.rope.rope_angles(head_dim, seq_len, offset=offset))


def _exponent_i(ref, head_dim, seq_len, offset):
    theta = 10000.0 ** (-torch.arange(head_dim // 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(offset, offset + seq_len, dtype=torch.float64)[:, None] * theta
    return Angles(angles.cos().float(), angles.sin().float())


ANGLE_PROBES = (probe(4, 2, 0), probe(6, 3, 2), probe(8, 2, 50))


def _float32_angles(student, reference):
    """Right at small positions, off by float32 rounding (1e-5 .. 0.05) at position 100,000."""
    try:
        small = [student.rope.rope_angles(8, 4, offset=offset) for offset in (0, 9)]
        large = student.rope.rope_angles(8, 3, offset=100_000)
    except (SubmissionError, ForbiddenCall):
        return None
    if not all(isinstance(pair, tuple) and len(pair) == 2 for pair in (*small, large)):
        return None
    for pair, offset in zip(small, (0, 9)):
        expected = reference.rope.rope_angles(8, 4, offset=offset)
        if any(got.shape != want.shape or not torch.allclose(got.double(), want.double(), atol=1e-6)
               for got, want in zip(pair, expected)):
            return None
    expected = reference.rope.rope_angles(8, 3, offset=100_000)
    error = max(float((got.double() - want.double()).abs().max()) for got, want in zip(large, expected))
    if not 1e-5 < error < 0.05:
        return None
    return Evidence("rope_angles(8, 3, offset=100_000)", f"cos {expected[0][0].tolist()} ...",
                    f"cos {large[0][0].tolist()} ... (off by up to {error:.2g})")


# --- lm: the loss -------------------------------------------------------------------------------

def _loss(m, logits, ids):
    return m.model.lm_loss(logits, ids)


def _loss_without_shift(ref, logits, ids):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids.reshape(-1))


LOSS_PROBES = (probe(LM.values(1, 3, 4, seed=21), LM.token_ids(1, 3, 4, seed=22)),
               probe(LM.values(2, 4, 5, seed=23), LM.token_ids(2, 4, 5, seed=24)))


# --- kvcache: its size --------------------------------------------------------------------------

def _cache_bytes(m, cfg, batch, seq_len, bytes_per_value):
    return m.model.kv_cache_bytes(config(m, cfg), batch, seq_len, bytes_per_value)


def _cache_bytes_keys_only(ref, cfg, batch, seq_len, bytes_per_value):
    return cfg["n_layers"] * batch * seq_len * cfg["d_model"] * bytes_per_value


BYTES_PROBES = (probe(lm_cfg(), 1, 4, 2), probe(lm_cfg(n_layers=3), 2, 5, 4))


# --- the catalogue ------------------------------------------------------------------------------

def _entry(id, function, explanation, run, mistaken, probes):
    return Misconception(id, function, explanation, run=run, mistaken=mistaken, probes=probes)


MISCONCEPTIONS = (
    _entry("rope.half_split", "rope.apply_rope", "you rotate the two halves of each vector (x[i] with "
           "x[i + head_dim/2], the 'rotate_half' layout); this assignment rotates consecutive pairs "
           "(x[2i], x[2i+1])", apply, _half_split, APPLY_PROBES),
    _entry("rope.rotates_backwards", "rope.apply_rope", "you turn each pair by minus its angle: "
           "(a*cos + b*sin, -a*sin + b*cos); the rotation is (a*cos - b*sin, a*sin + b*cos)", apply, _backwards,
           APPLY_PROBES),
    _entry("rope.exponent_i_not_2i", "rope.rope_angles", "your frequencies are base ** (-i / head_dim) with i "
           "the pair index; they are base ** (-2i / head_dim)", angles, _exponent_i, ANGLE_PROBES),
    Misconception("rope.float32_angles", "rope.rope_angles", "you compute the angles in float32, which at "
                  "position 100,000 is off by about 0.005 radian; compute positions times frequencies in float64, "
                  "then cast", detect=_float32_angles),
    _entry("lm.loss_without_shift", "model.lm_loss", "your loss compares the logits at position t with the "
           "token at position t itself; position t predicts the next token: logits[:, :-1] against ids[:, 1:]",
           _loss, _loss_without_shift, LOSS_PROBES),
    _entry("kvcache.bytes_keys_only", "model.kv_cache_bytes", "your count leaves out the values: a KV cache "
           "holds keys and values, 2 * n_layers * batch * seq_len * d_model * bytes_per_value", _cache_bytes,
           _cache_bytes_keys_only, BYTES_PROBES),
)
