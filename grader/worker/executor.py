"""Runs submission code on request: the untrusted side of every call.

One :class:`Executor` serves one submission folder. It answers requests (plain data, see
:mod:`grader.wire`) of four kinds:

    {"op": "call", "target": T, "args": [...], "kwargs": {...}}   -> the return value
    {"op": "get", "target": T}                                     -> an attribute's value
    {"op": "backward", "target": T, "args", "kwargs", "wrt": [i or name...],
     "grad_output": tensor, "output_index": int or None}          -> {"value", "grads"}
    {"op": "ping"}                                                 -> "pong"
    {"op": "reset"}       -> None (forgets every handle, closes pyplot's figures and reseeds random
                             and torch: a test starts afresh)

A request may say ``"watch": False``: the grading side counts no forbidden call for it, so it is
not watched. A target is ``{"module": "example", "path": ["TinyNet"]}`` or
``{"handle": 3, "path": ["forward"]}``. Replies are ``{"ok": value, "forbidden": [...]}`` or
``{"error": {"type", "message", "traceback"}, "forbidden": [...]}``; ``forbidden`` lists the
names the call reached that contain one of the executor's ``forbidden_calls`` (torch functions,
ATen operators, torch's own Python functions, autograd nodes: see :mod:`grader.worker.tracer`),
and ``tampered``, when present, what the call did to the tracing itself. Which of them count is
decided on the grading side, per test. Values that are not plain data stay here and cross as
handles.

The submission's modules import each other by plain names (``from layers import RMSNorm``), and
the assignment's given modules too: ``siblings`` maps each such name to ``None`` (the file of the
submission folder) or to a source text (a given module: the grader's copy is the one used, whatever
the folder holds). Every request runs with those names resolved to this submission's modules
(:mod:`grader.worker.siblings`), so a lazy import inside a function works as well.

The same class runs in-process for a student's local ``pytest`` and inside the isolated worker
process for batch grading, so both see identical behaviour. It never reads anything but the
submission folder.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.worker import wire
from grader.worker.siblings import plain_names
from grader.worker.tracer import Tracer

MAX_TRACEBACK_CHARS = 4000


class _CallError(Exception):
    """A request that cannot be carried out, reported to the grader as this type and message."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


