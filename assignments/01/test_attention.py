"""Public tests of `scaled_dot_product_attention` (exercise `sdpa`) and `top_k_attention` (exercise `topk`).

Expected values come from PyTorch itself: `torch.nn.functional.scaled_dot_product_attention`
(the tests may call it; your code may not), evaluated in float64 and cast to the dtype under test.
F.scaled_dot_product_attention does not return the weights, so the expected weights are its output
for `value = identity matrix` (then `weights @ value` is the weights themselves). For top-k
attention the kept positions are found by a slow, obviously correct loop over the rows
(`topk_keep` below); top-k attention is then exactly attention restricted to those positions.
"""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume
from torch.nn.attention import SDPBackend, sdpa_kernel

from grader.testing import Close, close, expect_value_error, given, named, settings, st, tensors

# float32 gradients are sums over S and E of products that cancel, and the float32 rounding of
# scores up to |scale| * E * 9 (about 40) reaches them: compare with an absolute tolerance that
# grows with the gradients' size, 4x the float32 defaults.
CLOSE_GRAD32 = Close(magnitude=True).scaled(4)


# --- expectations ----------------------------------------------------------------------------

def torch_attention(q, k, v, mask=None, scale=None, grad_output=None, dtype=None):
    """(output, weights, grads) from F.scaled_dot_product_attention, in float64, cast to dtype.

    PyTorch's "math" backend of F.scaled_dot_product_attention is used: the plain formula, which
    for inputs this small is also the fastest. A row with no allowed key gives zeros there too.
    """
    dtype = dtype or q.dtype
    q64, k64, v64 = (x.detach().double().requires_grad_(True) for x in (q, k, v))
    eye = torch.eye(k.shape[-2], dtype=torch.float64)  # weights @ I = weights
    with sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(q64, k64, v64, attn_mask=mask, scale=scale)
        weights = F.scaled_dot_product_attention(q64.detach(), k64.detach(), eye, attn_mask=mask, scale=scale)
        grads = None
        if grad_output is not None:
            grads = [g.to(dtype) for g in torch.autograd.grad(out, (q64, k64, v64), grad_output.double())]
    return out.detach().to(dtype), weights.to(dtype), grads


def scores64(q, k, scale):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    return (q.double() @ k.double().transpose(-2, -1)) * scale


def topk_keep(q, k, kk, mask=None, scale=None, gap=0.0):
    """The positions top-k attention keeps, row by row (a slow loop), and whether every row's
    k-th largest allowed score is more than ``gap`` above the next one (no near-tie at the cut)."""
    scores = scores64(q, k, scale)
    if mask is not None:
        shape = torch.broadcast_shapes(scores.shape, mask.shape)
        scores, mask = scores.expand(shape), mask.expand(shape)
    else:
        mask = torch.ones(scores.shape, dtype=torch.bool)
    keep = torch.zeros(scores.shape, dtype=torch.bool)
    clear_cut = True
    for index in itertools.product(*(range(n) for n in scores.shape[:-1])):
        row, allowed = scores[index].tolist(), mask[index].tolist()
        ranked = sorted((s for s, a in zip(row, allowed) if a), reverse=True)
        if not ranked:
            continue  # no allowed key: nothing kept
        kth = ranked[min(kk, len(ranked)) - 1]
        if kk < len(ranked) and ranked[kk - 1] - ranked[kk] <= gap:
            clear_cut = False
        for j, (s, a) in enumerate(zip(row, allowed)):
            keep[index + (j,)] = a and s >= kth
    return keep, clear_cut


def check_shape(got, shape, what):
    assert isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {type(got).__name__}"
    assert tuple(got.shape) == tuple(shape), f"{what}: shape {tuple(got.shape)}, expected {tuple(shape)}"


def check_finite(tensors_, what):
    for name, t in zip(("query", "key", "value"), tensors_):
        assert t is not None, f"{what}: no gradient reached {name}"
        assert torch.isfinite(t).all(), f"{what}: the gradient of {name} holds NaN or inf:\n{t}"


# --- input strategies ------------------------------------------------------------------------


@st.composite
def bool_tensors(draw, shape):
    """Strategy: a bool tensor of ``shape``, about 3/4 True, shrinking towards all True."""
    raw = draw(st.binary(min_size=math.prod(shape), max_size=math.prod(shape)))
    return (torch.frombuffer(bytearray(raw), dtype=torch.uint8) < 192).reshape(shape)


def grad_outputs(q, v):
    """Strategy: a gradient for the output (..., L, Ev) of attention on q, v."""
    shape = tuple(torch.broadcast_shapes(q.shape[:-1], v.shape[:-2] + (1,))) + v.shape[-1:]
    return tensors(shape, q.dtype)


