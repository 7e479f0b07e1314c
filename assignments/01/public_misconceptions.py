"""The mistakes of assignment 01 that public data can show: named in a student's own run
(``pytest assignments/01``, the notebook's check cell, a pull request) as well as in grading.

Shipped to students (``grader generate 01`` copies it next to the stubs), so nothing here comes
from the reference: ``EXPECTED`` stands in for it, with what the public tests compare against
(PyTorch's own attention, in float64 like the tests, and the definitions of the handout), and
every entry computes its mistaken values from ``EXPECTED`` alone. ``grader check 01`` verifies
that ``EXPECTED`` agrees with the reference on every probe, so a mistake is named in a student's
run exactly when grading names it. The mistakes only the hidden reference can show (multi-head
attention, the tokenizer, the counts, the fit, the plot) are in ``misconceptions.py``, which
stays with the reference. Format: see ``grader.grading.diagnose``.
"""

import math
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from grader.grading.diagnose import Evidence, Misconception, probe, reaches_forbidden
from grader.grading.feedback import show
from grader.grading.proxy import SubmissionError
from grader.testing import named

SDPA, TOPK = "attention.scaled_dot_product_attention", "attention.top_k_attention"
Attention = named("output", "weights", name="Attention")  # what the attention functions return


def probe_values(*shape, seed, integer=False, dtype=torch.float64):
    """A probe tensor: one decimal in [-2, 2] (whole numbers in [-2, 2] with ``integer``)."""
    g = torch.Generator().manual_seed(seed)
    if integer:
        return torch.randint(-2, 3, shape, generator=g).to(dtype)
    return (torch.rand(*shape, generator=g) * 4 - 2).round(decimals=1).to(dtype)


def probe_mask(*shape, seed, dead_row=False):
    """A probe mask in which every row allows a key (but the last query row, with ``dead_row``)."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.rand(*shape, generator=g) < 0.6
    allowed[..., 0] = True
    if dead_row:
        allowed[..., -1, :] = False
    return allowed


# --- what the public tests compare with -------------------------------------------------------

def _torch_attention(query, key, value, mask=None, scale=None):
    """F.scaled_dot_product_attention (its plain "math" backend) and its weights, as the public
    tests compute them: the weights are its output for ``value`` = the identity."""
    eye = torch.eye(key.shape[-2], dtype=value.dtype)
    with sdpa_kernel(SDPBackend.MATH):
        output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)
        weights = F.scaled_dot_product_attention(query, key, eye, attn_mask=mask, scale=scale)
    return output, weights


def _distance(n):
    pos = torch.arange(n)
    return pos[:, None] - pos[None, :]


def _padding_by_definition(lengths, max_len=None):
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if lengths.numel() == 0 or (lengths < 0).any() or (max_len is not None and int(lengths.max()) > max_len):
        raise ValueError("lengths must be non-empty, >= 0 and at most max_len")
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T)[None, :] < lengths[:, None]


def _table(n, d, *, exponent="2i", layout="interleaved", swap=False, dtype=torch.float32):
    """The sinusoidal table of the handout, evaluated in float64, with each mistake a switch."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(d // 2, dtype=torch.float64)
    angle = pos / 10000.0 ** ((2 * i if exponent == "2i" else i) / d)
    first, second = (angle.cos(), angle.sin()) if swap else (angle.sin(), angle.cos())
    if layout == "halves":
        return torch.cat([first, second], dim=1).to(dtype)
    return torch.stack([first, second], dim=-1).reshape(n, d).to(dtype)


def _scale_of(q, scale):
    return 1 / math.sqrt(q.shape[-1]) if scale is None else scale


def _keep(q, k, kk, mask, scale, *, rule="ties", use_mask=True, scaled=True):
    """Which positions top-k keeps; ``rule``: "ties" (the contract), "exact" (torch.topk's
    indices) or "strict" (only above the k-th score)."""
    scores = q @ k.transpose(-2, -1) * (_scale_of(q, scale) if scaled else 1.0)
    if mask is not None and use_mask:
        scores = torch.where(mask, scores, float("-inf"))
    S = scores.shape[-1]
    top = scores.topk(min(kk, S), dim=-1)
    kth = top.values[..., -1:]
    if rule == "exact":
        keep = torch.zeros_like(scores, dtype=torch.bool).scatter(-1, top.indices, True)
    elif rule == "strict":
        keep = (scores > kth) | ((kk >= S) & torch.isfinite(scores))
    else:
        keep = scores >= kth
    return keep if mask is None else keep & mask