class Executor:
    """Loads the modules of ``folder`` lazily and answers requests against them."""

    def __init__(self, folder: str | Path, forbidden_calls: tuple[str, ...] = (),
                 siblings: dict[str, str | None] | None = None):
        self.folder = Path(folder).resolve()
        self.forbidden_calls = tuple(forbidden_calls)
        self._tracer = Tracer(self.forbidden_calls) if self.forbidden_calls else None
        self.siblings = dict(siblings or {})
        self._modules: dict[str, Any] = {}
        self._objects: dict[int, Any] = {}
        self._ids: dict[int, int] = {}
        if str(self.folder) not in sys.path:
            sys.path.append(str(self.folder))  # after site-packages: a torch.py here shadows nothing

    def handle(self, request: Any) -> dict:
        """Answer one decoded request; never raises."""
        watched = self._tracer is not None and not (isinstance(request, dict) and request.get("watch") is False)
        watch = self._tracer.watch() if watched else _Unwatched()
        try:
            if not isinstance(request, dict) or request.get("op") not in _OPS:
                raise _CallError("BadRequest", f"unknown request {str(request)[:100]}")
            with plain_names(self.siblings, self._module):
                value = _OPS[request["op"]](self, request, watch)
            return {"ok": value, **_seen(watch)}
        except _CallError as exc:
            return self._error(exc.type_name, str(exc), "", watch)
        except BaseException as exc:  # noqa: BLE001 - everything the submission raises is its result
            if isinstance(exc, KeyboardInterrupt):
                raise
            if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
                return self._error("FileSizeLimitExceeded", "file size limit reached: the code wrote a "
                                   "file larger than the grader allows", self._student_traceback(exc), watch)
            return self._error(type(exc).__name__, _safe_str(exc), self._student_traceback(exc), watch,
                               [cls.__name__ for cls in type(exc).__mro__[:12]])

    def encode_reply(self, reply: dict) -> bytes:
        """Serialise a reply, keeping objects that are not plain data here as handles."""
        try:
            return wire.encode(reply, self._handle_of)
        except Exception as exc:  # noqa: BLE001 - a value that cannot be serialised fails the call
            error = self._error("UnserialisableResult", _safe_str(exc), "", _Unwatched())
            return wire.encode({**error, **{k: reply[k] for k in ("forbidden", "tampered") if k in reply}})

    # --- requests ----------------------------------------------------------------------------

    def _call(self, request: dict, watch) -> Any:
        function = self._resolve(request.get("target"))
        args, kwargs = self._arguments(request)
        with watch:
            return function(*args, **kwargs)

    def _get(self, request: dict, watch) -> Any:
        with watch:
            return self._resolve(request.get("target"))

    def _backward(self, request: dict, watch) -> dict:
        import torch

        function = self._resolve(request.get("target"))
        args, kwargs = self._arguments(request)
        args = list(args)
        leaves = []
        for key in request.get("wrt", []):
            holder, index = (args, key) if isinstance(key, int) else (kwargs, key)
            holder[index] = holder[index].detach().clone().requires_grad_(True)
            leaves.append(holder[index])
        with watch, torch.enable_grad():
            value = function(*args, **kwargs)
            index = request.get("output_index")
            output = value if index is None else value[index]
            if not isinstance(output, torch.Tensor) or not output.requires_grad:
                raise _CallError("NoGradient", "the output is not connected to the inputs by "
                                 "autograd (was it detached, or computed with NumPy?)")
            watch.graph(value)
            grads = torch.autograd.grad(output, leaves, request.get("grad_output"),
                                        allow_unused=True)
        return {"value": value, "grads": list(grads)}

    def _ping(self, request: dict, watch) -> str:
        return "pong"

    def _reset(self, request: dict, watch) -> None:
        import random

        import torch

        self._objects.clear()
        self._ids.clear()
        random.seed(0)  # a test's answers do not depend on the tests before it
        torch.manual_seed(0)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close("all")  # the figures of earlier tests: no handle reaches them any more

    # --- helpers -----------------------------------------------------------------------------

    def _resolve(self, target: Any) -> Any:
        if not isinstance(target, dict) or not isinstance(target.get("path", []), list):
            raise _CallError("BadRequest", "malformed target")
        if "handle" in target:
            obj = self._objects.get(target["handle"]) if isinstance(target["handle"], int) else None
            if obj is None:
                raise _CallError("BadRequest", f"no object with handle {target['handle']}")
        else:
            obj = self._module(target.get("module"))
        for name in target.get("path", []):
            if not isinstance(name, str):
                raise _CallError("BadRequest", "malformed attribute name")
            try:
                obj = getattr(obj, name)
            except AttributeError:
                where = getattr(obj, "__name__", type(obj).__name__)
                raise _CallError("MissingName", f"{where} has no attribute {name!r}") from None
        return obj

    def _module(self, name: Any) -> Any:
        if not isinstance(name, str) or not name.isidentifier():
            raise _CallError("BadRequest", f"bad module name {name!r}")
        if name not in self._modules:
            self._modules[name] = self._import(name)
        module = self._modules[name]
        if isinstance(module, _CallError):
            raise _CallError(module.type_name, str(module))
        return module

    def _import(self, name: str) -> Any:
        """The module, or the error every call into it fails with (kept: an import that failed
        once fails again, and a test may call a thousand times)."""
        given = self.siblings.get(name)
        path = self.folder / f"{name}.py"
        if given is None and not path.is_file():
            return _CallError("MissingModule", f"{name}.py is missing from the submission")
        private = f"_submission_{id(self)}_{name}"  # registered, as an import would (dataclasses look it up)
        try:
            if given is None:
                spec = importlib.util.spec_from_file_location(private, path)
                module = sys.modules[private] = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                module = sys.modules[private] = ModuleType(private)
                module.__file__ = f"{name}.py"
                exec(compile(given, f"<given file {name}.py>", "exec", dont_inherit=True), module.__dict__)
        except BaseException as exc:  # noqa: BLE001 - an import failure fails the calls into it
            sys.modules.pop(private, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            detail = self._student_traceback(exc)
            return _CallError("ImportFailed", f"{name}.py could not be imported: "
                              f"{type(exc).__name__}: {_safe_str(exc)}\n{detail}")
        return module

    def _arguments(self, request: dict) -> tuple[list, dict]:
        args, kwargs = request.get("args", []), request.get("kwargs", {})
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise _CallError("BadRequest", "malformed arguments")
        return [self._unwrap(a) for a in args], {k: self._unwrap(v) for k, v in kwargs.items()}

    def _unwrap(self, value: Any) -> Any:
        if isinstance(value, wire.Handle):
            return self._resolve({"handle": value.id, "path": []})
        if isinstance(value, list):
            return [self._unwrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._unwrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._unwrap(v) for k, v in value.items()}
        return value

    def _handle_of(self, obj: Any) -> wire.Handle:
        key = id(obj)
        if key not in self._ids:
            self._ids[key] = len(self._objects) + 1
            self._objects[self._ids[key]] = obj
        return wire.Handle(self._ids[key], type(obj).__name__)

    def _error(self, type_name: str, message: str, trace: str, watch, types=()) -> dict:
        """An error reply; ``types`` names the exception's classes, most derived first. Paths
        inside the submission folder are shown relative to it (``example.py``)."""
        inside = f"{self.folder}{os.sep}"
        return {"error": {"type": type_name[:200], "types": [t[:200] for t in types],
                          "message": message.replace(inside, "")[:MAX_TRACEBACK_CHARS],
                          "traceback": trace.replace(inside, "")[-MAX_TRACEBACK_CHARS:]},
                **_seen(watch)}

    def _student_traceback(self, exc: BaseException) -> str:
        """The traceback's frames that lie in the submission folder (where the student can act)."""
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).resolve().is_relative_to(self.folder)]
        return "".join(traceback.format_list(frames[-8:]))


_OPS = {"call": Executor._call, "get": Executor._get, "backward": Executor._backward,
        "ping": Executor._ping, "reset": Executor._reset}


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:MAX_TRACEBACK_CHARS]
    except Exception:  # noqa: BLE001 - a hostile __str__ must not break the reply
        return "<unprintable exception>"


class _Unwatched(contextlib.nullcontext):
    """The watch of an executor with nothing forbidden: sees nothing."""

    hits: frozenset = frozenset()
    tampered: frozenset = frozenset()

    def graph(self, value: Any) -> None:
        pass


def _seen(watch) -> dict:
    """The reply fields saying what a watched call reached (``tampered`` only when something was)."""
    fields = {"forbidden": sorted(watch.hits)}
    if watch.tampered:
        fields["tampered"] = sorted(watch.tampered)
    return fields
