"""A student's own run: requests answered in this process by an :class:`Executor`.

``pytest assignments/01`` runs the submission in the student's own Python (it is their code on
their machine); requests still go through the wire encoding, so values cross exactly as they do
to an isolated worker in batch grading, and the same limits apply where they can in-process:

- a call running longer than :data:`LOCAL_TIME_FACTOR` times the assignment's ``call_seconds`` is
  stopped, and that function is not called again in the run: the next tests that need it fail at
  once (as batch grading stops calling a function that keeps timing out);
- what the code prints reaches pytest's capture up to ``output_bytes`` characters per run; the
  rest is dropped, never failing the code, and a line after each call that dropped some says how
  much.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

from grader.assignment import Assignment
from grader.grading.proxy import Exchange, Submission, Transport, decoding
from grader.worker import wire
from grader.worker.confine import Limits
from grader.worker.executor import Executor

LOCAL_TIME_FACTOR = 4  # a student's laptop may be slower than the grading machine


def local_submission(folder: Path, assignment: Assignment) -> Submission:
    """The submission in ``folder``, answered in this process, with the assignment's limits."""
    return Submission(decoding(local_exchange(folder, assignment)), tuple(assignment.siblings()))


def local_exchange(folder: Path, assignment: Assignment, call_seconds: float | None = None) -> Exchange:
    """:func:`local_exchanger` for the submission in ``folder`` under the assignment's limits;
    ``call_seconds`` replaces its time limit."""
    import torch

    torch.set_num_threads(1)  # tests use tiny tensors: threads only contend (as in the worker)
    executor = Executor(folder, assignment.traced_calls, assignment.siblings())
    limits = Limits.from_mapping(assignment.limits)
    seconds = LOCAL_TIME_FACTOR * limits.call_seconds if call_seconds is None else call_seconds
    return local_exchanger(executor, seconds, limits.output_bytes)


class TimeLimitExceeded(BaseException):
    """Raised inside a local call that ran past its time limit (a BaseException, so that the
    submission's ``except Exception`` does not swallow it); reported like the worker's limit."""


def local_transport(executor: Executor, call_seconds: float = 0, output_chars: int = 0) -> Transport:
    """Answer requests in this process, through the same encoding the worker channel uses (see
    :func:`local_exchanger`)."""
    return decoding(local_exchanger(executor, call_seconds, output_chars))


def local_exchanger(executor: Executor, call_seconds: float = 0, output_chars: int = 0) -> Exchange:
    """An encoded request in, its encoded reply out, answered by ``executor`` in this process.

    With ``call_seconds``, a call still running after that long is interrupted (SIGALRM, main
    thread only) and fails with a time-limit error, so an endless loop does not hang a student's
    ``pytest``; the function it called is then refused for the rest of the run. With
    ``output_chars``, what the calls print is capped (see the module docstring).
    """
    timed_out: dict[str, str] = {}  # label -> the message of its time limit
    output = _OutputBudget(output_chars) if output_chars else None

    def exchange(request: bytes) -> bytes:
        decoded = wire.decode(request)
        label = wire.request_label(decoded)
        if label in timed_out:
            return wire.encode({"error": {"type": "TimeLimitExceeded", "traceback": "", "message":
                                          f"{label} was not called again: it exceeded its time limit "
                                          f"earlier ({timed_out[label]})"}, "forbidden": []})
        with _alarm(call_seconds, label), (output.capping() if output else contextlib.nullcontext()):
            reply = executor.handle(decoded)
        error = reply.get("error")
        if call_seconds and isinstance(error, dict) and error.get("type") == TimeLimitExceeded.__name__:
            timed_out[label] = f"more than {call_seconds:g} s"
        return executor.encode_reply(reply)

    return exchange


@contextlib.contextmanager
def _alarm(seconds: float, label: str):
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(f"time limit exceeded in {label} (more than {seconds:g} s)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)  # again every second if it is caught
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _OutputBudget:
    """The characters a local run's submission may still print through ``sys.stdout`` /
    ``sys.stderr``, and how many it printed beyond them."""

    def __init__(self, limit: int):
        self.limit, self.left, self.dropped = limit, limit, 0

    @contextlib.contextmanager
    def capping(self):
        """Cap what is printed during one call; say afterwards how much the call lost."""
        streams, before = (sys.stdout, sys.stderr), self.dropped
        sys.stdout, sys.stderr = (_CappedStream(stream, self) for stream in streams)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = streams
            if self.dropped > before:
                streams[0].write(f"\n[output truncated: this call printed {self.dropped - before:,} more "
                                 f"characters than the run keeps (the first {self.limit:,}); they were dropped]\n")


class _CappedStream:
    """A text stream that passes writes on to ``target`` while the budget lasts, then counts
    them as dropped; anything else (``encoding``, ``fileno``...) is ``target``'s."""

    def __init__(self, target, budget: _OutputBudget):
        self._target, self._budget = target, budget

    def write(self, text: str) -> int:
        kept = text[:self._budget.left]
        self._budget.left -= len(kept)
        self._budget.dropped += len(text) - len(kept)
        if kept:
            self._target.write(kept)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str):  # encoding, fileno, isatty... as the stream it stands for
        return getattr(self._target, name)