@st.composite
def broadcast_shape(draw, full):
    """A shape that broadcasts to ``full``: some leading dims dropped, some dims set to 1."""
    drop = draw(st.integers(0, max(0, len(full) - 2)))
    return tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in full[drop:])


# The arguments of one attention call, named in a failing example ("query = ...", "mask = ...").
AttentionCase = named("query", "key", "value", "mask", "scale", name="AttentionCase")


@st.composite
def attention_case(draw, dtype, *, batch=(2, 2), mask="random", scale="any", min_e=1, max_e=4, integer=False,
                   min_len=1, max_len=4):
    """(q, k, v, mask, scale) with 4-D inputs (B, H, L, E) by default; small sizes, values in [-3, 3]."""
    B, H = (draw(st.integers(1, n)) for n in batch)
    L, S = draw(st.integers(min_len, max_len)), draw(st.integers(min_len, max_len))
    E, Ev = draw(st.integers(min_e, max_e)), draw(st.integers(1, 4))
    q = draw(tensors((B, H, L, E), dtype, integer=integer))
    k = draw(tensors((B, H, S, E), dtype, integer=integer))
    v = draw(tensors((B, H, S, Ev), dtype))
    m = None
    if mask == "random":
        m = draw(bool_tensors(draw(broadcast_shape((B, H, L, S)))))
    elif mask == "LS":
        m = draw(bool_tensors((L, S)))
    s = {"any": st.sampled_from([None, 0.5, 1.0, 2.0]), "none": st.none(),
         "given": st.sampled_from([0.25, 0.5, 2.0, 3.0]), "one": st.just(1.0)}[scale]
    return AttentionCase(q, k, v, m, draw(s))


def fully_masked_case(dtype):
    """A case whose mask (L, S) forbids every key for at least one query row."""
    @st.composite
    def strategy(draw):
        q, k, v, _, scale = draw(attention_case(dtype, mask=None))
        L, S = q.shape[-2], k.shape[-2]
        m = draw(bool_tensors((L, S))).clone()
        m[draw(st.integers(0, L - 1))] = False
        return AttentionCase(q, k, v, m, scale)
    return strategy()


# === sdpa ======================================================================================

SDPA = "sdpa"


@pytest.mark.exercise(SDPA, weight=1)
def test_sdpa_smoke_hand_example(student):
    """hand example: E=4, scores q.k/2 = [ln 3, 0] give weights [3/4, 1/4]; a masked key gets weight 0"""
    ln3 = math.log(3.0)
    q = torch.tensor([[2 * ln3, 0.0, 0.0, 0.0], [2 * ln3, 0.0, 0.0, 0.0]], dtype=torch.float64)
    k = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[4.0, 0.0], [0.0, 8.0]], dtype=torch.float64)
    out, w = student.attention.scaled_dot_product_attention(q, k, v)
    close(w, torch.tensor([[0.75, 0.25], [0.75, 0.25]], dtype=torch.float64), what="weights")
    close(out, torch.tensor([[3.0, 2.0], [3.0, 2.0]], dtype=torch.float64), what="output")
    mask = torch.tensor([[True, True], [False, True]])
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=mask)
    close(w, torch.tensor([[0.75, 0.25], [0.0, 1.0]], dtype=torch.float64), what="weights with mask")
    close(out, torch.tensor([[3.0, 2.0], [0.0, 8.0]], dtype=torch.float64), what="output with mask")


@pytest.mark.exercise(SDPA, weight=3)
@settings(max_examples=15)
@given(case=attention_case(torch.float64))
def test_sdpa_matches_torch_float64(student, case):
    """output and weights match F.scaled_dot_product_attention, float64, 4-D inputs, broadcast masks"""
    q, k, v, m, scale = case
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, m, scale)
    close(w, exp_w, what="weights")
    close(out, exp_out, what="output")


@pytest.mark.exercise(SDPA, weight=2)
@settings(max_examples=8)
@given(case=attention_case(torch.float32))
def test_sdpa_matches_torch_float32(student, case):
    """output and weights match F.scaled_dot_product_attention, float32, 4-D inputs, broadcast masks"""
    q, k, v, m, scale = case
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, m, scale)
    close(w, exp_w, what="weights")
    close(out, exp_out, what="output")


