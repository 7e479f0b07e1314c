"""Assignment 01's catalogue of misconceptions: the mistakes the grader names (see grader.diagnose).

Each entry names the student function it concerns, says the mistake in plain words, and either
computes the reference *with that mistake* on a few probe inputs chosen to tell mistakes apart
(non-square shapes so softmax dimensions differ, d_k != 1 and != E_v so the scale shows, ties for
tie-breaks, rows with no allowed key), or is a predicate for mistakes no output shows (no gradient,
NaN gradients, a forbidden built-in). The grader names a mistake only when the student's values
equal the mistaken ones on every probe and differ from the reference's on at least one.
``MISCONCEPTIONS`` at the end is the catalogue: each id with its plain words. ``FIGURES`` lists
the functions returning attention weights, drawn as heatmaps (query rows, key columns) on the
feedback page. Never shipped to students.
"""

import functools
import math
from collections import Counter

import torch

from grader.grading.diagnose import Evidence, Figure, Misconception, probe
from grader.grading.feedback import show
from grader.grading.proxy import ForbiddenCall, SubmissionError

SDPA, TOPK = "attention.scaled_dot_product_attention", "attention.top_k_attention"
MHA = "attention.MultiHeadAttention"
SPECIALS = ("<pad>", "<bos>", "<eos>")


def _values(*shape, seed, integer=False, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    if integer:
        return torch.randint(-2, 3, shape, generator=g).to(dtype)
    return (torch.rand(*shape, generator=g) * 4 - 2).round(decimals=1).to(dtype)


def _mask(*shape, seed, dead_row=False):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(*shape, generator=g) < 0.6
    mask[..., 0] = True  # every row allows a key ...
    if dead_row:
        mask[..., -1, :] = False  # ... except the last query row here
    return mask


# --- scaled dot-product attention -------------------------------------------------------------

def _sdpa(m, query, key, value, mask=None, scale=None):
    return m.attention.scaled_dot_product_attention(query, key, value, mask=mask, scale=scale)




_Q, _K, _V = _values(2, 3, 4, seed=1), _values(2, 5, 4, seed=2), _values(2, 5, 2, seed=3)
SDPA_PROBES = (
    probe(_Q[0, :2], _K[0, :3], _V[0, :3]),
    probe(_Q, _K, _V),
    probe(_Q, _K, _V, mask=_mask(2, 3, 5, seed=4, dead_row=True)),
    probe(_Q, _K, _V, mask=_mask(3, 5, seed=5)),
    probe(_Q, _K, _V, mask=_mask(5, seed=6), scale=0.7),
)


def _with_scale(rule):
    """The reference, with the default scale (scale=None) computed by ``rule(query, value)``."""
    def mistaken(ref, q, k, v, mask=None, scale=None):
        return _sdpa(ref, q, k, v, mask=mask, scale=rule(q, v) if scale is None else scale)
    return mistaken


def _scale_of(q, scale):
    return 1 / math.sqrt(q.shape[-1]) if scale is None else scale


def _softmax_over_queries(ref, q, k, v, mask=None, scale=None):
    scores = q @ k.transpose(-2, -1) * _scale_of(q, scale)
    if mask is not None:
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-2)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights @ v, weights


def _mask_after_softmax(ref, q, k, v, mask=None, scale=None):
    _, weights = _sdpa(ref, q, k, v, scale=scale)
    weights = weights if mask is None else weights * mask
    return weights @ v, weights


def _inverted_mask(ref, q, k, v, mask=None, scale=None):
    return _sdpa(ref, q, k, v, mask=None if mask is None else ~mask, scale=scale)


def _dead_rows(fill):
    """The reference, with rows that allow no key filled by ``fill(v, weights)`` -> (out, w)."""
    def mistaken(ref, q, k, v, mask=None, scale=None):
        out, weights = _sdpa(ref, q, k, v, mask=mask, scale=scale)
        if mask is None:
            return out, weights
        dead = ~torch.broadcast_to(mask, weights.shape).any(-1, keepdim=True)  # (..., L, 1)
        fill_out, fill_w = fill(v, weights)
        return torch.where(dead, fill_out, out), torch.where(dead, fill_w, weights)
    return mistaken


def _needs_full_mask(ref, q, k, v, mask=None, scale=None):
    out, weights = _sdpa(ref, q, k, v, mask=mask, scale=scale)
    if mask is not None and mask.shape != weights.shape:
        raise IndexError("the mask must have the scores' full shape")
    return out, weights


