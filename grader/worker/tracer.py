"""What forbidden functions a call into the submission reached, seen in independent layers.

A from-scratch exercise scores 0 when its code reaches a function the assignment forbids. The
assignment names them by substrings of what is reached: an entry ``conv2d`` matches the torch
function ``conv2d`` and the operators ``aten::conv2d`` and ``aten::_slow_conv2d_forward``, an entry
``Conv2d`` the Python function ``torch.nn.modules.conv.Conv2d.forward``. Submission code runs in the process that watches it, so
each mechanism below can be switched off from Python; the layers are independent, so switching
one off leaves the others watching:

    functions  a TorchFunctionMode: torch functions by name, however they were reached (an
               alias, ``getattr`` with a built name, code compiled from a string, a module's
               forward, ``torch.func.functional_call``)
    kernels    the dispatcher's own record of every ATen operator it runs (torch's RecordFunction
               observer, through the CPU profiler): composite operators before they decompose,
               ``torch.ops.aten.*`` and ``torch._C._nn.*`` calls, with torch functions,
               subclasses or dispatch modes switched off; torch's switch of that recording is
               replaced by one that records the attempt
    python     torch's own Python functions whose qualified name matches (a module's
               ``forward``, a functional written in Python over plain operators, a
               decomposition in ``torch._decomp``): their code is swapped in place for a
               trampoline that records the call, so every reference to them reports, in every
               thread and forked process
    graph      the autograd graph of what a gradient is asked of: a node's name, read in snake
               case (``ConvolutionBackward0`` reads ``convolution_backward0``), travels with the
               data, whatever was switched off where it was made
    threads    every thread started after the tracer (whenever the submission started it) runs
               with the function mode pushed and a profile function that reports the builtins
               and ``torch.ops`` operators it calls, even with torch functions switched off
    intact     at the end of every call: each layer still in place (the mode on top of its stack,
               the observer still the grader's and still recording, the trampolines installed),
               and no thread started and no process forked during the call (the kernels layer
               does not follow there). What failed is reported as tampering.

Usage (one call at a time per process)::

    tracer = Tracer(("conv2d",))
    watch = tracer.watch()
    with watch:
        value = function(*args)
        watch.graph(value)                # when a gradient is asked of it
    watch.hits, watch.tampered            # the names reached, what was done to the layers
"""

from __future__ import annotations

import functools
import os
import re
import sys
import types
import warnings
from typing import Any

MAX_GRAPH_NODES = 20_000  # an autograd graph is walked this far (a loop-built graph can be large)
_MARKS = ("grader::start-of-call", "grader::end-of-call")
_thread_modes: list = []  # every tracer's function mode: pushed in each thread started after it
_watching: Watch | None = None  # the call being watched in this process, if any
_trampolines: dict[int, tuple[types.FunctionType, types.CodeType, types.FunctionType, str]] = {}
_scanned: dict[tuple[str, ...], int] = {}  # names -> how many modules were loaded when last matched
_functions: dict[str, list[tuple[types.FunctionType, str]]] = {}  # torch module -> its functions, named


class Tracer:
    """Watches calls for the torch functions and operators whose names contain one of ``names``."""

    def __init__(self, names: tuple[str, ...]):
        import torch
        from torch._C._profiler import ProfilerConfig, ProfilerState, _ExperimentalConfig

        self.names = tuple(names)
        self._torch = torch
        self._enable, self._disable, self._mark, self._stack, self._function_enabled = _torch_entry_points()
        self._config = ProfilerConfig(ProfilerState.CPU, False, False, False, False, False, _ExperimentalConfig(), "")
        self._mode = _function_mode_class()()
        _thread_modes.append(self._mode)
        self._threads_unhooked = _hook_threads_and_forks()
        _disarm_recording_switch()
        _install_trampolines(self.names)

    def watch(self) -> Watch:
        return Watch(self)

    def matches(self, name: str) -> bool:
        return any(part in name for part in self.names)