@pytest.mark.exercise(SDPA, weight=1.5)
@settings(max_examples=4)
@given(case=attention_case(torch.float64, mask=None, scale="given", min_e=2))
def test_sdpa_explicit_scale(student, case):
    """an explicit scale multiplies the scores instead of 1/sqrt(E), as in F.scaled_dot_product_attention"""
    q, k, v, _, scale = case
    out, w = student.attention.scaled_dot_product_attention(q, k, v, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, None, scale)
    close(w, exp_w, what=f"weights with scale={scale}")
    close(out, exp_out, what=f"output with scale={scale}")


@pytest.mark.exercise(SDPA, weight=1.5)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, mask="LS"))
def test_sdpa_broadcast_mask(student, case):
    """a mask of shape (L, S) applies to every batch and head of (B, H, L, E) inputs"""
    q, k, v, m, scale = case
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, m, scale)
    close(w, exp_w, what="weights")
    close(out, exp_out, what="output")


@pytest.mark.exercise(SDPA, weight=1)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, mask=None))
def test_sdpa_broadcast_leading_dims(student, case):
    """leading dimensions of query, key and value broadcast as in torch.matmul (e.g. key (1, H, S, E))"""
    q, k, v, _, scale = case
    k, v = k[:1], v[:, :1]  # key (1, H, S, E), value (B, 1, S, Ev)
    out, w = student.attention.scaled_dot_product_attention(q, k, v, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, None, scale)
    close(w, exp_w, what="weights")
    close(out, exp_out, what="output")


@pytest.mark.exercise(SDPA, weight=1)
@settings(max_examples=6)
@given(case=attention_case(torch.float64))
def test_sdpa_weights_exactly_zero_where_masked(student, case):
    """weights are exactly 0 where the mask is False, and rows with an allowed key sum to 1"""
    q, k, v, m, scale = case
    _, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    check_shape(w, q.shape[:-1] + k.shape[-2:-1], "weights")
    allowed = m.expand(w.shape)
    assert (w[~allowed] == 0).all(), \
        f"weights at masked positions must be exactly 0:\nmask:\n{m}\nweights:\n{w}"
    rows = allowed.any(-1)
    close(w.sum(-1)[rows], torch.ones_like(w.sum(-1)[rows]), what="row sums of the weights")


@pytest.mark.exercise(SDPA, weight=2)
@settings(max_examples=8)
@given(case=fully_masked_case(torch.float64))
def test_sdpa_fully_masked_rows(student, case):
    """a query row whose mask allows no key gets all-zero weights and an all-zero output, never NaN"""
    q, k, v, m, scale = case
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    check_shape(w, q.shape[:-1] + k.shape[-2:-1], "weights")
    check_shape(out, q.shape[:-1] + v.shape[-1:], "output")
    dead = ~m.any(-1)  # (L,) rows with no allowed key
    assert torch.isfinite(out).all() and torch.isfinite(w).all(), f"NaN or inf in the result:\nweights:\n{w}"
    assert (w[..., dead, :] == 0).all(), \
        f"rows {dead.nonzero().flatten().tolist()} allow no key; their weights must be 0:\n{w}"
    close(out[..., dead, :], torch.zeros_like(out[..., dead, :]), what="output of rows with no allowed key")
    exp_out, exp_w, _ = torch_attention(q, k, v, m, scale)
    close(w, exp_w, what="weights")
    close(out, exp_out, what="output")


@pytest.mark.exercise(SDPA, weight=1.5)
@settings(max_examples=6)
@given(case=fully_masked_case(torch.float64), data=st.data())
def test_sdpa_fully_masked_rows_gradients(student, case, data):
    """fully masked row: gradients are finite and match autograd through F.scaled_dot_product_attention"""
    q, k, v, m, scale = case
    g = data.draw(grad_outputs(q, v), label="grad_output")
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    check_finite(grads, "gradients")
    _, _, exp_grads = torch_attention(q, k, v, m, scale, grad_output=g)
    for name, got, exp in zip(("query", "key", "value"), grads, exp_grads):
        close(got, exp, what=f"gradient of {name}")


@pytest.mark.exercise(SDPA, weight=3)
@settings(max_examples=10)
@given(case=attention_case(torch.float64), data=st.data())
def test_sdpa_gradients_float64(student, case, data):
    """gradients for query, key and value match autograd through F.scaled_dot_product_attention, float64"""
    q, k, v, m, scale = case
    g = data.draw(grad_outputs(q, v), label="grad_output")
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    _, _, exp_grads = torch_attention(q, k, v, m, scale, grad_output=g)
    for name, got, exp in zip(("query", "key", "value"), grads, exp_grads):
        close(got, exp, what=f"gradient of {name}")