def _top_k_attention(query, key, value, k, mask=None, scale=None):
    """Top-k attention as the public tests define it: attention restricted to the kept positions."""
    kept = _keep(query, key, k, mask, scale)
    return _torch_attention(query, key, value, mask=kept, scale=_scale_of(query, scale))


EXPECTED = SimpleNamespace(  # the reference as far as these entries use it, from public code only
    attention=SimpleNamespace(
        scaled_dot_product_attention=_torch_attention, top_k_attention=_top_k_attention,
        causal_mask=lambda n: _distance(n) >= 0,
        sliding_window_mask=lambda n, w: (_distance(n) >= 0) & (_distance(n) < w),
        padding_mask=_padding_by_definition),
    positional=SimpleNamespace(sinusoidal_positional_encoding=lambda n, d: _table(n, d)))


# --- scaled dot-product attention -------------------------------------------------------------

def sdpa(m, query, key, value, mask=None, scale=None):
    return Attention.of(m.attention.scaled_dot_product_attention(query, key, value, mask=mask, scale=scale))


_Q, _K, _V = probe_values(2, 3, 4, seed=1), probe_values(2, 5, 4, seed=2), probe_values(2, 5, 2, seed=3)
_BATCHED = probe(_Q, _K, _V)
_DEAD_ROW = probe(_Q, _K, _V, mask=probe_mask(2, 3, 5, seed=4, dead_row=True))  # its last query sees no key
_q, _k, _v = _Q[0, :2], _K[0, :3], _V[0, :3]  # small probes: the example a named mistake shows
SDPA_PROBES = (
    probe(_q, _k, _v),
    probe(_q, _k, _v, mask=probe_mask(2, 3, seed=18)),
    probe(_q, _k, _v, mask=probe_mask(2, 3, seed=20, dead_row=True)),
    probe(_q, _k, _v, mask=probe_mask(3, seed=21), scale=0.7),  # a mask that broadcasts, a scale given
    _BATCHED,
    _DEAD_ROW,
    probe(_Q, _K, _V, mask=probe_mask(3, 5, seed=5)),
    probe(_Q, _K, _V, mask=probe_mask(5, seed=6), scale=0.7),
)


def _with_scale(rule):
    """The expected attention, with the default scale (scale=None) computed by ``rule(query, value)``."""
    def mistaken(ref, q, k, v, mask=None, scale=None):
        return sdpa(ref, q, k, v, mask=mask, scale=rule(q, v) if scale is None else scale)
    return mistaken


def _softmax_over_queries(ref, q, k, v, mask=None, scale=None):
    scores = q @ k.transpose(-2, -1) * _scale_of(q, scale)
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-2)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ v, weights


def _mask_after_softmax(ref, q, k, v, mask=None, scale=None):
    _, weights = sdpa(ref, q, k, v, scale=scale)
    weights = weights if mask is None else weights * mask
    return weights @ v, weights


def _inverted_mask(ref, q, k, v, mask=None, scale=None):
    return sdpa(ref, q, k, v, mask=None if mask is None else ~mask, scale=scale)


def _dead_rows(fill):
    """The expected attention, with rows that allow no key filled by ``fill(v, weights)`` -> (out, w)."""
    def mistaken(ref, q, k, v, mask=None, scale=None):
        out, weights = sdpa(ref, q, k, v, mask=mask, scale=scale)
        if mask is None:
            return out, weights
        dead = ~torch.broadcast_to(mask, weights.shape).any(-1, keepdim=True)  # (..., L, 1)
        fill_out, fill_w = fill(v, weights)
        return torch.where(dead, fill_out, out), torch.where(dead, fill_w, weights)
    return mistaken


def _needs_full_mask(ref, q, k, v, mask=None, scale=None):
    out, weights = sdpa(ref, q, k, v, mask=mask, scale=scale)
    if mask is not None and mask.shape != weights.shape:
        raise IndexError("the mask must have the scores' full shape")
    return out, weights


