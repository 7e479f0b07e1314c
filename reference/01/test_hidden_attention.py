"""Hidden tests of `scaled_dot_product_attention` (exercise `sdpa`) and `top_k_attention` (exercise `topk`).

The submission is compared with the reference on more and larger generated inputs than the public
tests: leading dimensions that broadcast, masks of every broadcastable shape with random patterns
(fully masked rows included), explicit scales, gradients (through the output and through the
weights), ties, and every ValueError the contract names. Expected values are computed by the
reference in float64 and cast to the dtype under test.
"""

import math

import pytest
import torch
from hypothesis import assume

from grader.testing import Close, close, expect_value_error, given, named, settings, st, tensors

# float32 gradients: sums over S and E of products that cancel; the float32 rounding of scores up
# to |scale| * E * 9 reaches them. Absolute tolerance grows with the gradients' size, 4x defaults.
CLOSE_GRAD32 = Close(magnitude=True).scaled(4)
# float32 forward on the larger inputs (E up to 8, S up to 10): scores up to about 70, whose
# float32 rounding (about 1e-5) moves the softmax by as much: 4x the float32 defaults.
CLOSE_LARGE32 = close.scaled(4)


# --- input strategies -------------------------------------------------------------------------


@st.composite
def bool_tensors(draw, shape, p_false=64):
    """Strategy: a bool tensor of ``shape`` (each entry False with probability p_false / 256)."""
    shape = tuple(shape)
    raw = draw(st.binary(min_size=math.prod(shape), max_size=math.prod(shape)))
    return (torch.frombuffer(bytearray(raw), dtype=torch.uint8) < 256 - p_false).reshape(shape)


@st.composite
def sub_shape(draw, full, keep_last=0):
    """A shape broadcasting to ``full``: leading dims dropped, some set to 1 (the last ``keep_last`` kept)."""
    drop = draw(st.integers(0, len(full) - keep_last))
    dims = list(full[drop:])
    for i in range(len(dims) - keep_last):
        if draw(st.integers(0, 3)) == 0:  # a quarter of the dims broadcast
            dims[i] = 1
    return tuple(dims)


# The arguments of one attention call, named in a failing example ("query = ...", "mask = ...").
AttentionCase = named("query", "key", "value", "mask", "scale", name="AttentionCase")