@pytest.mark.exercise(SDPA, weight=1.5)
@settings(max_examples=6)
@given(case=attention_case(torch.float32), data=st.data())
def test_sdpa_gradients_float32(student, case, data):
    """gradients for query, key and value match autograd through F.scaled_dot_product_attention, float32"""
    q, k, v, m, scale = case
    g = data.draw(grad_outputs(q, v), label="grad_output")
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    _, _, exp_grads = torch_attention(q, k, v, m, scale, grad_output=g)
    for name, got, exp in zip(("query", "key", "value"), grads, exp_grads):
        CLOSE_GRAD32(got, exp, what=f"gradient of {name}")


@pytest.mark.exercise(SDPA, weight=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_sdpa_output_dtype(student, dtype):
    """output and weights have the dtype of the inputs (float32 and float64), with a mask too"""
    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 4, dtype=dtype), torch.randn(2, 5, 4, dtype=dtype)
    v = torch.randn(2, 5, 3, dtype=dtype)
    mask = torch.rand(3, 5) > 0.3
    for m in (None, mask):
        out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m)
        what = "with a mask" if m is not None else "without a mask"
        assert out.dtype == dtype, f"output dtype {out.dtype}, expected {dtype} ({what})"
        assert w.dtype == dtype, f"weights dtype {w.dtype}, expected {dtype} ({what})"
        assert tuple(out.shape) == (2, 3, 3) and tuple(w.shape) == (2, 3, 5), \
            f"shapes {tuple(out.shape)}, {tuple(w.shape)}; expected (2, 3, 3) and (2, 3, 5) ({what})"


# === topk ======================================================================================

TOPK = "topk"


def topk_expected(q, k, v, kk, mask=None, scale=None, grad_output=None, gap=0.0):
    """Top-k attention = attention with the mask replaced by the kept positions."""
    keep, clear_cut = topk_keep(q, k, kk, mask, scale, gap)
    return torch_attention(q, k, v, keep, scale, grad_output), clear_cut


@pytest.mark.exercise(TOPK, weight=1.5)
def test_topk_smoke_hand_example_with_ties(student):
    """hand example: scores [3, 1, 2, 2, 0], k=2 keeps 3 and both 2s; a masked score is not kept or counted"""
    q = torch.tensor([[1.0], [1.0]], dtype=torch.float64)
    k = torch.tensor([[3.0], [1.0], [2.0], [2.0], [0.0]], dtype=torch.float64)  # scores = k (scale 1)
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 2.0], [5.0, 5.0]], dtype=torch.float64)
    e3, e2, e1 = math.exp(3), math.exp(2), math.exp(1)
    z = e3 + 2 * e2
    w_row = [e3 / z, 0.0, e2 / z, e2 / z, 0.0]
    out, w = student.attention.top_k_attention(q, k, v, 2, scale=1.0)
    close(w, torch.tensor([w_row, w_row], dtype=torch.float64), what="weights, k=2 (both tied 2s kept)")
    close(out, torch.tensor([w_row, w_row], dtype=torch.float64) @ v, what="output, k=2")
    # row 1 forbids the 3: its allowed scores are [1, 2, 2, 0]; k=3 keeps 2, 2 and 1
    mask = torch.tensor([[True] * 5, [False, True, True, True, True]])
    z1 = e1 + 2 * e2
    w_rows = [[e3 / z, 0.0, e2 / z, e2 / z, 0.0], [0.0, e1 / z1, e2 / z1, e2 / z1, 0.0]]
    out, w = student.attention.top_k_attention(q, k, v, 3, mask=mask, scale=1.0)
    close(w, torch.tensor(w_rows, dtype=torch.float64), what="weights, k=3 with key 0 masked in row 1")
    close(out, torch.tensor(w_rows, dtype=torch.float64) @ v, what="output, k=3 with a mask")


@pytest.mark.exercise(TOPK, weight=3)
@settings(max_examples=10)
@given(case=attention_case(torch.float64), kk=st.integers(1, 5))
def test_topk_matches_bruteforce_float64(student, case, kk):
    """each row keeps exactly the allowed scores >= its k-th largest allowed score, float64, with masks"""
    q, k, v, m, scale = case
    (exp_out, exp_w, _), clear_cut = topk_expected(q, k, v, kk, m, scale, gap=1e-6)
    assume(clear_cut)  # two scores within rounding of each other at the cut: the kept set is ill-defined
    out, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    close(w, exp_w, what=f"weights (k={kk})")
    close(out, exp_out, what=f"output (k={kk})")