def _float32_inside(ref, q, k, v, mask=None, scale=None):
    return _sdpa(ref, q.float(), k.float(), v.float(), mask=mask, scale=scale)


def _no_gradient(student, reference):
    p = SDPA_PROBES[1]
    try:
        _, grads = student.backward(student.attention.scaled_dot_product_attention, *p.args,
                                    wrt=(0, 1, 2), output_index=0, grad_output=torch.ones(2, 3, 2,
                                                                                          dtype=torch.float64))
    except SubmissionError as err:
        if err.type_name != "NoGradient":
            return None
        grads = [None, None, None]
    if any(g is not None for g in grads):
        return None
    return Evidence(p.describe(_sdpa), "gradients for query, key and value", "no gradient reaches any input")


def _nan_gradients(student, reference):
    p = SDPA_PROBES[2]
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
    return Evidence(p.describe(_sdpa), "finite gradients", f"gradient with NaN:\n{show(nan_grads[0])}")


def _reaches_forbidden(call, p):
    def detect(student, reference):
        try:
            call(student, *p.args, **p.kwargs)
        except ForbiddenCall as err:
            return Evidence(p.describe(call), "no built-in attention function", str(err))
        except Exception:  # noqa: BLE001 - any other failure says nothing about built-ins
            return None
        return None
    return detect


def _sdpa_entry(id, explanation, mistaken):
    return Misconception(id, SDPA, explanation, run=_sdpa, mistaken=mistaken, probes=SDPA_PROBES)


# --- top-k attention --------------------------------------------------------------------------

def _topk(m, query, key, value, k, mask=None, scale=None):
    return m.attention.top_k_attention(query, key, value, k, mask=mask, scale=scale)




_TQ, _TK, _TV = (_values(2, 3, 3, seed=7, integer=True), _values(2, 6, 3, seed=8, integer=True),
                 _values(2, 6, 2, seed=9))
TOPK_PROBES = (
    probe(_TQ, _TK, _TV, 2, scale=1.0),
    probe(_TQ, _TK, _TV, 3, mask=_mask(2, 3, 6, seed=10, dead_row=True), scale=1.0),
    probe(_TQ, _TK, _TV, 1, mask=_mask(3, 6, seed=11), scale=-1.0),
    probe(_TQ, _TK, _TV, 8, scale=0.5),
)


def _keep(q, k, kk, mask, scale, *, rule="ties", use_mask=True, scaled=True):
    """Which positions top-k keeps; ``rule``: "ties" (the reference), "exact" (topk's indices)
    or "strict" (only above the k-th score)."""
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


def _topk_keeping(**rule):
    def mistaken(ref, q, k, v, kk, mask=None, scale=None):
        return _sdpa(ref, q, k, v, mask=_keep(q, k, kk, mask, scale, **rule), scale=_scale_of(q, scale))
    return mistaken


def _topk_zeroed_after_softmax(ref, q, k, v, kk, mask=None, scale=None):
    _, weights = _sdpa(ref, q, k, v, mask=mask, scale=_scale_of(q, scale))
    weights = weights * _keep(q, k, kk, mask, scale)
    return weights @ v, weights


def _topk_crashes_above_length(ref, q, k, v, kk, mask=None, scale=None):
    if kk > k.shape[-2]:
        raise RuntimeError("selected index k out of range")
    return _topk(ref, q, k, v, kk, mask=mask, scale=scale)


def _topk_entry(id, explanation, mistaken):
    return Misconception(id, TOPK, explanation, run=_topk, mistaken=mistaken, probes=TOPK_PROBES)


# --- multi-head attention ---------------------------------------------------------------------

def _mha_params(d, seed):
    g = torch.Generator().manual_seed(seed)
    return {f"{name}.{part}": (torch.rand(*((d, d) if part == "weight" else (d,)), generator=g) - 0.5)
            for name in ("q_proj", "k_proj", "v_proj", "out_proj") for part in ("weight", "bias")}


def _mha(m, params, n_heads, query, key=None, value=None, mask=None):
    d = query.shape[-1]
    module = m.attention.MultiHeadAttention(d, n_heads, bias=True)
    module.load_state_dict(params)
    return module(query, key, value, mask)




_P = _mha_params(4, seed=12)
_MQ, _MK, _MV = (_values(2, 3, 4, seed=13, dtype=torch.float32), _values(2, 4, 4, seed=14, dtype=torch.float32),
                 _values(2, 4, 4, seed=15, dtype=torch.float32))
