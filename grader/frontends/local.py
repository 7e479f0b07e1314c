"""A student's own run: requests answered in this process by an :class:`Executor`.

``pytest assignments/01`` runs the submission in the student's own Python (it is their code on
their machine); requests still go through the wire encoding, so values cross exactly as they do
to an isolated worker in batch grading.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

from grader.assignment import Assignment
from grader.grading.proxy import Submission, Transport
from grader.worker import wire
from grader.worker.confine import Limits
from grader.worker.executor import Executor

LOCAL_TIME_FACTOR = 4  # a student's laptop may be slower than the grading machine


def local_submission(folder: Path, assignment: Assignment) -> Submission:
    """The submission in ``folder``, answered in this process; a call running longer than
    :data:`LOCAL_TIME_FACTOR` times the assignment's ``call_seconds`` is stopped."""
    import torch

    torch.set_num_threads(1)  # tests use tiny tensors: threads only contend (as in the worker)
    siblings = assignment.siblings()
    executor = Executor(folder, assignment.forbidden_calls, siblings)
    seconds = LOCAL_TIME_FACTOR * Limits.from_mapping(assignment.limits).call_seconds
    return Submission(local_transport(executor, seconds), tuple(siblings))


class TimeLimitExceeded(BaseException):
    """Raised inside a local call that ran past its time limit (a BaseException, so that the
    submission's ``except Exception`` does not swallow it); reported like the worker's limit."""


def local_transport(executor: Executor, call_seconds: float = 0) -> Transport:
    """Answer requests in this process, through the same encoding the worker channel uses.

    With ``call_seconds``, a call still running after that long is interrupted (SIGALRM, main
    thread only) and fails with a time-limit error, so an endless loop does not hang a student's
    ``pytest``.
    """

    def transport(request: dict) -> dict:
        decoded = wire.decode(wire.encode(request))
        with _alarm(call_seconds, wire.request_label(decoded)):
            reply = executor.handle(decoded)
        return wire.decode(executor.encode_reply(reply))

    return transport


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
