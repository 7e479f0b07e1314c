"""The data-only channel between the grader and the untrusted worker.

Values cross as tagged JSON: nothing is ever unpickled, every size is bounded, and the parser
raises :class:`WireError` (never anything else) on malformed, truncated, oversized or too deeply
nested input. Tensors cross as ``(dtype, shape, base64 bytes)``; NumPy arrays and scalars become
tensors and numbers on the sending side; a ``torch.dtype`` crosses as its name. A CPU
``torch.Generator`` crosses as its state: the other side gets a new generator in the same state,
so it draws what the sender's would have drawn next; the sender's own generator does not advance
(``sample(logits, generator=g)`` called through the channel twice with the same ``g`` draws the
same tokens twice).

Encodings (``v`` a value):

    None, bool, int, float, str   -> themselves (floats may be NaN / inf; subclasses lose their type;
                                     a decoded str is always valid UTF-8: a lone surrogate becomes "?")
    list / tuple / dict / bytes   -> {"l": [v...]} / {"u": [v...]} / {"d": [[k, v]...]} / {"b": b64}
    torch.Tensor                  -> {"T": [dtype, shape, b64]}
    torch.dtype                   -> {"D": "float64"}  (the dtypes tensors may have)
    torch.Generator (CPU)         -> {"G": ["cpu", b64 of get_state()]}
    an object held by the worker  -> {"H": [handle_id, type_name]}  (decoded as :class:`Handle`)

Example: ``decode(encode([1, (2.5, "a")]))`` -> ``[1, (2.5, "a")]``.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any


class WireError(ValueError):
    """A message that is not well-formed plain data within the limits."""


@dataclass(frozen=True)
class Limits:
    """Bounds the parser enforces on every message."""

    max_message_bytes: int = 256 * 1024 * 1024  # one framed message
    max_depth: int = 64  # nesting of lists / tuples / dicts
    max_items: int = 1_000_000  # containers' elements, summed over a message
    max_tensor_elements: int = 32 * 1024 * 1024  # per tensor


@dataclass(frozen=True)
class Handle:
    """A reference to an object that stays inside the worker (a module instance, an Axes)."""

    id: int
    type_name: str


DEFAULT_LIMITS = Limits()

_DTYPES = (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
)


def _torch():
    import torch

    return torch


def encode(value: Any, handle_of=None) -> bytes:
    """Serialise plain data to bytes; ``handle_of(obj) -> Handle`` stands in for anything else.

    Without ``handle_of``, a value that is not plain data raises :class:`WireError`.
    """
    return json.dumps(_to_json(value, handle_of, 0), separators=(",", ":")).encode()


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse bytes made by :func:`encode`; raises :class:`WireError` on anything else."""
    if len(data) > limits.max_message_bytes:
        raise WireError(f"message of {len(data)} bytes exceeds {limits.max_message_bytes}")
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise WireError(f"not a well-formed message: {exc}") from None
    budget = [limits.max_items]
    return _from_json(tree, limits, 0, budget)