class Watch:
    """One call's observation: enter it around the call; ``hits`` and ``tampered`` after exit."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer
        self.hits: set[str] = set()
        self.tampered: set[str] = set()
        self._profiling = False

    def __enter__(self) -> Watch:
        global _watching
        tracer = self.tracer
        _install_trampolines(tracer.names)  # torch modules a submission imported since the last call
        _watching = self
        self._check_trampolines()
        tracer._mode.watch = self
        tracer._stack[0](tracer._mode)
        try:
            try:
                tracer._enable(tracer._config)
            except RuntimeError:  # one left running (by the submission, or an interrupted call): ours now
                tracer._disable()
                tracer._enable(tracer._config)
            self._profiling = True
            enter, leave = tracer._mark
            leave(enter(_MARKS[0]))
        except Exception:  # noqa: BLE001 - a profiler that cannot be started is one switched off
            self.tampered.add("kept torch's profiler, which records the operators a call runs, from starting")
        return self

    def __exit__(self, *exc) -> None:
        global _watching
        tracer = self.tracer
        try:
            self._end_profiling()
            self._end_function_mode()
            self._check_trampolines()
            if tracer._threads_unhooked():
                self.tampered.add("replaced the functions that start threads")
        finally:
            tracer._mode.watch = None
            _watching = None

    def graph(self, value: Any) -> None:
        """Record the forbidden operators in the autograd graph of the tensors in ``value`` (read
        through torch's own getter: a subclass's code stays out of the walk)."""
        torch = self.tracer._torch
        grad_fn = torch._C.TensorBase.grad_fn.__get__
        try:
            with torch._C.DisableTorchFunctionSubclass():
                roots = [grad_fn(t) for t in _tensors(value, torch.Tensor)]
        except Exception:  # noqa: BLE001 - a container that will not be read: the other layers remain
            return
        seen: dict[int, Any] = {}
        while roots and len(seen) < MAX_GRAPH_NODES:
            node = roots.pop()
            if node is None or id(node) in seen:
                continue
            seen[id(node)] = node  # kept alive: ids of freed wrappers could be reused
            name = _snake(type(node).__name__)
            if self.tracer.matches(name):
                self.hits.add(f"{name} (autograd graph)")
            roots.extend(next_node for next_node, _ in getattr(node, "next_functions", ()))

    # --- the end of a call -----------------------------------------------------------------

    def _end_profiling(self) -> None:
        if not self._profiling:
            return
        enter, leave = self.tracer._mark
        try:
            leave(enter(_MARKS[1]))
            events = self.tracer._disable()
        except Exception:  # noqa: BLE001 - not running any more: the submission stopped it
            self.tampered.add("switched off torch's profiler, which records the operators a call runs")
            return
        names = {event.name() for thread in events for event in thread}
        if not names.issuperset(_MARKS):  # a profiler restarted in between, or recording switched off
            self.tampered.add("stopped torch from recording the operators a call runs")
        self.hits.update(name for name in names if self.tracer.matches(name))

    def _end_function_mode(self) -> None:
        push, pop, length, at = self.tracer._stack
        mode = self.tracer._mode
        if not self.tracer._function_enabled():
            self.tampered.add("left torch functions switched off (DisableTorchFunction)")
        depth = length()
        if depth == 0 or at(depth - 1) is not mode:
            self.tampered.add("removed or covered the grader's torch function mode")
        modes = [at(i) for i in range(depth)]
        if mode in modes:
            for _ in range(depth - modes.index(mode)):
                pop()

    def _check_trampolines(self) -> None:
        for function, code, _, name in _trampolines.values():
            if function.__code__ is not code or function.__globals__.get("__grader_reached__") is not _reached:
                self.tampered.add(f"restored or replaced torch's {name}")


@functools.cache
def _function_mode_class():
    from torch.overrides import TorchFunctionMode

    class FunctionMode(TorchFunctionMode):
        """Records the torch functions called while a watch is on (one instance per tracer)."""

        watch: Watch | None = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            watch = self.watch
            if watch is not None:
                name = getattr(func, "__name__", "") or ""
                if watch.tracer.matches(name):
                    watch.hits.add(name)
            return func(*args, **(kwargs or {}))

    return FunctionMode


@functools.cache
def _torch_entry_points() -> tuple:
    """What a watch calls, taken once per process before any submission code runs (so that
    replacing torch's attributes later changes nothing here)."""
    import torch

    return (torch.autograd._enable_profiler_legacy, torch.autograd._disable_profiler_legacy,
            (torch.autograd._record_function_with_args_enter, torch.autograd._record_function_with_args_exit),
            (torch._C._push_on_torch_function_stack, torch._C._pop_torch_function_stack,
             torch._C._len_torch_function_stack, torch._C._get_function_stack_at),
            torch._C._is_torch_function_enabled)


@functools.cache
def _disarm_recording_switch() -> None:
    """Torch's switch of its operator recording (``_enable_record_function``) turns the kernels
    layer off for every thread and leaves nothing to check afterwards: replace it with one that
    records the attempt and switches nothing. (The original is dropped, not kept anywhere.)"""
    import torch

    def _enable_record_function(enable: bool) -> None:
        if not enable:
            _tamper("tried to switch off torch's recording of operators (_enable_record_function)")

    for module in (torch.autograd, torch._C._autograd):
        module._enable_record_function = _enable_record_function


# --- torch's own Python functions --------------------------------------------------------------

def _install_trampolines(names: tuple[str, ...]) -> None:
    """Swap in a trampoline for every function of a torch module (loaded so far) whose qualified
    name contains one of ``names``."""
    if not names or _scanned.get(names) == len(sys.modules):  # nothing imported since the last time
        return
    _scanned[names] = len(sys.modules)
    for module_name in list(sys.modules):
        if module_name not in _functions and (module_name == "torch" or module_name.startswith("torch.")):
            _functions[module_name] = [(f, f"{f.__module__}.{f.__qualname__}")
                                       for f in _functions_of(sys.modules.get(module_name), module_name)]
    for functions in list(_functions.values()):
        for function, name in functions:
            if id(function) not in _trampolines and any(part in name for part in names):
                _trampoline(function, name)


def _functions_of(module: Any, module_name: str) -> list[types.FunctionType]:
    """The Python functions defined in ``module``: module level and in its classes, with the
    functions they wrap (``__wrapped__``)."""
    found = []
    namespace = getattr(module, "__dict__", None)
    if not isinstance(namespace, dict):
        return found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in list(namespace.values()):
            members = [value]
            if isinstance(value, type) and value.__dict__.get("__module__") == module_name:
                members += list(value.__dict__.values())
            for member in members:
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                while isinstance(member, types.FunctionType) and member.__module__ == module_name:
                    found.append(member)
                    member = member.__dict__.get("__wrapped__")
    return found


def _trampoline(function: types.FunctionType, name: str) -> None:
    """Make ``function`` record that it was reached, then run as before (its code object is
    replaced in place, so every reference to it, old or new, goes through the record)."""
    code = function.__code__
    free = code.co_freevars
    source = ["def _outer():", *(f"    {v} = None" for v in free), "    def _inner(*args, **kwargs):",
              *([f"        ({', '.join(free)},)"] if free else []),
              f"        return __grader_reached__({id(function)}, args, kwargs)", "    return _inner"]
    namespace: dict = {}
    exec(compile("\n".join(source), code.co_filename, "exec"), namespace)  # noqa: S102 - our own text
    inner = namespace["_outer"]().__code__
    if inner.co_freevars != free:
        return
    original = types.FunctionType(code, function.__globals__, code.co_name, function.__defaults__,
                                  function.__closure__)
    original.__kwdefaults__ = function.__kwdefaults__
    replacement = inner.replace(co_name=code.co_name, co_qualname=code.co_qualname,
                                co_firstlineno=code.co_firstlineno)
    function.__globals__["__grader_reached__"] = _reached
    function.__code__ = replacement
    _trampolines[id(function)] = (function, replacement, original, name)


def _reached(key: int, args: tuple, kwargs: dict) -> Any:
    _, _, original, name = _trampolines[key]
    watch = _watching
    if watch is not None and watch.tracer.matches(name):
        watch.hits.add(name)
    return original(*args, **kwargs)


# --- threads and processes ---------------------------------------------------------------------

@functools.cache
def _hook_threads_and_forks():
    """Note a thread started or a process forked during a watched call, and watch every thread
    started after this (the submission's, whenever it started them): the tracers' function modes
    are pushed in it, and a profile function reports the builtins and torch operators it calls
    whose names match (a thread escapes the kernels layer, and may switch torch functions off).
    Returns a check that says whether the thread hooks were removed."""
    import _thread
    import threading

    original = _thread.start_new_thread
    push, pop, length, _ = _torch_entry_points()[3]

    def start_new_thread(function, args, kwargs=None):
        _tamper("started a thread, where the grader sees torch functions but not operators")
        modes = list(_thread_modes)

        def watched(*args, **kwargs):
            for mode in modes:
                push(mode)
            sys.setprofile(_thread_profile)
            try:
                return function(*args, **kwargs)
            finally:
                sys.setprofile(None)
                for _ in modes:
                    if length():
                        pop()

        return original(watched, args, kwargs or {})

    _thread.start_new_thread = _thread.start_new = threading._start_new_thread = start_new_thread
    os.register_at_fork(before=lambda: _tamper("forked a process, whose calls the grader cannot see"))

    def removed() -> bool:
        return not (_thread.start_new_thread is start_new_thread is threading._start_new_thread)

    return removed


def _thread_profile(frame, event: str, arg: Any) -> None:
    """In a thread the submission started: record the builtins called (``c_call``) and the torch
    operators called through ``torch.ops`` whose names match, while a watch is on."""
    watch = _watching
    if watch is None:
        return
    if event == "c_call":
        name = getattr(arg, "__name__", "") or ""
    elif event == "call" and frame.f_code.co_name == "__call__" and "OpOverload" in frame.f_code.co_qualname:
        name = str(frame.f_locals.get("self", ""))
    else:
        return
    if watch.tracer.matches(name):
        watch.hits.add(name)


def _tamper(what: str) -> None:
    watch = _watching
    if watch is not None:
        watch.tampered.add(what)


# --- helpers -----------------------------------------------------------------------------------

def _tensors(value: Any, tensor_type: type, depth: int = 3) -> list:
    if isinstance(value, tensor_type):
        return [value]
    if depth and isinstance(value, (list, tuple)):
        return [t for v in value[:64] for t in _tensors(v, tensor_type, depth - 1)]
    if depth and isinstance(value, dict):
        return [t for v in list(value.values())[:64] for t in _tensors(v, tensor_type, depth - 1)]
    return []


@functools.cache
def _snake(name: str) -> str:
    """``ScaledDotProductFlashAttentionForCpuBackward0`` -> ``scaled_dot_product_flash_attention_for_cpu_backward0``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