@st.composite
def attention_case(draw, dtype=torch.float64, *, max_lead=3, min_len=1, max_len=5, max_e=5, mask="random",
                   scale="any", integer=False, dead_rows=False):
    """(q, k, v, mask, scale): q (..., L, E), k (..., S, E), v (..., S, Ev) with broadcasting leading
    dims, a mask of any shape broadcastable to the scores (or None)."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=max_lead)))
    L, S = draw(st.integers(min_len, max_len)), draw(st.integers(min_len, max_len))
    E, Ev = draw(st.integers(1, max_e)), draw(st.integers(1, max_e))
    q_lead = lead
    k_lead = draw(sub_shape(lead))
    v_lead = draw(sub_shape(lead))
    q = draw(tensors(q_lead + (L, E), dtype, integer=integer))
    k = draw(tensors(k_lead + (S, E), dtype, integer=integer))
    v = draw(tensors(v_lead + (S, Ev), dtype))
    scores_shape = torch.broadcast_shapes(q_lead, k_lead) + (L, S)
    m = None
    if mask == "random" or (mask == "maybe" and draw(st.integers(0, 3)) > 0):  # "maybe": 3/4 with a mask
        shape = draw(sub_shape(scores_shape, keep_last=2 if dead_rows else 0))
        m = draw(bool_tensors(shape, p_false=draw(st.sampled_from([32, 96, 160]))))
        if dead_rows:
            m = m.clone()
            m[..., draw(st.integers(0, L - 1)), :] = False
    s = {"any": st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0]), st.floats(0.05, 2.5)),
         "one": st.sampled_from([1.0, 0.5, 2.0]), "none": st.none(),
         "signed": st.sampled_from([-2.0, -1.0, -0.5, 0.5, 1.0])}[scale]
    return AttentionCase(q, k, v, m, draw(s))


def grad_outputs(shape, dtype):
    return tensors(shape, dtype)


def as64(*xs):
    return [x.detach().double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in xs]


def reference_forward(function, q, k, v, *args, **kwargs):
    """The reference's (output, weights) in float64, cast to q's dtype."""
    out, w = function(*as64(q, k, v), *args, **kwargs)
    return out.to(q.dtype), w.to(q.dtype)


def reference_backward(function, q, k, v, *args, grad_output, output_index=0, **kwargs):
    """The reference's gradients for q, k, v in float64, cast to q's dtype."""
    leaves = [x.requires_grad_(True) for x in as64(q, k, v)]
    with torch.enable_grad():
        result = function(*leaves, *args, **kwargs)[output_index]
        grads = torch.autograd.grad(result, leaves, grad_output.double(), allow_unused=True)
    return [torch.zeros_like(x) if g is None else g.to(q.dtype) for g, x in zip(grads, (q, k, v))]


def ref_sdpa(reference, q, k, v, mask, scale):
    function = reference.attention.scaled_dot_product_attention
    return reference_forward(function, q, k, v, mask=mask, scale=scale)


def ref_topk(reference, q, k, v, kk, mask, scale):
    return reference_forward(reference.attention.top_k_attention, q, k, v, kk, mask=mask, scale=scale)


def check_weights_shape(w, expected):
    assert isinstance(w, torch.Tensor) and w.shape == expected.shape, \
        f"weights: shape {tuple(getattr(w, 'shape', ()))}, expected {tuple(expected.shape)}"


def compare_forward(got, expected, comparison=close):
    comparison(got[1], expected[1], what="weights")
    comparison(got[0], expected[0], what="output")


def compare_grads(grads, expected, comparison=close, what=""):
    for name, got, exp in zip(("query", "key", "value"), grads, expected):
        comparison(got, exp, what=f"gradient of {name}{what}")


# === sdpa ======================================================================================

SDPA = "sdpa"


@pytest.mark.exercise(SDPA, weight=3)
@settings(max_examples=20)
@given(case=attention_case(torch.float64, mask="maybe"))
def test_sdpa_hidden_matches_reference_float64(student, reference, case):
    """output and weights match the reference, float64, broadcasting leading dims, masks of any such shape"""
    q, k, v, m, scale = case
    got = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    compare_forward(got, ref_sdpa(reference, q, k, v, m, scale))


@pytest.mark.exercise(SDPA, weight=2)
@settings(max_examples=12)
@given(case=attention_case(torch.float32, mask="maybe"))
def test_sdpa_hidden_matches_reference_float32(student, reference, case):
    """output and weights match the reference, float32 (same dtype out), broadcasting inputs and masks"""
    q, k, v, m, scale = case
    got = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    compare_forward(got, ref_sdpa(reference, q, k, v, m, scale))


@pytest.mark.exercise(SDPA, weight=1)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, max_lead=2, max_len=10, max_e=8, mask="random"),
       dtype=st.sampled_from([torch.float64, torch.float32]))
def test_sdpa_hidden_larger_inputs(student, reference, case, dtype):
    """output and weights match the reference on larger inputs (L, S up to 10, E up to 8)"""
    q, k, v, m, scale = case
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    got = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    expected = ref_sdpa(reference, q, k, v, m, scale)
    compare_forward(got, expected, close if dtype == torch.float64 else CLOSE_LARGE32)


@pytest.mark.exercise(SDPA, weight=3)
@settings(max_examples=15)
@given(case=attention_case(torch.float64, mask="maybe"), which=st.sampled_from([0, 0, 1]), data=st.data())
def test_sdpa_hidden_gradients_float64(student, reference, case, which, data):
    """gradients for query, key and value match the reference, float64, through the output or the weights"""
    q, k, v, m, scale = case
    if which == 0:  # the output (..., L, Ev)
        shape = torch.broadcast_shapes(q.shape[:-1], v.shape[:-2] + (1,)) + v.shape[-1:]
    else:  # the weights (..., L, S)
        lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], () if m is None else m.shape[:-2])
        shape = lead + (q.shape[-2], k.shape[-2])
    g = data.draw(grad_outputs(shape, torch.float64), label="grad_output")
    wrt = (0, 1, 2) if which == 0 else (0, 1)  # the weights do not depend on value
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=wrt,
                                grad_output=g, output_index=which, mask=m, scale=scale)
    expected = reference_backward(reference.attention.scaled_dot_product_attention, q, k, v, grad_output=g,
                                  output_index=which, mask=m, scale=scale)
    compare_grads(grads, expected[:len(wrt)], what=" (through the weights)" if which else "")


@pytest.mark.exercise(SDPA, weight=1.5)
@settings(max_examples=10)
@given(case=attention_case(torch.float32, mask="maybe"), data=st.data())
def test_sdpa_hidden_gradients_float32(student, reference, case, data):
    """gradients for query, key and value match the reference, float32"""
    q, k, v, m, scale = case
    shape = torch.broadcast_shapes(q.shape[:-1], v.shape[:-2] + (1,)) + v.shape[-1:]
    g = data.draw(grad_outputs(shape, torch.float32), label="grad_output")
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    expected = reference_backward(reference.attention.scaled_dot_product_attention, q, k, v, grad_output=g,
                                  mask=m, scale=scale)
    compare_grads(grads, expected, CLOSE_GRAD32)


@pytest.mark.exercise(SDPA, weight=2)
@settings(max_examples=12)
@given(case=attention_case(torch.float64, dead_rows=True),
       dtype=st.sampled_from([torch.float64, torch.float32]), data=st.data())
def test_sdpa_hidden_fully_masked_rows(student, reference, case, dtype, data):
    """rows whose mask allows no key: all-zero weights and output, finite gradients equal to the reference"""
    q, k, v, m, scale = case
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    expected = ref_sdpa(reference, q, k, v, m, scale)
    check_weights_shape(w, expected[1])
    allowed = m.expand(w.shape)
    assert torch.isfinite(w).all() and torch.isfinite(out).all(), \
        f"NaN or inf in the result:\nmask:\n{m}\nweights:\n{w}"
    assert (w[~allowed] == 0).all(), \
        f"weights at masked positions must be exactly 0:\nmask:\n{m}\nweights:\n{w}"
    dead = ~allowed.any(-1)  # (..., L): q carries every leading dim, so out has w's leading shape
    close(out[dead], torch.zeros_like(out[dead]), what="output of rows with no allowed key")
    compare_forward((out, w), expected)
    shape = torch.broadcast_shapes(q.shape[:-1], v.shape[:-2] + (1,)) + v.shape[-1:]
    g = data.draw(grad_outputs(shape, dtype), label="grad_output")
    _, grads = student.backward(student.attention.scaled_dot_product_attention, q, k, v, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    for name, grad in zip(("query", "key", "value"), grads):
        assert grad is not None and torch.isfinite(grad).all(), \
            f"gradient of {name} is missing or holds NaN or inf:\n{grad}"
    expected = reference_backward(reference.attention.scaled_dot_product_attention, q, k, v, grad_output=g,
                                  mask=m, scale=scale)
    compare_grads(grads, expected, close if dtype == torch.float64 else CLOSE_GRAD32)


@pytest.mark.exercise(SDPA, weight=1)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, max_lead=0, mask="maybe"))
def test_sdpa_hidden_unbatched(student, reference, case):
    """2-D inputs (L, E), (S, E), (S, Ev) without leading dimensions work and match the reference"""
    q, k, v, m, scale = case
    got = student.attention.scaled_dot_product_attention(q, k, v, mask=m, scale=scale)
    compare_forward(got, ref_sdpa(reference, q, k, v, m, scale))


@pytest.mark.exercise(SDPA, weight=1)
@settings(max_examples=8)
@given(case=attention_case(torch.float64, mask=None))
def test_sdpa_hidden_all_true_mask_equals_no_mask(student, case):
    """a mask that allows everything gives the same result as no mask"""
    q, k, v, _, scale = case
    L, S = q.shape[-2], k.shape[-2]
    plain = student.attention.scaled_dot_product_attention(q, k, v, scale=scale)
    everything = torch.ones(L, S, dtype=torch.bool)
    masked = student.attention.scaled_dot_product_attention(q, k, v, mask=everything, scale=scale)
    compare_forward(masked, plain)


@pytest.mark.exercise(SDPA, weight=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_sdpa_hidden_dtype_and_shapes(student, dtype):
    """output (..., L, Ev) and weights (..., L, S) keep the input dtype, also with broadcast leading dims"""
    torch.manual_seed(1)
    q, k = torch.randn(2, 1, 3, 4, dtype=dtype), torch.randn(1, 3, 5, 4, dtype=dtype)
    v = torch.randn(3, 5, 2, dtype=dtype)
    for m in (None, torch.rand(5) > 0.5, torch.rand(2, 1, 3, 5) > 0.3):
        out, w = student.attention.scaled_dot_product_attention(q, k, v, mask=m)
        assert out.dtype == dtype and w.dtype == dtype, f"dtypes {out.dtype}, {w.dtype}; expected {dtype}"
        assert tuple(out.shape) == (2, 3, 3, 2) and tuple(w.shape) == (2, 3, 3, 5), \
            f"shapes {tuple(out.shape)}, {tuple(w.shape)}; expected (2, 3, 3, 2) and (2, 3, 3, 5)"


# === topk ======================================================================================

TOPK = "topk"


def clear_cut(q, k, kk, mask, scale, gap):
    """Whether in every row the k-th largest allowed score is more than ``gap`` above the next one."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = (q.double() @ k.double().transpose(-2, -1)) * scale
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    if kk >= s.shape[-1]:
        return True
    top = s.topk(kk + 1, dim=-1).values
    a, b = top[..., kk - 1], top[..., kk]
    return bool(((b == float("-inf")) | (a - b > gap)).all())