def _to_json(value: Any, handle_of, depth: int) -> Any:
    if depth > DEFAULT_LIMITS.max_depth:
        raise WireError("value nested too deeply")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, Handle):
        return {"H": [value.id, value.type_name]}
    kind = type(value)
    if isinstance(value, tuple):
        return {"u": [_to_json(v, handle_of, depth + 1) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return {"l": [_to_json(v, handle_of, depth + 1) for v in list.__iter__(value)]}
    if isinstance(value, dict):
        return {"d": [[_to_json(k, handle_of, depth + 1), _to_json(v, handle_of, depth + 1)]
                      for k, v in dict.items(value)]}
    if kind in (bytes, bytearray):
        return {"b": base64.b64encode(bytes(value)).decode()}
    if type(value).__module__ == "numpy" and _numpy_scalar(value) is not None:
        return _to_json(_numpy_scalar(value), None, depth)
    tensor = _as_plain_tensor(value)
    if tensor is not None:
        return {"T": _tensor_to_json(tensor)}
    if kind.__module__.startswith("torch") and kind is _torch().dtype:
        name = str(value).removeprefix("torch.")
        if name not in _DTYPES:
            raise WireError(f"dtype {name} cannot cross the channel")
        return {"D": name}
    if kind.__module__.startswith("torch") and kind is _torch().Generator:
        return {"G": _generator_to_json(value)}
    if handle_of is None:
        raise WireError(f"{kind.__name__} is not plain data")
    return _to_json(handle_of(value), None, depth)


def _as_plain_tensor(value: Any):
    """A tensor of exactly the torch.Tensor type, from a tensor, Parameter or NumPy array."""
    module = type(value).__module__
    if module == "numpy":
        import numpy as np

        if type(value) is np.ndarray and value.dtype.name in _DTYPES:
            return _torch().from_numpy(np.ascontiguousarray(value))
        return None
    if not module.startswith("torch"):
        return None
    torch = _torch()
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        return None
    return value.detach()


def _numpy_scalar(value: Any):
    """The Python number a NumPy scalar (np.float32(1.5), np.int64(3), np.bool_) stands for."""
    import numpy as np

    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    return None


def _tensor_to_json(tensor) -> list:
    torch = _torch()
    tensor = tensor.cpu().contiguous()
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise WireError(f"tensor dtype {dtype} cannot cross the channel")
    flat = tensor.reshape(-1)
    raw = flat.to(torch.uint8) if tensor.dtype == torch.bool else flat.view(torch.uint8)
    data = raw.numpy().tobytes() if tensor.numel() else b""
    return [dtype, list(tensor.shape), base64.b64encode(data).decode()]


def _generator_to_json(generator) -> list:
    if generator.device.type != "cpu":
        raise WireError(f"a {generator.device.type} generator cannot cross the channel (only CPU ones)")
    state = generator.get_state().numpy().tobytes()
    return ["cpu", base64.b64encode(state).decode()]


def _from_json(tree: Any, limits: Limits, depth: int, budget: list) -> Any:
    if depth > limits.max_depth:
        raise WireError("message nested too deeply")
    if isinstance(tree, str):
        return _utf8(tree)
    if tree is None or isinstance(tree, (bool, int, float)):
        return tree
    if not isinstance(tree, dict) or len(tree) != 1:
        raise WireError("malformed value")
    (tag, body), = tree.items()
    if tag in ("l", "u"):
        _spend(budget, _list(body))
        items = [_from_json(v, limits, depth + 1, budget) for v in body]
        return items if tag == "l" else tuple(items)
    if tag == "d":
        out = {}
        for pair in _list(body):
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = _from_json(pair[0], limits, depth + 1, _spend(budget, pair))
            try:
                hash(key)
            except TypeError:
                raise WireError("unhashable dict key") from None
            out[key] = _from_json(pair[1], limits, depth + 1, budget)
        return out
    if tag == "b":
        return _b64(body)
    if tag == "T":
        return _tensor_from_json(body, limits)
    if tag == "D":
        if body not in _DTYPES:
            raise WireError(f"unknown dtype {str(body)[:40]!r}")
        return getattr(_torch(), body)
    if tag == "G":
        return _generator_from_json(body)
    if tag == "H":
        if (not isinstance(body, list) or len(body) != 2 or type(body[0]) is not int
                or not isinstance(body[1], str)):
            raise WireError("malformed handle")
        return Handle(body[0], _utf8(body[1][:200]))
    raise WireError(f"unknown tag {tag!r}")


def _utf8(text: str) -> str:
    """``text``, with what UTF-8 cannot hold (a lone surrogate from a ``\\ud800`` escape) as "?"."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _list(body: Any) -> list:
    if not isinstance(body, list):
        raise WireError("malformed container")
    return body


def _spend(budget: list, body: Any) -> list:
    budget[0] -= len(body) if isinstance(body, list) else 1
    if budget[0] < 0:
        raise WireError("message holds too many items")
    return budget


def _b64(body: Any) -> bytes:
    if not isinstance(body, str):
        raise WireError("malformed bytes")
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        raise WireError("malformed base64") from None


def _tensor_from_json(body: Any, limits: Limits):
    if not isinstance(body, list) or len(body) != 3:
        raise WireError("malformed tensor")
    dtype_name, shape, data = body
    if dtype_name not in _DTYPES:
        raise WireError(f"unknown tensor dtype {dtype_name!r}")
    if not isinstance(shape, list) or len(shape) > 16 or not all(
            type(n) is int and 0 <= n for n in shape):
        raise WireError("malformed tensor shape")
    numel, span = 1, 1  # span: the size without its zero dimensions, which bounds every stride
    for n in shape:
        numel, span = numel * n, span * max(n, 1)
    if span > limits.max_tensor_elements:
        raise WireError(f"tensor of shape {shape} exceeds {limits.max_tensor_elements} elements")
    torch = _torch()
    dtype = getattr(torch, dtype_name)
    itemsize = 1 if dtype == torch.bool else torch.empty((), dtype=dtype).element_size()
    raw = _b64(data)
    if len(raw) != numel * itemsize:
        raise WireError(f"tensor data holds {len(raw)} bytes, shape {shape} needs {numel * itemsize}")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    flat = flat.to(torch.bool) if dtype == torch.bool else flat.view(dtype)
    return flat.reshape(shape)


def _generator_from_json(body: Any):
    if not isinstance(body, list) or len(body) != 2 or body[0] != "cpu":
        raise WireError("malformed generator")
    raw = _b64(body[1])
    if len(raw) > 1 << 16:
        raise WireError(f"generator state of {len(raw)} bytes is too large")
    torch = _torch()
    generator = torch.Generator()
    try:
        generator.set_state(torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw
                            else torch.empty(0, dtype=torch.uint8))
    except Exception as exc:  # noqa: BLE001 - whatever torch thinks of the bytes, it is malformed
        raise WireError(f"malformed generator state: {str(exc)[:200]}") from None
    return generator


def request_label(request: dict) -> str:
    """What a request calls, for messages: ``example.scale``, or a handle's ``forward``."""
    target = request.get("target") or {}
    path = ".".join(target.get("path", []))
    if "module" in target:
        return f"{target['module']}.{path}"
    return path or "the submission"


# --- framing: a 4-byte big-endian length, then the message -------------------------------------

_HEADER = struct.Struct(">I")


def frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its length."""
    return _HEADER.pack(len(payload)) + payload


def payload(framed: bytes) -> bytes:
    """What :func:`frame` prefixed."""
    return framed[_HEADER.size:]


def read_frame(read_exact, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Read one framed message with ``read_exact(n) -> bytes`` (which raises EOFError when short)."""
    (size,) = _HEADER.unpack(read_exact(_HEADER.size))
    if size > limits.max_message_bytes:
        raise WireError(f"message of {size} bytes exceeds {limits.max_message_bytes}")
    return read_exact(size)
