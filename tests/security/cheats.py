"""Cheat routes to a forbidden function: each a submission whose answers are right, reached the wrong way.

A cheat is the reference's student modules with ``snippet`` appended to ``module`` (a ``def`` or
``class`` rebinds the name, so only that exercise's code changes). Each one computes its answers
with a function the exercise forbids, by one route, so that without the from-scratch rule it would
earn full marks; with it, the exercise must score 0 and the message must name what was reached
(``reaches``, a regex). Every other exercise keeps its points.

Routes: an alias imported at module level, ``getattr`` with a name built at run time, an ATen
overload through ``torch.ops.aten`` (with the mask made additive, as the math kernel wants),
``torch._C._nn``, ``DisableTorchFunction``, ``DisableTorchFunctionSubclass``, torch-function and
dispatch modes popped, code compiled from a string, ``importlib`` of a torch internal, a worker
thread, a thread started at import that switches torch functions off, a forked process, torch's RecordFunction switched off together with the rest, a
MultiHeadAttention built on ``nn.MultiheadAttention`` under ``DisableTorchFunction``, one run
through ``torch.func.functional_call``, and top-k attention handing its mask to the built-in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cheat:
    name: str
    exercise: str  # the exercise whose function it replaces
    snippet: str  # appended to attention.py
    reaches: str  # regex: what the message names
    module: str = "attention"
    gradients: bool = True  # its answers carry the autograd graph (all but the forked process's)

    @property
    def costs(self) -> tuple[str, ...]:
        """The exercises that score 0: its own, and those whose reference code calls the function
        it replaced (top-k attention and MultiHeadAttention call the module's attention)."""
        return ("sdpa", "topk", "mha") if self.exercise == "sdpa" else (self.exercise,)


SDPA_NAMES = r"scaled_dot_product_attention|aten::_?scaled_dot_product"
MHA_NAMES = r"multi_head_attention_forward|MultiheadAttention"


def _sdpa(attend: str, imports: str = "", around: str = "") -> str:
    """A scaled_dot_product_attention whose output and weights come from ``attend`` (an expression
    for a function with F.scaled_dot_product_attention's signature): the weights are its output
    on the identity matrix as values. ``around`` wraps the two calls (a ``with`` header)."""
    body = ("out = attend(query, key, value, attn_mask=mask, scale=scale)\n"
            "weights = attend(query, key, eye, attn_mask=mask, scale=scale)\n")
    if around:
        body = f"with {around}:\n" + "".join(f"    {line}\n" for line in body.splitlines())
    return f'''
{imports}

def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    attend = {attend}
    eye = torch.eye(key.shape[-2], dtype=query.dtype)
''' + "".join(f"    {line}\n" for line in body.splitlines()) + "    return out, weights\n"


def _mha(attend: str, imports: str = "") -> str:
    """A MultiHeadAttention with the four projections asked for, whose ``forward`` gets ``out``
    and per-head ``weights`` from ``attend`` (code using ``blocked``, the mask as (B, H, L, S)
    True-means-blocked with fully blocked rows opened; it closes them again, and computes the
    output from the weights and the value projection)."""
    return f'''
{imports}

class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError("n_heads must divide d_model")
        self.n_heads = n_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            nn.Linear(d_model, d_model, bias=bias) for _ in range(4))

    def forward(self, query, key=None, value=None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        (B, L, C), S, H = query.shape, key.shape[1], self.n_heads
        bias, projections = self.q_proj.bias is not None, (self.q_proj, self.k_proj, self.v_proj)
        allowed = torch.ones(B, H, L, S, dtype=torch.bool) if mask is None else mask.expand(B, H, L, S)
        empty = ~allowed.any(-1, keepdim=True)  # rows with no key: attended in full, then zeroed
        blocked = ~(allowed | empty)
{attend}
        weights = weights.reshape(B, H, L, S).masked_fill(empty, 0.0)
        v = self.v_proj(value).view(B, S, H, C // H).transpose(1, 2)
        return self.out_proj((weights @ v).transpose(1, 2).reshape(B, L, C)), weights
'''


CHEATS = [
    Cheat("alias", "sdpa", _sdpa("_attend", "from torch.nn.functional import scaled_dot_product_attention as _attend"),
          SDPA_NAMES),
    Cheat("built_name", "sdpa", _sdpa('getattr(importlib.import_module("torch.nn." + "functional"), '
                                      '"scaled_dot_" + "product_attention")', "import importlib"), SDPA_NAMES),
    Cheat("aten_overload", "sdpa", '''
def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    additive = None
    if mask is not None:  # the math kernel takes an additive mask
        additive = torch.zeros(mask.shape, dtype=query.dtype).masked_fill(~mask, float("-inf"))
    with torch._C.DisableTorchFunction():
        out, weights = torch.ops.aten._scaled_dot_product_attention_math.default(
            query, key, value, attn_mask=additive, scale=scale)
    return out, weights
''', r"aten::_scaled_dot_product_attention_math"),
    Cheat("torch_c_nn", "sdpa", _sdpa("torch._C._nn.scaled_dot_product_attention"), SDPA_NAMES),
    Cheat("disable_torch_function", "sdpa",
          _sdpa("torch.nn.functional.scaled_dot_product_attention", around="torch._C.DisableTorchFunction()"),
          r"aten::scaled_dot_product_attention"),
    Cheat("disable_torch_function_subclass", "sdpa",
          _sdpa("torch.nn.functional.scaled_dot_product_attention",
                around="torch._C.DisableTorchFunctionSubclass()"), SDPA_NAMES),
    Cheat("popped_modes", "sdpa", '''
import contextlib

@contextlib.contextmanager
def _unwatched():
    """Take every torch-function mode off its stack, switch dispatch modes off, put it all back."""
    modes = [torch._C._pop_torch_function_stack() for _ in range(torch._C._len_torch_function_stack())]
    try:
        with torch._C._DisableTorchDispatch():
            yield
    finally:
        for mode in reversed(modes):
            torch._C._push_on_torch_function_stack(mode)
''' + _sdpa("torch.nn.functional.scaled_dot_product_attention", around="_unwatched()"),
          r"aten::scaled_dot_product_attention"),
    Cheat("compiled_string", "sdpa", '''
_SOURCE = "import torch.nn.functional as F\\nattend = getattr(F, 'scaled_dot_product_attention')\\n"
''' + _sdpa('_compiled()', around="") + '''

def _compiled():
    namespace = {}
    exec(compile(_SOURCE, "<string>", "exec"), namespace)
    return namespace["attend"]
''', SDPA_NAMES),
    Cheat("thread", "sdpa", _sdpa("_in_a_thread", '''
import concurrent.futures
import torch.nn.functional as F

_pool = concurrent.futures.ThreadPoolExecutor(1)

def _in_a_thread(*args, **kwargs):
    return _pool.submit(F.scaled_dot_product_attention, *args, **kwargs).result()
'''), SDPA_NAMES),
    Cheat("thread_started_at_import", "sdpa", _sdpa("_served", '''
import queue
import threading
import torch.nn.functional as F

_requests = queue.Queue()

def _serve():
    """Started at import, before any call is watched: computes with torch functions switched off."""
    while True:
        args, kwargs, answer = _requests.get()
        with torch._C.DisableTorchFunction():
            answer.put(F.scaled_dot_product_attention(*args, **kwargs))

threading.Thread(target=_serve, daemon=True).start()

def _served(*args, **kwargs):
    answer = queue.Queue()
    _requests.put((args, kwargs, answer))
    return answer.get()
'''), SDPA_NAMES),
    Cheat("everything_off", "sdpa", '''
import contextlib

@contextlib.contextmanager
def _unwatched():
    """Every switch there is: torch functions, the modes' stack, dispatch, RecordFunction."""
    modes = [torch._C._pop_torch_function_stack() for _ in range(torch._C._len_torch_function_stack())]
    torch.autograd._enable_record_function(False)
    try:
        with torch._C.DisableTorchFunction(), torch._C._DisableTorchDispatch():
            yield
    finally:
        torch.autograd._enable_record_function(True)
        for mode in reversed(modes):
            torch._C._push_on_torch_function_stack(mode)
''' + _sdpa("torch.nn.functional.scaled_dot_product_attention", around="_unwatched()"),
          r"aten::scaled_dot_product_attention"),
    Cheat("topk_builtin", "topk", '''
import torch.nn.functional as F

def top_k_attention(query, key, value, k, mask=None, scale=None):
    if k < 1:
        raise ValueError("k must be >= 1")
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    with torch.no_grad():
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        kth = scores.topk(min(k, scores.shape[-1]), dim=-1).values[..., -1:]
        keep = scores >= kth
        if mask is not None:
            keep = keep & mask
    eye = torch.eye(key.shape[-2], dtype=query.dtype)
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=keep, scale=scale)
    weights = F.scaled_dot_product_attention(query, key, eye, attn_mask=keep, scale=scale)
    return out, weights
''', SDPA_NAMES),
    Cheat("nn_multihead_attention", "mha", _mha('''
        builtin = nn.MultiheadAttention(C, H, bias=bias, batch_first=True)
        with torch._C.DisableTorchFunction():
            builtin.in_proj_weight = nn.Parameter(torch.cat([p.weight for p in projections]))
            if bias:
                builtin.in_proj_bias = nn.Parameter(torch.cat([p.bias for p in projections]))
            builtin.out_proj = self.out_proj
            weights = builtin(query, key, value, attn_mask=blocked.reshape(B * H, L, S),
                              need_weights=True, average_attn_weights=False)[1]
'''), MHA_NAMES),
    Cheat("functional_call", "mha", _mha('''
        builtin = nn.MultiheadAttention(C, H, bias=bias, batch_first=True)
        params = {"in_proj_weight": torch.cat([p.weight for p in projections]),
                  "out_proj.weight": self.out_proj.weight}
        if bias:
            params.update({"in_proj_bias": torch.cat([p.bias for p in projections]),
                           "out_proj.bias": self.out_proj.bias})
        weights = torch.func.functional_call(
            builtin, params, (query, key, value),
            {"attn_mask": blocked.reshape(B * H, L, S), "need_weights": True, "average_attn_weights": False})[1]
''', "import torch.func"), MHA_NAMES),
    Cheat("importlib_internals", "mha", _mha('''
        attend = importlib.import_module("torch._decomp.decompositions").scaled_dot_product_flash_attention_for_cpu
        q, k, v = (p(x).view(B, -1, H, C // H).transpose(1, 2) for p, x in zip(projections, (query, key, value)))
        additive = torch.zeros(blocked.shape, dtype=q.dtype).masked_fill(blocked, float("-inf"))
        with torch._C.DisableTorchFunction():
            weights = attend(q, k, v, attn_mask=additive)[1]
''', "import importlib"), r"scaled_dot_product_flash_attention_for_cpu"),
    Cheat("forked_process", "sdpa", _sdpa("_in_a_child", '''
import os
import pickle
import torch.nn.functional as F

def _in_a_child(*args, **kwargs):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, pickle.dumps(F.scaled_dot_product_attention(*args, **kwargs).detach()))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        result = pickle.loads(answer.read())
    os.waitpid(pid, 0)
    return result
'''), r"forked a process", gradients=False),
]
