"""What a test sees of a submission: attribute access that turns into requests.

Tests are written once against :class:`Submission` and run unchanged in a student's local
``pytest`` (requests answered in-process) and in batch grading (answered by an isolated worker)::

    y = student.example.scale(x, factor=3.0)
    net = student.example.TinyNet(8, 2)                      # a RemoteObject
    net.load_state_dict(weights)
    (y, extra), grads = student.backward(student.example.scale_twice, x, y0,
                                         wrt=(0, 1), grad_output=g, output_index=0)

Every value that comes back is plain data decoded afresh (tensors without grad); objects that
are not plain data come back as :class:`RemoteObject`. A failing call raises
:class:`SubmissionError`, or one of the "stop this test now" errors:
:class:`NotImplementedYet`, :class:`ForbiddenCall` and :class:`LimitExceeded`.
"""

from __future__ import annotations

import unittest
from typing import Any, Callable

from grader.worker import wire

Transport = Callable[[dict], dict]  # a decoded request -> its decoded reply
Exchange = Callable[[bytes], bytes]  # an encoded request -> its encoded reply


def decoding(exchange: Exchange) -> Transport:
    """The transport that sends a request through ``exchange`` (encoded, so that only plain data
    crosses) and decodes the reply."""
    return lambda request: wire.decode(exchange(wire.encode(request)))


class SubmissionError(AssertionError):
    """The submission's code raised, crashed, timed out or returned something unusable."""

    def __init__(self, type_name: str, message: str, traceback: str = "", call: str = "",
                 types: tuple[str, ...] = ()):
        self.type_name, self.message, self.traceback, self.call = type_name, message, traceback, call
        self.types = types or (type_name,)  # the exception's class names, most derived first
        where = f" in {call}" if call else ""
        text = f"{type_name}{where}: {message}"
        if traceback:
            text += "\nIn your code:\n" + traceback.rstrip()
        super().__init__(text)

    def raised(self, name: str) -> bool:
        """Whether the submission raised ``name`` or a subclass of it (``raised("ValueError")``)."""
        return name in self.types


class _StopTest(unittest.SkipTest):
    """Base of errors that end a property test at once: no shrinking, no more examples.

    (Hypothesis re-raises ``unittest.SkipTest`` immediately; the pytest plugin and the batch
    runner report these as failures, never as skips.)
    """


class NotImplementedYet(_StopTest):
    """The function still raises the stub's ``NotImplementedError``."""


class ForbiddenCall(_StopTest):
    """The submission reached a function that the exercise must not use (or switched off what
    sees it): the message names the function."""


class LimitExceeded(_StopTest):
    """The call hit a time, memory or file-size limit, or its worker crashed: retrying it on other
    inputs (shrinking) would cost a limit's worth of time per try, so the test stops here."""


LIMIT_ERRORS = ("TimeLimitExceeded", "MemoryLimitExceeded", "FileSizeLimitExceeded", "WorkerCrashed")


class _Target:
    """A module attribute path or an object handle, plus the transport that reaches it."""

    def __init__(self, transport: Transport, target: dict, label: str):
        self._transport, self._target, self._label = transport, target, label

    def _request(self, op: str, **fields) -> Any:
        reply = self._transport({"op": op, "target": self._target, **_sendable(fields)})
        return _result(reply, self._label, self._transport)


class RemoteCallable(_Target):
    """``student.example.scale`` or ``student.example.Vocabulary.build``: call it."""

    def __getattr__(self, name: str) -> "RemoteCallable":
        if name.startswith("__"):
            raise AttributeError(name)
        target = {**self._target, "path": [*self._target["path"], name]}
        return RemoteCallable(self._transport, target, f"{self._label}.{name}")

    def __call__(self, *args, **kwargs) -> Any:
        return self._request("call", args=list(args), kwargs=kwargs)

    def __repr__(self) -> str:
        return f"<submission's {self._label}>"


class RemoteObject(_Target):
    """An object living in the submission's process (an nn.Module instance, an open figure...)."""

    def __init__(self, transport: Transport, handle: wire.Handle, label: str):
        super().__init__(transport, {"handle": handle.id, "path": []}, label)
        self.handle = handle

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target = {"handle": self.handle.id, "path": [name]}
        return _Target(self._transport, target, f"{self._label}.{name}")._request("get")

    def __call__(self, *args, **kwargs) -> Any:
        return self._request("call", args=list(args), kwargs=kwargs)

    def __repr__(self) -> str:
        return f"<{self.handle.type_name} object of the submission>"


class _ModuleProxy:
    def __init__(self, transport: Transport, name: str):
        self._transport, self._name = transport, name

    def __getattr__(self, name: str) -> RemoteCallable:
        if name.startswith("__"):
            raise AttributeError(name)
        target = {"module": self._name, "path": [name]}
        return RemoteCallable(self._transport, target, f"{self._name}.{name}")