MHA_PROBES = (
    probe(_P, 2, _MQ),
    probe(_P, 2, _MQ, _MK, _MV, mask=_mask(2, 1, 3, 4, seed=16)),
    probe(_P, 2, _MQ, _MK[:, :3]),
    probe(_P, 1, _MQ, _MK, _MV, mask=_mask(3, 4, seed=17, dead_row=True)),
)


def _manual_mha(ref, params, n_heads, query, key=None, value=None, mask=None, *, value_default="key",
                scale_by="head", transpose=True, out_proj=True, average=False, nan_dead_rows=False):
    """The reference's multi-head attention written out, each mistake a switch."""
    key = query if key is None else key
    value = (key if value_default == "key" else query) if value is None else value
    (B, L, C), S, H = query.shape, key.shape[1], n_heads
    D = C // H
    project = lambda x, name: torch.nn.functional.linear(  # noqa: E731
        x.double(), params[f"{name}.weight"].double(), params[f"{name}.bias"].double())

    def heads(x, n):
        return x.reshape(B, H, n, D) if not transpose else x.view(B, n, H, D).transpose(1, 2)
    q, k, v = heads(project(query, "q_proj"), L), heads(project(key, "k_proj"), S), heads(project(value, "v_proj"), S)
    y, weights = _sdpa(ref, q, k, v, mask=mask, scale=1 / math.sqrt(C if scale_by == "model" else D))
    if nan_dead_rows and mask is not None:
        dead = ~torch.broadcast_to(mask, weights.shape).any(-1, keepdim=True)
        weights = torch.where(dead, float("nan"), weights)
        y = weights @ v
    y = y.transpose(1, 2).reshape(B, L, C)
    out = project(y, "out_proj") if out_proj else y
    return out.float(), (weights.mean(dim=1) if average else weights).float()


def _mha_with(**switches):
    def mistaken(ref, *args, **kwargs):
        return _manual_mha(ref, *args, **kwargs, **switches)
    return mistaken


def _mha_entry(id, explanation, **switches):
    return Misconception(id, MHA, explanation, run=_mha, mistaken=_mha_with(**switches), probes=MHA_PROBES)


def _mha_parameter_names(m, d_model, n_heads, bias):
    return sorted(m.attention.MultiHeadAttention(d_model, n_heads, bias=bias).state_dict())


def _always_biased(ref, d_model, n_heads, bias):
    return _mha_parameter_names(ref, d_model, n_heads, True)


# --- masks, positional encoding ---------------------------------------------------------------

def _causal(m, n):
    return m.attention.causal_mask(n)


def _window(m, n, w):
    return m.attention.sliding_window_mask(n, w)


def _padding(m, lengths, max_len=None):
    return m.attention.padding_mask(lengths, max_len)


def _distance(n):
    pos = torch.arange(n)
    return pos[:, None] - pos[None, :]


def _unchecked_padding(ref, lengths, max_len=None):
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T)[None, :] < lengths[:, None]


def _padding_to_longest(ref, lengths, max_len=None):
    longest = int(max(lengths))
    if max_len is not None and longest > max_len:
        raise ValueError("a length above max_len")
    return torch.arange(longest)[None, :] < torch.as_tensor(lengths)[:, None]


def _posenc(m, n, d):
    return m.positional.sinusoidal_positional_encoding(n, d)


def _table(n, d, *, exponent="2i", layout="interleaved", swap=False, dtype=torch.float32):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(d // 2, dtype=torch.float64)
    angle = pos / 10000.0 ** ((2 * i if exponent == "2i" else i) / d)
    first, second = (angle.cos(), angle.sin()) if swap else (angle.sin(), angle.cos())
    if layout == "halves":
        return torch.cat([first, second], dim=1).to(dtype)
    return torch.stack([first, second], dim=-1).reshape(n, d).to(dtype)


def _table_with(**switches):
    return lambda ref, n, d: _table(n, d, **switches)


POSENC_PROBES = (probe(2, 2), probe(3, 4), probe(5, 6))


# --- tokenizer --------------------------------------------------------------------------------

def _merges(m, text, vocab_size, specials=SPECIALS):
    return [tuple(p) for p in m.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials).merges]