def _float32_inside(ref, q, k, v, mask=None, scale=None):
    return sdpa(ref, q.float(), k.float(), v.float(), mask=mask, scale=scale)


def _no_gradient(student, reference):
    p = _BATCHED
    try:
        _, grads = student.backward(student.attention.scaled_dot_product_attention, *p.args, wrt=(0, 1, 2),
                                    output_index=0, grad_output=torch.ones(2, 3, 2, dtype=torch.float64))
    except SubmissionError as err:
        if err.type_name != "NoGradient":
            return None
        grads = [None, None, None]
    if any(g is not None for g in grads):
        return None
    return Evidence(p.describe(sdpa), "gradients for query, key and value", "no gradient reaches any input")


def _nan_gradients(student, reference):
    p = _DEAD_ROW
    try:
        (out, weights), grads = student.backward(
            student.attention.scaled_dot_product_attention, *p.args, mask=p.kwargs["mask"],
            wrt=(0, 1, 2), output_index=0, grad_output=torch.ones(2, 3, 2, dtype=torch.float64))
    except SubmissionError:
        return None
    forward_clean = not (out.isnan().any() or weights.isnan().any())
    nan_grads = [g for g in grads if g is not None and g.isnan().any()]
    if not (forward_clean and nan_grads):
        return None
    return Evidence(p.describe(sdpa), "finite gradients", f"gradient with NaN:\n{show(nan_grads[0])}")


def _sdpa_entry(id, explanation, mistaken):
    return Misconception(id, SDPA, explanation, run=sdpa, mistaken=mistaken, probes=SDPA_PROBES)


# --- top-k attention --------------------------------------------------------------------------

def topk(m, query, key, value, k, mask=None, scale=None):
    return Attention.of(m.attention.top_k_attention(query, key, value, k, mask=mask, scale=scale))


_TQ, _TK, _TV = (probe_values(2, 3, 3, seed=7, integer=True), probe_values(2, 6, 3, seed=8, integer=True),
                 probe_values(2, 6, 2, seed=9))
TOPK_PROBES = (
    probe(_TQ[0, :2], _TK[0, :4], _TV[0, :4], 2, scale=1.0),  # small: the example shown when it tells
    probe(_TQ[0, :2], _TK[0, :4], _TV[0, :4], 2, mask=probe_mask(2, 4, seed=19), scale=1.0),
    probe(_TQ, _TK, _TV, 2, scale=1.0),
    probe(_TQ, _TK, _TV, 3, mask=probe_mask(2, 3, 6, seed=10, dead_row=True), scale=1.0),
    probe(_TQ, _TK, _TV, 1, mask=probe_mask(3, 6, seed=11), scale=-1.0),
    probe(_TQ, _TK, _TV, 8, scale=0.5),
)


def _topk_keeping(**rule):
    def mistaken(ref, q, k, v, kk, mask=None, scale=None):
        return sdpa(ref, q, k, v, mask=_keep(q, k, kk, mask, scale, **rule), scale=_scale_of(q, scale))
    return mistaken


def _topk_zeroed_after_softmax(ref, q, k, v, kk, mask=None, scale=None):
    _, weights = sdpa(ref, q, k, v, mask=mask, scale=_scale_of(q, scale))
    weights = weights * _keep(q, k, kk, mask, scale)
    return weights @ v, weights


def _topk_crashes_above_length(ref, q, k, v, kk, mask=None, scale=None):
    if kk > k.shape[-2]:
        raise RuntimeError("selected index k out of range")
    return topk(ref, q, k, v, kk, mask=mask, scale=scale)


def _topk_entry(id, explanation, mistaken):
    return Misconception(id, TOPK, explanation, run=topk, mistaken=mistaken, probes=TOPK_PROBES)


# --- masks, positional encoding ---------------------------------------------------------------

def _causal(m, seq_len):
    return m.attention.causal_mask(seq_len)


def _window(m, seq_len, window):
    return m.attention.sliding_window_mask(seq_len, window)


def _padding(m, lengths, max_len=None):
    return m.attention.padding_mask(lengths, max_len)


def _unchecked_padding(ref, lengths, max_len=None):
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T)[None, :] < lengths[:, None]


def _padding_to_longest(ref, lengths, max_len=None):
    longest = int(max(lengths))
    if max_len is not None and longest > max_len:
        raise ValueError("a length above max_len")
    return torch.arange(longest)[None, :] < torch.as_tensor(lengths)[:, None]