class Submission:
    """A submission's modules, reached through ``transport``: ``student.example.scale(x, 3.0)``.

    ``forbidden``: the names whose reach fails a call with :class:`ForbiddenCall` (substrings of
    what the worker reports, see :mod:`grader.worker.tracer`); None counts whatever the worker
    reports. :meth:`checking` gives the same submission with another list: a test sees only its
    own exercise's (:meth:`grader.assignment.Assignment.forbidden_for`).
    """

    def __init__(self, transport: Transport, modules: tuple[str, ...],
                 forbidden: tuple[str, ...] | None = None):
        self._raw = transport
        self._transport = transport if forbidden is None else _checking(transport, tuple(forbidden))
        self.modules = modules

    def checking(self, forbidden: tuple[str, ...]) -> "Submission":
        """This submission, failing a call only on the names in ``forbidden`` (none when empty)."""
        return Submission(self._raw, self.modules, forbidden)

    def __getattr__(self, name: str) -> _ModuleProxy:
        if name not in self.__dict__.get("modules", ()):
            raise AttributeError(f"the assignment has no student module {name!r}")
        return _ModuleProxy(self._transport, name)

    def backward(self, function: RemoteCallable | RemoteObject, *args, wrt=(), grad_output=None,
                 output_index: int | None = None, **kwargs) -> tuple[Any, list]:
        """Call ``function(*args, **kwargs)`` and backpropagate ``grad_output`` from its output.

        ``wrt`` names the inputs (positions or keyword names) to differentiate; ``output_index``
        picks the tensor out of a tuple result. Returns ``(value, grads)``, ``grads`` aligned with
        ``wrt`` (``None`` where no gradient reached an input).
        """
        result = function._request("backward", args=list(args), kwargs=kwargs, wrt=list(wrt),
                                   grad_output=grad_output, output_index=output_index)
        if not isinstance(result, dict) or set(result) != {"value", "grads"}:
            raise SubmissionError("BadReply", "malformed backward reply", call=function._label)
        return result["value"], result["grads"]


def _result(reply: Any, label: str, transport: Transport) -> Any:
    """The value of a reply, with handles wrapped, or the error it carries raised."""
    if not isinstance(reply, dict):
        raise SubmissionError("BadReply", "the worker sent a malformed reply", call=label)
    forbidden, tampered = reply.get("forbidden") or [], reply.get("tampered") or []
    if forbidden:
        names = ", ".join(map(str, forbidden[:6]))
        raise ForbiddenCall(f"{label} reached {names}: this exercise must be written from scratch, so "
                            "it scores 0 while the submission calls a function the assignment forbids")
    if tampered:
        raise ForbiddenCall(f"{label} {'; '.join(map(str, tampered[:3]))}: the from-scratch rule of this "
                            "exercise cannot be checked, so it scores 0")
    if "error" in reply:
        error = reply["error"] if isinstance(reply["error"], dict) else {}
        type_name, message = str(error.get("type", "Error")), str(error.get("message", ""))
        if type_name == "NotImplementedError" and ("not implemented yet" in message or not message):
            raise NotImplementedYet(message or f"{label}: not implemented yet")  # nbgrader's bare stub
        if type_name in LIMIT_ERRORS:
            raise LimitExceeded(f"{type_name}: {message}")
        types = tuple(str(t) for t in error.get("types", ()) if isinstance(t, str))
        raise SubmissionError(type_name, message, str(error.get("traceback", "")), call=label, types=types)
    return _wrap(reply.get("ok"), label, transport)


def _checking(transport: Transport, names: tuple[str, ...]) -> Transport:
    """``transport`` with each reply's ``forbidden`` narrowed to the hits containing one of
    ``names``, and its ``tampered`` kept only when ``names`` forbids anything. With no names, the
    requests say so (``"watch": False``): the worker then spares itself the watching."""

    def checked(request: dict) -> dict:
        reply = transport(request if names else {**request, "watch": False})
        if isinstance(reply, dict) and (reply.get("forbidden") or reply.get("tampered")):
            hits = reply.get("forbidden")
            hits = [h for h in hits if isinstance(h, str) and any(n in h for n in names)] \
                if isinstance(hits, list) else []
            reply = {**reply, "forbidden": hits, "tampered": reply.get("tampered") if names else []}
        return reply

    return checked


def _sendable(value: Any) -> Any:
    """``value`` with every :class:`RemoteObject` in it replaced by its handle (how it crosses
    the channel: the worker resolves it to the object it holds)."""
    if isinstance(value, RemoteObject):
        return value.handle
    if isinstance(value, list):
        return [_sendable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_sendable(v) for v in value)
    if isinstance(value, dict):
        return {k: _sendable(v) for k, v in value.items()}
    return value


def _wrap(value: Any, label: str, transport: Transport) -> Any:
    if isinstance(value, wire.Handle):
        return RemoteObject(transport, value, label)
    if isinstance(value, list):
        return [_wrap(v, label, transport) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrap(v, label, transport) for v in value)
    if isinstance(value, dict):
        return {k: _wrap(v, label, transport) for k, v in value.items()}
    return value