@pytest.mark.exercise(TOPK, weight=3)
@settings(max_examples=16)
@given(case=attention_case(torch.float64, mask="maybe"), kk=st.integers(1, 6))
def test_topk_hidden_matches_reference_float64(student, reference, case, kk):
    """output and weights match the reference, float64, random masks (fully masked rows included)"""
    q, k, v, m, scale = case
    assume(clear_cut(q, k, kk, m, scale, 1e-6))
    got = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    compare_forward(got, ref_topk(reference, q, k, v, kk, m, scale))


@pytest.mark.exercise(TOPK, weight=1.5)
@settings(max_examples=10)
@given(case=attention_case(torch.float32, mask="maybe"), kk=st.integers(1, 6))
def test_topk_hidden_matches_reference_float32(student, reference, case, kk):
    """output and weights match the reference, float32 (no near-tie at the k-th place)"""
    q, k, v, m, scale = case
    assume(clear_cut(q, k, kk, m, scale, 1e-3))
    got = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    compare_forward(got, ref_topk(reference, q, k, v, kk, m, scale))


@pytest.mark.exercise(TOPK, weight=3)
@settings(max_examples=6)
@given(case=attention_case(torch.float64, mask="maybe", integer=True, scale="one", min_len=3, max_len=6,
                           max_e=3),
       kk=st.integers(1, 4), dtype=st.sampled_from([torch.float64, torch.float32]))