def _naive_train(ref, text, vocab_size, specials=SPECIALS, *, tiebreak="smallest", overlapping=True,
                 min_count=2, join_pieces=False):
    """BPE training recounting every step, each mistake a switch."""
    tokenizer = ref.tokenizer.BPETokenizer
    base = tokenizer(special_tokens=specials)
    pieces = [list(s.encode("utf-8")) for s, sid in base._split(text) if sid is None]
    pieces = [sum(pieces, [])] if join_pieces else pieces
    merges = []
    while base.vocab_size + len(merges) < vocab_size:
        counts = Counter()
        for piece in pieces:
            counts.update(_pairs(piece, overlapping))
        if not counts:
            break
        best = {"smallest": min(counts, key=lambda p: (-counts[p], p)),
                "largest": max(counts, key=lambda p: (counts[p], p)),
                "first_seen": max(counts, key=counts.get)}[tiebreak]
        if counts[best] < min_count:
            break
        pieces = [tokenizer._merge_pair(p, best, base.vocab_size + len(merges)) for p in pieces]
        merges.append(best)
    return merges


def _pairs(ids, overlapping):
    if overlapping:
        return list(zip(ids, ids[1:]))
    pairs, i = [], 0
    while i < len(ids) - 1:
        pairs.append((ids[i], ids[i + 1]))
        i += 2 if i + 2 < len(ids) and (ids[i + 1], ids[i + 2]) == pairs[-1] else 1
    return pairs


def _trained_with(**switches):
    return lambda ref, *args: _naive_train(ref, *args, **switches)


TRAIN_PROBES = (
    probe("abc", 260),  # every pair once: nothing to merge
    probe("aaab", 260),  # (a, a) twice, overlapping
    probe("bcbcz<pad>ababz<pad>cdcd", 260),  # a three-way tie: first seen bc, smallest ab, largest cd
    probe("xa<eos>bx<eos>ab", 260, ("<eos>",)),  # pairs only across the specials
)


def _encode(m, merges, text, specials=SPECIALS, add_bos=False, add_eos=False):
    return list(m.tokenizer.BPETokenizer(merges, specials).encode(text, add_bos=add_bos, add_eos=add_eos))


def _tokenizer_class(ref, **overrides):
    return type("Mistaken", (ref.tokenizer.BPETokenizer,), overrides)


def _encode_specials_as_bytes(ref, merges, text, specials=SPECIALS, **flags):
    cls = _tokenizer_class(ref, _split=lambda self, text: [(text, None)] if text else [])
    return cls(merges, specials).encode(text, **flags)


def _encode_specials_in_given_order(ref, merges, text, specials=SPECIALS, **flags):
    import re

    tok = ref.tokenizer.BPETokenizer(merges, specials)
    tok._special_re = re.compile("|".join(map(re.escape, specials)))
    return tok.encode(text, **flags)


def _encode_leftmost_first(ref, merges, text, specials=SPECIALS, add_bos=False, add_eos=False):
    tok = ref.tokenizer.BPETokenizer(merges, specials)
    ids = [tok.bos_id] if add_bos else []
    for stretch, special_id in tok._split(text):
        part = [special_id] if special_id is not None else list(stretch.encode("utf-8"))
        i = 0
        while i < len(part) - 1:
            pair = (part[i], part[i + 1])
            if special_id is None and pair in tok._ranks:
                part[i: i + 2], i = [tok._ranks[pair]], 0
            else:
                i += 1
        ids += part
    return ids + ([tok.eos_id] if add_eos else [])


def _encode_eos_first(ref, merges, text, specials=SPECIALS, add_bos=False, add_eos=False):
    tok = ref.tokenizer.BPETokenizer(merges, specials)
    ids = tok.encode(text, add_bos=add_bos)
    return [tok.eos_id, *ids] if add_eos else ids


def _encode_specials_first(ref, merges, text, specials=SPECIALS, **flags):
    """Ids laid out specials first: the student's merges name ids of that layout too."""
    S = len(specials)
    to_reference = lambda i: i + 256 if i < S else i - S if i < 256 + S else i  # noqa: E731
    from_reference = lambda i: i + S if i < 256 else i - 256 if i < 256 + S else i  # noqa: E731
    merges = [(to_reference(a), to_reference(b)) for a, b in merges]
    return [from_reference(i) for i in ref.tokenizer.BPETokenizer(merges, specials).encode(text, **flags)]


ENCODE_PROBES = (
    probe([], "hi"),
    probe([(98, 99), (97, 98)], "abc"),
    probe([], "a<eos>b"),
    probe([(104, 105)], "<bos>hi", add_eos=True),
    probe([], "a<s>xb", ("<s>", "<s>x")),
)


def _decode(m, ids):
    return m.tokenizer.BPETokenizer().decode(ids)


