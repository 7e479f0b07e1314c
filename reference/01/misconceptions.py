"""Assignment 01's private catalogue of misconceptions: the mistakes only the reference can show
(see grader.grading.diagnose), named in grading. Never shipped to students.

Each entry names the student function it concerns, says the mistake in plain words, and either
computes the reference *with that mistake* on a few probe inputs chosen to tell mistakes apart
(non-square shapes so softmax dimensions differ, ties for tie-breaks, rows with no allowed key),
or is a predicate for mistakes no output shows (a forbidden built-in). The grader names a
mistake only when the student's values equal the mistaken ones on every probe and differ from
the reference's on at least one. ``MISCONCEPTIONS`` at the end is this part of the catalogue:
each id with its plain words; the mistakes public data can show (attention, top-k, masks,
positional encoding) are in ``public_misconceptions.py``, shipped with the stubs and named in a
student's own run too. ``FIGURES`` lists the functions returning attention weights, drawn as
heatmaps (query rows, key columns) on the feedback page.
"""

import functools
import math
from collections import Counter
from pathlib import Path

import torch

from grader.grading.diagnose import Figure, Misconception, catalogue_module, probe, reaches_forbidden
from grader.testing import named

PUBLIC = catalogue_module(Path(__file__).with_name("public_misconceptions.py"))
Attention, sdpa, topk = PUBLIC.Attention, PUBLIC.sdpa, PUBLIC.topk
probe_values, probe_mask = PUBLIC.probe_values, PUBLIC.probe_mask
SDPA, TOPK, MHA = PUBLIC.SDPA, PUBLIC.TOPK, "attention.MultiHeadAttention"
SPECIALS = ("<pad>", "<bos>", "<eos>")
Padded, Fit = named("ids", "mask", name="Padded"), named("exponent", "coefficient", name="Fit")  # results


# --- multi-head attention ---------------------------------------------------------------------

def _mha_params(d, seed):
    g = torch.Generator().manual_seed(seed)
    return {f"{name}.{part}": (torch.rand(*((d, d) if part == "weight" else (d,)), generator=g) - 0.5)
            for name in ("q_proj", "k_proj", "v_proj", "out_proj") for part in ("weight", "bias")}


def _mha(m, params, n_heads, query, key=None, value=None, mask=None):
    d = query.shape[-1]
    module = m.attention.MultiHeadAttention(d, n_heads, bias=True)
    module.load_state_dict(params)
    return Attention.of(module(query, key, value, mask))




_P = _mha_params(4, seed=12)
_MQ, _MK, _MV = (probe_values(2, 3, 4, seed=13, dtype=torch.float32),
                 probe_values(2, 4, 4, seed=14, dtype=torch.float32),
                 probe_values(2, 4, 4, seed=15, dtype=torch.float32))
MHA_PROBES = (
    probe(_P, 2, _MQ),
    probe(_P, 2, _MQ, _MK, _MV, mask=probe_mask(2, 1, 3, 4, seed=16)),
    probe(_P, 2, _MQ, _MK[:, :3]),
    probe(_P, 1, _MQ, _MK, _MV, mask=probe_mask(3, 4, seed=17, dead_row=True)),
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
    y, weights = sdpa(ref, q, k, v, mask=mask, scale=1 / math.sqrt(C if scale_by == "model" else D))
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
    return Padded.of(tuple(m.tokenizer.BPETokenizer().pad_batch(sequences, max_len)))


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


def _flops(m, q_len, kv_len, d_k, d_v):
    return m.complexity.attention_matmul_flops(q_len, kv_len, d_k, d_v)


FLOPS_PROBES = (probe(1, 1, 1, 1), probe(3, 5, 4, 2))


def _fit(m, sizes, times):
    return Fit.of(tuple(m.complexity.fit_power_law(sizes, times)))


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


MISCONCEPTIONS = (
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
                  "exercise must be written from scratch",
                  detect=reaches_forbidden(_mha, MHA_PROBES[0], "no built-in attention function")),
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


FIGURES = (_heatmap(SDPA, sdpa, PUBLIC.SDPA_PROBES), _heatmap(TOPK, topk, PUBLIC.TOPK_PROBES),
           _heatmap(MHA, _mha, MHA_PROBES))