def test_topk_hidden_ties(student, reference, case, kk, dtype):
    """ties at the k-th place are all kept (integer scores and a power-of-two scale, so ties are exact)"""
    q, k, v, m, scale = case
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    got = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    compare_forward(got, ref_topk(reference, q, k, v, kk, m, scale))


@pytest.mark.exercise(TOPK, weight=1.5)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, integer=True, scale="one", dead_rows=True, max_len=6),
       kk=st.integers(1, 4))
def test_topk_hidden_masked_never_kept_and_dead_rows(student, reference, case, kk):
    """masked positions get weight exactly 0 and don't count towards k; a row with no allowed key is all 0"""
    q, k, v, m, scale = case
    out, w = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    expected = ref_topk(reference, q, k, v, kk, m, scale)
    check_weights_shape(w, expected[1])
    allowed = m.expand(w.shape)
    assert torch.isfinite(w).all() and torch.isfinite(out).all(), f"NaN or inf in the result:\n{w}"
    assert (w[~allowed] == 0).all(), f"masked positions must get weight exactly 0:\nmask:\n{m}\nweights:\n{w}"
    kept, need = (w > 0).sum(-1), allowed.sum(-1).clamp(max=kk)
    assert (kept >= need).all(), \
        f"k={kk}: rows keep {kept.tolist()} positions, at least {need.tolist()} needed"
    compare_forward((out, w), expected)