def _decode_with(joined, errors):
    def mistaken(ref, ids):
        tok = ref.tokenizer.BPETokenizer()
        parts = [tok.id_to_bytes(i) for i in ids]
        if joined:
            return b"".join(parts).decode("utf-8", errors=errors)
        return "".join(p.decode("utf-8", errors=errors) for p in parts)
    return mistaken


DECODE_PROBES = (probe([104, 105]), probe([226, 130]), probe([226, 130, 172]))


def _pad(m, sequences, max_len=None):
    return tuple(m.tokenizer.BPETokenizer().pad_batch(sequences, max_len))


def _pad_left(ref, sequences, max_len=None):
    ids, mask = ref.tokenizer.BPETokenizer().pad_batch(sequences, max_len)
    for b, seq in enumerate(sequences):
        ids[b], mask[b] = ids[b].roll(ids.shape[1] - len(seq)), mask[b].roll(ids.shape[1] - len(seq))
    return ids, mask


# --- parameter counts, FLOPs, fit -------------------------------------------------------------

CONFIGS = (dict(vocab_size=10, d_model=4, n_layers=2, n_heads=2, d_ff=8),
           dict(vocab_size=10, d_model=4, n_layers=1, n_heads=2, d_ff=6, max_seq_len=5, ffn="swiglu",
                tie_embeddings=True),
           dict(vocab_size=7, d_model=6, n_layers=3, n_heads=3, d_ff=5, bias=False, norm="rmsnorm", max_seq_len=3))
CONFIG_PROBES = tuple(probe(c) for c in CONFIGS)


def _count(name):
    def run(m, fields):
        return getattr(m.parameters, name)(m.parameters.TransformerConfig(**fields))
    return run


def _minus(name, part):
    """The reference's ``name`` count with ``part(ref, cfg)`` parameters left out (or added)."""
    def mistaken(ref, fields):
        cfg = ref.parameters.TransformerConfig(**fields)
        return getattr(ref.parameters, name)(cfg) - part(ref.parameters, cfg)
    return mistaken


def _params_entry(id, name, explanation, part):
    return Misconception(id, f"parameters.{name}", explanation, run=_count(name), mistaken=_minus(name, part),
                         probes=CONFIG_PROBES)


def _linear(m, d_in, d_out, bias):
    return m.parameters.linear_params(d_in, d_out, bias)


def _norm(m, dim, kind):
    return m.parameters.norm_params(dim, kind)


def _flops(m, *sizes):
    return m.complexity.attention_matmul_flops(*sizes)


FLOPS_PROBES = (probe(1, 1, 1, 1), probe(3, 5, 4, 2))


def _fit(m, sizes, times):
    return tuple(m.complexity.fit_power_law(sizes, times))


def _raw_line_fit(ref, sizes, times):
    x, y = torch.tensor(sizes, dtype=torch.float64), torch.tensor(times, dtype=torch.float64)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return float(slope), float(y.mean() - slope * x.mean())


def _log_coefficient(ref, sizes, times):
    exponent, coefficient = ref.complexity.fit_power_law(sizes, times)
    return exponent, math.log(coefficient)


FIT_PROBES = (probe([1, 2, 4], [3, 12, 48]), probe([2, 3, 5, 7], [1.5, 2.0, 4.0, 9.0]))


# --- heatmap ----------------------------------------------------------------------------------

def _drawing(m, weights, query_tokens, key_tokens):
    """What a student's plot shows, read back from the Axes it returns."""
    import matplotlib

    matplotlib.use("Agg")
    ax = m.visualize.plot_attention(weights, query_tokens, key_tokens)
    kind = getattr(getattr(ax, "handle", None), "type_name", None) or type(ax).__name__
    if kind == "Figure":
        return {"returns": kind}
    image = ax.get_images()[-1]
    array = image.get_array()
    drawn = {"returns": kind, "image": torch.as_tensor(array if isinstance(array, torch.Tensor) else array.data).double(),
             "colorbar": image.colorbar is not None or len(ax.figure.axes) >= 2}
    for axis in ("x", "y"):
        drawn[f"{axis}ticks"] = [float(t) for t in getattr(ax, f"get_{axis}ticks")()]
        drawn[f"{axis}labels"] = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
    if kind != "Figure" and not hasattr(ax, "handle"):
        matplotlib.pyplot.close(ax.figure)
    return drawn


