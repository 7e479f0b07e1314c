"""Turning a failed test into what a student reads, the same way locally and in batch grading.

    [sdpa] weights match F.scaled_dot_product_attention (float32)
    Tensor-likes are not close! ... Greatest absolute difference: 0.21 at index (0, 1, 2)
    Smallest failing input:
        query=tensor([[1., 0.]]), key=..., mask=...
    Reproduce: pytest "assignments/01/test_attention.py::test_sdpa_values"

No harness traceback: the error's own message (which for a submission's exception already holds
the frames of the student's files), then hypothesis' shrunk example.
"""

from __future__ import annotations

import re

from grader.proxy import ForbiddenCall, LimitExceeded, NotImplementedYet
from grader.results import FAILED, FORBIDDEN, NOT_IMPLEMENTED, TestDefinition

MAX_MESSAGE_CHARS = 3000
_FIXTURE_ARGS = re.compile(r"^\s*(student|reference)=.*,?\n", re.MULTILINE)


def status_of(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedYet):
        return NOT_IMPLEMENTED
    if isinstance(exc, ForbiddenCall):
        return FORBIDDEN
    return FAILED


def failure_message(exc: BaseException, test: TestDefinition, reproduce: str = "") -> str:
    """The student-facing text for ``exc`` raised by ``test``."""
    head = f"[{test.exercise}] {test.description}"
    if isinstance(exc, NotImplementedYet):
        return f"[{test.exercise}] not implemented yet"
    body = _text(exc)
    example = _falsifying_example(exc)
    parts = [head, body]
    if example:
        parts.append(f"{_example_label()}:\n" + _indent(example))
    if reproduce:
        parts.append(f"Reproduce: {reproduce}")
    return _clip("\n".join(p for p in parts if p))


def _text(exc: BaseException) -> str:
    if isinstance(exc, (ForbiddenCall, LimitExceeded)):
        return str(exc)
    text = str(exc).strip()
    if isinstance(exc, AssertionError):
        return text or "assertion failed"
    return f"{type(exc).__name__}: {text}"


def _falsifying_example(exc: BaseException) -> str:
    """Hypothesis' shrunk example from the exception's notes, fixtures left out (the note reads
    "Falsifying example: ..." up to hypothesis 6.16x, "Failing test case: ..." after)."""
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(("Falsifying example", "Failing test case")):
            call = note.split(":", 1)[1].strip()
            inner = call[call.find("(") + 1: call.rfind(")")] if "(" in call else call
            return _FIXTURE_ARGS.sub("", inner + "\n").strip().rstrip(",")
    return ""


def _example_label() -> str:
    """"Smallest failing input" when hypothesis shrinks (a student's run), else the first found."""
    from hypothesis import Phase, settings

    return "Smallest failing input" if Phase.shrink in settings.default.phases else "Failing input"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _clip(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[:MAX_MESSAGE_CHARS] + "\n... (message shortened)"