@pytest.mark.exercise(TOPK, weight=2)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, mask="maybe"), extra=st.integers(0, 4))
def test_topk_hidden_large_k_equals_full_attention(student, reference, case, extra):
    """with k >= the number of keys (even k > S) the result equals scaled_dot_product_attention's"""
    q, k, v, m, scale = case
    kk = k.shape[-2] + extra
    got = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    compare_forward(got, ref_sdpa(reference, q, k, v, m, scale))


@pytest.mark.exercise(TOPK, weight=2)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, mask="maybe", integer=True, scale="one", min_len=2, max_e=3),
       kk=st.integers(1, 4), data=st.data())
def test_topk_hidden_gradients(student, reference, case, kk, data):
    """gradients for query, key and value match the reference, float64"""
    q, k, v, m, scale = case
    shape = torch.broadcast_shapes(q.shape[:-1], v.shape[:-2] + (1,)) + v.shape[-1:]
    g = data.draw(grad_outputs(shape, torch.float64), label="grad_output")
    _, grads = student.backward(student.attention.top_k_attention, q, k, v, kk, wrt=(0, 1, 2),
                                grad_output=g, output_index=0, mask=m, scale=scale)
    expected = reference_backward(reference.attention.top_k_attention, q, k, v, kk, grad_output=g, mask=m,
                                  scale=scale)
    compare_grads(grads, expected, what=f" (k={kk})")


@pytest.mark.exercise(TOPK, weight=1)
@settings(max_examples=10)
@given(case=attention_case(torch.float64, mask="maybe", scale="signed"), kk=st.integers(1, 4))
def test_topk_hidden_ranks_scaled_scores(student, reference, case, kk):
    """the ranking uses the scaled scores scale * q @ k^T, also when the scale is negative"""
    q, k, v, m, scale = case
    assume(clear_cut(q, k, kk, m, scale, 1e-6))
    got = student.attention.top_k_attention(q, k, v, kk, mask=m, scale=scale)
    compare_forward(got, ref_topk(reference, q, k, v, kk, m, scale))


@pytest.mark.exercise(TOPK, weight=1)
def test_topk_hidden_k_below_one_raises(student):
    """k < 1 raises ValueError (k = 0, -1, -5; with and without a mask)"""
    q = torch.ones(1, 3, 2)
    mask = torch.tensor([[True, False, True]] * 3)
    for kk in (0, -1, -5):
        expect_value_error(student.attention.top_k_attention, q, q, q, kk,
                           what=f"top_k_attention with k={kk}")
        expect_value_error(student.attention.top_k_attention, q, q, q, kk, mask=mask, scale=1.0,
                           what=f"top_k_attention with k={kk} and a mask")