def _drawn_by(draw):
    """The drawing that ``draw(ax, image, weights, query_tokens, key_tokens)`` makes."""
    def mistaken(ref, weights, query_tokens, key_tokens):
        import matplotlib.pyplot as plt

        from types import SimpleNamespace

        def plot(w, q, k):
            _, ax = plt.subplots()
            return draw(ax, w.double().numpy(), q, k)
        return _drawing(SimpleNamespace(visualize=SimpleNamespace(plot_attention=plot)), weights, query_tokens,
                        key_tokens)
    return mistaken


def _transposed(ax, w, q, k):
    ax.figure.colorbar(ax.imshow(w.T), ax=ax)
    ax.set_xticks(range(len(q)), labels=q)
    ax.set_yticks(range(len(k)), labels=k)
    return ax


def _without_colorbar(ax, w, q, k):
    ax.imshow(w)
    ax.set_xticks(range(len(k)), labels=k)
    ax.set_yticks(range(len(q)), labels=q)
    return ax


def _labels_without_ticks(ax, w, q, k):
    ax.figure.colorbar(ax.imshow(w), ax=ax)
    ax.set_xticklabels(k)
    ax.set_yticklabels(q)
    return ax


def _figure(ref, weights, query_tokens, key_tokens):
    return {"returns": "Figure"}


PLOT_PROBES = (probe(torch.tensor([[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]]), ["q0", "q1"], ["k0", "k1", "k2"]),
               probe(torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]]), ["a", "b", "c"], ["x", "y"]))


def _plot_entry(id, explanation, mistaken):
    return Misconception(id, "visualize.plot_attention", explanation, run=_drawing, mistaken=mistaken,
                         probes=PLOT_PROBES)


# --- the catalogue ----------------------------------------------------------------------------