def _posenc(m, seq_len, d_model):
    return m.positional.sinusoidal_positional_encoding(seq_len, d_model)


def _table_with(**switches):
    return lambda ref, n, d: _table(n, d, **switches)


POSENC_PROBES = (probe(2, 2), probe(3, 4), probe(5, 6))


# --- the public catalogue ---------------------------------------------------------------------

MISCONCEPTIONS = (
    _sdpa_entry("sdpa.missing_scale", "your scores are not multiplied by 1/√d_k (d_k: the query/key "
                "width) when no scale is given; scale them before the softmax",
                _with_scale(lambda q, v: 1.0)),
    _sdpa_entry("sdpa.scale_by_d", "your scores are divided by d_k instead of √d_k",
                _with_scale(lambda q, v: 1 / q.shape[-1])),
    _sdpa_entry("sdpa.scale_uses_value_dim", "your default scale uses the value width E_v instead of "
                "the query/key width E: the scale is 1/√E",
                _with_scale(lambda q, v: 1 / math.sqrt(v.shape[-1]))),
    _sdpa_entry("sdpa.ignores_scale_arg", "your function ignores the `scale` argument and always uses "
                "1/√d_k", lambda ref, q, k, v, mask=None, scale=None: sdpa(ref, q, k, v, mask=mask)),
    _sdpa_entry("sdpa.softmax_wrong_dim", "your weights match a softmax over the query dimension "
                "(dim -2); softmax goes over the keys (dim -1), so each row sums to 1",
                _softmax_over_queries),
    _sdpa_entry("sdpa.mask_after_softmax", "you multiply the weights by the mask after the softmax, "
                "so the rows no longer sum to 1; mask the scores before the softmax", _mask_after_softmax),
    _sdpa_entry("sdpa.mask_inverted", "you treat True in the mask as 'blocked'; in this assignment "
                "True means 'may attend'", _inverted_mask),
    _sdpa_entry("sdpa.nan_fully_masked", "a query row whose mask allows no key becomes NaN (softmax of "
                "all -inf); such a row must give zero weights and a zero output",
                _dead_rows(lambda v, w: (torch.full((), float("nan"), dtype=v.dtype),) * 2)),
    _sdpa_entry("sdpa.fully_masked_uniform", "a query row whose mask allows no key gets uniform weights "
                "over the forbidden keys; it must give zero weights and a zero output",
                _dead_rows(lambda v, w: (v.mean(-2, keepdim=True), torch.full_like(w, 1 / w.shape[-1])))),
    _sdpa_entry("sdpa.mask_not_broadcast", "your masking only works when the mask has the scores' full "
                "shape (boolean indexing); the mask must broadcast, e.g. (L, S) for a batch",
                _needs_full_mask),
    _sdpa_entry("sdpa.wrong_dtype", "you compute in float32 whatever the inputs' dtype, so float64 "
                "inputs give float32 results; keep the inputs' dtype", _float32_inside),
    Misconception("sdpa.breaks_autograd", SDPA, "no gradient reaches query, key or value: the "
                  "computation leaves autograd (detach, .numpy(), torch.tensor(...) of results); use "
                  "torch operations throughout", detect=_no_gradient),
    Misconception("sdpa.nan_grad_fully_masked", SDPA, "the forward pass is right, but a row with no "
                  "allowed key puts NaN into the gradients (a -inf score whose NaN is zeroed only after "
                  "the softmax still flows back); use a finite fill value", detect=_nan_gradients),
    Misconception("sdpa.forbidden_builtin", SDPA, "your function reaches a built-in attention function "
                  "(e.g. F.scaled_dot_product_attention); this exercise must be written from scratch",
                  detect=reaches_forbidden(sdpa, _BATCHED, "no built-in attention function")),
    _topk_entry("topk.exact_k_via_topk_indices", "you keep exactly k positions (torch.topk's indices), "
                "dropping ties at the k-th place; keep every score >= the k-th largest",
                _topk_keeping(rule="exact")),
    _topk_entry("topk.strict_greater", "you keep only scores strictly above the k-th largest, losing "
                "the k-th itself and its ties; keep scores >= it", _topk_keeping(rule="strict")),
    _topk_entry("topk.topk_ignores_mask", "you pick the top k among all scores, forbidden ones "
                "included; masked positions must not count towards k", _topk_keeping(use_mask=False)),
    _topk_entry("topk.ranks_unscaled_scores", "you rank the unscaled scores query @ keyᵀ; rank the "
                "scaled ones (a negative scale reverses the order)", _topk_keeping(scaled=False)),
    _topk_entry("topk.topk_after_softmax_no_renorm", "you zero the weights outside the top k after the "
                "softmax without renormalising; mask the scores before the softmax",
                _topk_zeroed_after_softmax),
    _topk_entry("topk.k_above_length_crashes", "a k larger than the number of keys crashes (torch.topk "
                "with k itself); then every allowed key is kept", _topk_crashes_above_length),
    Misconception("masks.causal_excludes_diagonal", "attention.causal_mask", "your causal mask hides each "
                  "token from itself; the diagonal (j == i) is allowed", run=_causal,
                  mistaken=lambda ref, n: _distance(n) > 0, probes=(probe(1), probe(3), probe(4))),
    Misconception("masks.causal_upper", "attention.causal_mask", "your causal mask lets tokens see the "
                  "future instead of the past; query i may attend key j iff j <= i (lower triangle)",
                  run=_causal, mistaken=lambda ref, n: _distance(n) <= 0,
                  probes=(probe(1), probe(3), probe(4))),
    Misconception("masks.window_off_by_one", "attention.sliding_window_mask", "your window lets each "
                  "token see `window` tokens before it; it sees itself and window - 1 before it",
                  run=_window, mistaken=lambda ref, n, w: (_distance(n) >= 0) & (_distance(n) <= w),
                  probes=(probe(4, 2), probe(5, 1), probe(3, 5))),
    Misconception("masks.window_symmetric", "attention.sliding_window_mask", "your window is symmetric "
                  "(|i - j| < window), so tokens see the future; only keys j <= i are allowed",
                  run=_window, mistaken=lambda ref, n, w: _distance(n).abs() < w,
                  probes=(probe(4, 2), probe(5, 1), probe(3, 5))),
    Misconception("masks.padding_inverted", "attention.padding_mask", "your padding mask is True at the "
                  "padding; it must be True at the real tokens", run=_padding,
                  mistaken=lambda ref, *args: ~_padding(ref, *args),
                  probes=(probe([2, 0, 3]), probe([1, 2], 4))),
    Misconception("masks.padding_ignores_max_len", "attention.padding_mask", "your padding mask always has "
                  "max(lengths) columns; with max_len given it has max_len columns", run=_padding,
                  mistaken=_padding_to_longest, probes=(probe([2, 0, 3]), probe([1, 2], 4), probe([3], 3))),
    Misconception("masks.missing_value_errors", "attention.padding_mask", "invalid lengths (above "
                  "max_len, negative) give a mask instead of the ValueError the contract asks for",
                  run=_padding, mistaken=_unchecked_padding,
                  probes=(probe([2, 1]), probe([1, 3], 2), probe([2, -1]))),
    Misconception("posenc.sin_cos_swapped", "positional.sinusoidal_positional_encoding", "you put the "
                  "cosine on even columns and the sine on odd ones; sine goes on the even columns (2i)",
                  run=_posenc, mistaken=_table_with(swap=True), probes=POSENC_PROBES),
    Misconception("posenc.exponent_i_not_2i", "positional.sinusoidal_positional_encoding", "your "
                  "frequencies use 10000^(i/d_model) for column pair i; the exponent is 2i/d_model",
                  run=_posenc, mistaken=_table_with(exponent="i"), probes=POSENC_PROBES),
    Misconception("posenc.halves_not_interleaved", "positional.sinusoidal_positional_encoding", "you put "
                  "all sines in the first half of the columns and all cosines in the second; they "
                  "interleave: sin, cos, sin, cos, ...", run=_posenc, mistaken=_table_with(layout="halves"),
                  probes=POSENC_PROBES),
    Misconception("posenc.float64_output", "positional.sinusoidal_positional_encoding", "your table is "
                  "float64; return it as float32 (compute in float64 if you like, then .float())",
                  run=_posenc, mistaken=_table_with(dtype=torch.float64), probes=POSENC_PROBES),
)