@pytest.mark.exercise(TOPK, weight=1)
@settings(max_examples=6)
@given(case=attention_case(torch.float32), kk=st.integers(1, 5))
def test_topk_matches_bruteforce_float32(student, case, kk):
    """each row keeps exactly the allowed scores >= its k-th largest allowed score, float32, with masks"""
    q, k, v, m, scale = case
    (exp_out, exp_w, _), clear_cut = topk_expected(q, k, v, kk, m, scale, gap=1e-3)
    assume(clear_cut)  # two scores within float32 rounding of each other at the cut
    out, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    close(w, exp_w, what=f"weights (k={kk})")
    close(out, exp_out, what=f"output (k={kk})")


@pytest.mark.exercise(TOPK, weight=2)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, integer=True, scale="one", min_len=3, max_len=5, max_e=2),
       kk=st.integers(1, 3))
def test_topk_ties_integer_scores(student, case, kk):
    """ties at the k-th place are all kept (integer scores, scale=1.0, so ties are exact)"""
    q, k, v, m, scale = case
    (exp_out, exp_w, _), _ = topk_expected(q, k, v, kk, m, scale)
    out, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    close(w, exp_w, what=f"weights (k={kk})")
    close(out, exp_out, what=f"output (k={kk})")


@pytest.mark.exercise(TOPK, weight=1.5)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, integer=True, scale="one", max_len=5), kk=st.integers(1, 3))
def test_topk_masked_positions_never_kept_nor_counted(student, case, kk):
    """masked positions get weight 0 and don't count towards k: rows keep >= min(k, allowed) positions"""
    q, k, v, m, scale = case
    _, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    check_shape(w, q.shape[:-1] + k.shape[-2:-1], "weights")
    allowed = m.expand(w.shape)
    assert (w[~allowed] == 0).all(), f"masked positions must get weight exactly 0:\nmask:\n{m}\nweights:\n{w}"
    kept = (w > 0).sum(-1)
    need = allowed.sum(-1).clamp(max=kk)
    assert (kept >= need).all(), (
        f"k={kk}: some row keeps fewer than min(k, number of allowed keys) positions "
        f"(kept per row {kept.tolist()}, needed {need.tolist()}); masked keys must not count towards k")


@pytest.mark.exercise(TOPK, weight=2)
@settings(max_examples=6)
@given(case=attention_case(torch.float64), extra=st.integers(0, 3))
def test_topk_large_k_equals_full_attention(student, case, extra):
    """with k >= the number of keys, top-k attention equals F.scaled_dot_product_attention (k may exceed S)"""
    q, k, v, m, scale = case
    kk = k.shape[-2] + extra
    out, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    exp_out, exp_w, _ = torch_attention(q, k, v, m, scale)
    close(w, exp_w, what=f"weights (k={kk}, S={k.shape[-2]})")
    close(out, exp_out, what=f"output (k={kk}, S={k.shape[-2]})")


@pytest.mark.exercise(TOPK, weight=1)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, integer=True, scale="one", min_len=2, max_e=2),
       kk=st.integers(1, 3), data=st.data())
def test_topk_gradients(student, case, kk, data):
    """gradients match autograd through attention restricted to the kept positions, float64"""
    q, k, v, m, scale = case
    g = data.draw(grad_outputs(q, v), label="grad_output")
    _, grads = student.backward(student.attention.top_k_attention, q, k, v, kk, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    (_, _, exp_grads), _ = topk_expected(q, k, v, kk, m, scale, grad_output=g)
    for name, got, exp in zip(("query", "key", "value"), grads, exp_grads):
        close(got, exp, what=f"gradient of {name} (k={kk})")


@pytest.mark.exercise(TOPK, weight=0.5)
def test_topk_ranks_scaled_scores(student):
    """ranking uses the scaled scores: with scale=-1, scores [3, 1, 2] become [-3, -1, -2]; k=1 keeps the 1"""
    q = torch.tensor([[1.0]], dtype=torch.float64)
    k = torch.tensor([[3.0], [1.0], [2.0]], dtype=torch.float64)
    v = torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64)
    out, w = student.attention.top_k_attention(q, k, v, 1, scale=-1.0)
    close(w, torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64), what="weights, k=1, scale=-1")
    close(out, torch.tensor([[2.0]], dtype=torch.float64), what="output, k=1, scale=-1")


@pytest.mark.exercise(TOPK, weight=1)
def test_topk_k_below_one_raises(student):
    """k < 1 raises ValueError"""
    q = torch.zeros(2, 3, 4)
    for kk in (0, -1):
        expect_value_error(student.attention.top_k_attention, q, q, q, kk,
                           what=f"top_k_attention with k={kk}")