MISCONCEPTIONS = (
    _sdpa_entry("sdpa.missing_scale", "your scores are not multiplied by 1/√d_k (d_k: the query/key "
                "width) when no scale is given; scale them before the softmax",
                _with_scale(lambda q, v: 1.0)),
    _sdpa_entry("sdpa.scale_by_d", "your scores are divided by d_k instead of √d_k",
                _with_scale(lambda q, v: 1 / q.shape[-1])),
    _sdpa_entry("sdpa.scale_uses_value_dim", "your default scale uses the value width E_v instead of "
                "the query/key width E: the scale is 1/√E", _with_scale(lambda q, v: 1 / math.sqrt(v.shape[-1]))),
    _sdpa_entry("sdpa.ignores_scale_arg", "your function ignores the `scale` argument and always uses "
                "1/√d_k", lambda ref, q, k, v, mask=None, scale=None: _sdpa(ref, q, k, v, mask=mask)),
    _sdpa_entry("sdpa.softmax_wrong_dim", "your weights match a softmax over the query dimension "
                "(dim -2); softmax goes over the keys (dim -1), so each row sums to 1", _softmax_over_queries),
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
                  detect=_reaches_forbidden(_sdpa, SDPA_PROBES[1])),
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
    _mha_entry("mha.scale_by_d_model", "your heads scale their scores by 1/√d_model; each head scales "
               "by 1/√head_dim (head_dim = d_model / n_heads)", scale_by="model"),
    _mha_entry("mha.head_split_without_transpose", "you reshape straight to (B, n_heads, L, head_dim) "
               "without moving the head dimension, which mixes positions across heads; view as "
               "(B, L, n_heads, head_dim), then transpose(1, 2)", transpose=False),
    _mha_entry("mha.missing_out_proj", "you never apply out_proj to the concatenated heads",
               out_proj=False),
    _mha_entry("mha.returns_averaged_weights", "you return the weights averaged over the heads, "
               "(B, L, S); return the per-head weights (B, n_heads, L, S)", average=True),
    _mha_entry("mha.value_defaults_to_query", "when value is None you use the query; value defaults to "
               "the key", value_default="query"),
    _mha_entry("mha.nan_fully_masked", "a query row whose mask allows no key becomes NaN; it must get "
               "zero weights (its output is then out_proj's bias)", nan_dead_rows=True),
    Misconception("mha.ignores_bias_flag", MHA, "your projections always have a bias, whatever `bias` "
                  "says; pass bias=bias to each nn.Linear", run=_mha_parameter_names, mistaken=_always_biased,
                  probes=(probe(4, 2, False), probe(4, 2, True))),
    Misconception("mha.forbidden_builtin", MHA, "your MultiHeadAttention reaches a built-in attention "
                  "function (nn.MultiheadAttention, F.multi_head_attention_forward or "
                  "F.scaled_dot_product_attention, directly or through a function it calls); this "
                  "exercise must be written from scratch", detect=_reaches_forbidden(_mha, MHA_PROBES[0])),
    Misconception("masks.causal_excludes_diagonal", "attention.causal_mask", "your causal mask hides each "
                  "token from itself; the diagonal (j == i) is allowed", run=_causal,
                  mistaken=lambda ref, n: _distance(n) > 0, probes=(probe(1), probe(3), probe(4))),
    Misconception("masks.causal_upper", "attention.causal_mask", "your causal mask lets tokens see the "
                  "future instead of the past; query i may attend key j iff j <= i (lower triangle)",
                  run=_causal, mistaken=lambda ref, n: _distance(n) <= 0, probes=(probe(1), probe(3), probe(4))),
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
    Misconception("tokenizer.tiebreak_largest", "tokenizer.BPETokenizer", "training breaks count ties by "
                  "the largest pair; on a tie take the smallest (left_id, right_id)", run=_merges,
                  mistaken=_trained_with(tiebreak="largest"), probes=TRAIN_PROBES),
    Misconception("tokenizer.tiebreak_first_seen", "tokenizer.BPETokenizer", "training breaks count ties "
                  "by the pair seen first; on a tie take the smallest (left_id, right_id)", run=_merges,
                  mistaken=_trained_with(tiebreak="first_seen"), probes=TRAIN_PROBES),
    Misconception("tokenizer.non_overlapping_counts", "tokenizer.BPETokenizer", "training counts pair "
                  "occurrences without overlap (`aaa` holds (a, a) once); count every adjacent pair, "
                  "overlapping ones included", run=_merges, mistaken=_trained_with(overlapping=False),
                  probes=TRAIN_PROBES),
    Misconception("tokenizer.merges_single_pairs", "tokenizer.BPETokenizer", "training keeps merging "
                  "pairs that occur once; stop when the best count is below 2", run=_merges,
                  mistaken=_trained_with(min_count=1), probes=TRAIN_PROBES),
    Misconception("tokenizer.pairs_cross_specials", "tokenizer.BPETokenizer", "training joins the pieces "
                  "between special tokens, so pairs cross them; no pair may span a special token",
                  run=_merges, mistaken=_trained_with(join_pieces=True), probes=TRAIN_PROBES),
    Misconception("tokenizer.specials_not_atomic", "tokenizer.BPETokenizer", "special-token strings are "
                  "encoded as ordinary bytes; each occurrence must become the special token's id",
                  run=_encode, mistaken=_encode_specials_as_bytes, probes=ENCODE_PROBES),
    Misconception("tokenizer.shorter_special_wins", "tokenizer.BPETokenizer", "specials are matched in "
                  "the order given, so a shorter one can win; where two start at the same place the "
                  "longer one wins", run=_encode, mistaken=_encode_specials_in_given_order,
                  probes=ENCODE_PROBES),
    Misconception("tokenizer.merges_by_position", "tokenizer.BPETokenizer", "encode merges the leftmost "
                  "mergeable pair first; it must apply the merge that comes earliest in `merges`",
                  run=_encode, mistaken=_encode_leftmost_first, probes=ENCODE_PROBES),
    Misconception("tokenizer.eos_at_start", "tokenizer.BPETokenizer", "add_eos puts <eos> first; it goes "
                  "last", run=_encode, mistaken=_encode_eos_first, probes=ENCODE_PROBES),
    Misconception("tokenizer.specials_before_bytes", "tokenizer.BPETokenizer", "your special tokens take "
                  "ids 0.. before the bytes; bytes are 0..255 and specials follow from 256",
                  run=_encode, mistaken=_encode_specials_first, probes=ENCODE_PROBES),
    Misconception("tokenizer.decode_strict_errors", "tokenizer.BPETokenizer", "decode fails on ids that "
                  "split a UTF-8 character; decode with errors=\"replace\"", run=_decode,
                  mistaken=_decode_with(joined=True, errors="strict"), probes=DECODE_PROBES),
    Misconception("tokenizer.decode_per_token", "tokenizer.BPETokenizer", "decode turns each token's bytes "
                  "into text on its own, so a character split over tokens is lost; join all the bytes "
                  "first, then decode once", run=_decode, mistaken=_decode_with(joined=False, errors="replace"),
                  probes=DECODE_PROBES),
    Misconception("tokenizer.pad_left", "tokenizer.BPETokenizer", "pad_batch pads on the left; pad on the "
                  "right (real tokens first)", run=_pad, mistaken=_pad_left,
                  probes=(probe([[5, 6], [7]]), probe([[1], [2, 3, 4]], 4))),
    Misconception("params.linear_ignores_bias", "parameters.linear_params", "linear_params leaves out "
                  "the bias (d_out more parameters when bias=True)", run=_linear,
                  mistaken=lambda ref, d_in, d_out, bias: d_in * d_out,
                  probes=(probe(4, 3, True), probe(4, 3, False), probe(2, 5, True))),
    Misconception("params.layernorm_weight_only", "parameters.norm_params", "you count LayerNorm as d "
                  "(its weight); it has a weight and a bias, 2d", run=_norm,
                  mistaken=lambda ref, dim, kind: dim, probes=(probe(4, "layernorm"), probe(4, "rmsnorm"))),
    _params_entry("params.swiglu_two_matrices", "ffn_params", "you count a SwiGLU FFN as two matrices; it "
                  "has three (gate, up, down)",
                  lambda p, cfg: p.linear_params(cfg.d_model, cfg.d_ff, cfg.bias) if cfg.ffn == "swiglu" else 0),
    _params_entry("params.tied_head_counted", "model_params", "you count the LM head although it is tied "
                  "to the token embedding (tie_embeddings: it adds nothing)",
                  lambda p, cfg: -cfg.d_model * cfg.vocab_size if cfg.tie_embeddings else 0),
    _params_entry("params.position_table_missing", "model_params", "you leave out the learned position "
                  "table (max_seq_len x d_model when max_seq_len > 0)",
                  lambda p, cfg: cfg.max_seq_len * cfg.d_model),
    _params_entry("params.final_norm_missing", "model_params", "you leave out the final norm after the "
                  "last block", lambda p, cfg: p.norm_params(cfg.d_model, cfg.norm)),
    _params_entry("params.block_one_norm", "block_params", "you count one norm per block; a pre-norm block "
                  "has two (one before attention, one before the FFN)",
                  lambda p, cfg: p.norm_params(cfg.d_model, cfg.norm)),
    Misconception("complexity.flops_missing_factor_2", "complexity.attention_matmul_flops", "you count a "
                  "multiply-add as one operation; it is 2 FLOPs", run=_flops,
                  mistaken=lambda ref, *s: _flops(ref, *s) // 2, probes=FLOPS_PROBES),
    Misconception("complexity.flops_dk_only", "complexity.attention_matmul_flops", "you use d_k for both "
                  "products; the weighted sum uses d_v", run=_flops,
                  mistaken=lambda ref, L, S, dk, dv: _flops(ref, L, S, dk, dk), probes=FLOPS_PROBES),
    Misconception("complexity.flops_returns_float", "complexity.attention_matmul_flops", "the count is "
                  "right but a float; return an int", run=_flops,
                  mistaken=lambda ref, *s: float(_flops(ref, *s)), probes=FLOPS_PROBES),
    Misconception("complexity.fit_without_logs", "complexity.fit_power_law", "you fit a straight line to "
                  "the raw sizes and times; a power law is a line between their logarithms", run=_fit,
                  mistaken=_raw_line_fit, probes=FIT_PROBES),
    Misconception("complexity.fit_log_coefficient", "complexity.fit_power_law", "you return the fitted "
                  "intercept log(coefficient); return the coefficient itself, exp(intercept)", run=_fit,
                  mistaken=_log_coefficient, probes=FIT_PROBES),
    _plot_entry("plot.transposed", "you draw the weights transposed (keys on the y axis); query i is "
                "row i, key j column j", _drawn_by(_transposed)),
    _plot_entry("plot.no_colorbar", "your heatmap has no colorbar; add one (fig.colorbar(image, ax=ax))",
                _drawn_by(_without_colorbar)),
    _plot_entry("plot.ticklabels_without_ticks", "you set tick labels without tick positions, so they "
                "land on matplotlib's default ticks; use ax.set_xticks(range(S), labels=...)",
                _drawn_by(_labels_without_ticks)),
    _plot_entry("plot.returns_figure_not_axes", "you return the figure; return the Axes you drew on",
                _figure),
)

def _weights(run):
    """``run``'s attention weights (its second result)."""
    @functools.wraps(run)
    def weights(m, *args, **kwargs):
        return run(m, *args, **kwargs)[1]
    return weights


def _heatmap(function, run, probes):
    return Figure(function, _weights(run), probes, title="Attention weights", rows="query", columns="key")


FIGURES = (_heatmap(SDPA, _sdpa, SDPA_PROBES), _heatmap(TOPK, _topk, TOPK_PROBES), _heatmap(MHA, _mha, MHA_PROBES))
