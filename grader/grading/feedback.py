"""Turning a failed test into what a student reads, the same way locally and in batch grading.

    [scale] scale(x, factor) keeps the shape and multiplies every entry
    scale(x, factor): values differ at 2 of 6 positions ...; the largest difference is at index (0, 1)
    Smallest failing input:
        x=float32 (2, 3):
            0  1  0
            0  0  1
        factor=3.0
    Reproduce: pytest "assignments/03/test_example.py::test_scale_values"

No harness traceback: the error's own message (which for a submission's exception already holds
the frames of the student's files), then hypothesis' shrunk example, printed with :func:`show`
(tensors as a shape, a dtype and a small grid of rounded numbers; a bool mask as 0/1). Hidden
tests have no local command: their example is the way to reproduce them.

A diagnosis (:mod:`grader.diagnose`) adds a block naming the mistake (:func:`with_diagnosis`);
:func:`split_diagnosis` takes it out again for pages that show it once per exercise.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from grader.grading.proxy import ForbiddenCall, LimitExceeded, NotImplementedYet
from grader.results import FAILED, FORBIDDEN, NOT_IMPLEMENTED, TestDefinition

MAX_MESSAGE_CHARS = 3000
MAX_SHOWN_VALUES = 48  # a tensor with more values is summarised, not printed
DIAGNOSIS_MARK = "Likely mistake"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # object reprs: the same text in every run
_INTROSPECTION = re.compile(r"^\s*\+\s")
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
    elif example:
        parts.append("Reproduce: this is a hidden test; call your function on the input above")
    return _clip("\n".join(p for p in parts if p))


def _text(exc: BaseException) -> str:
    if isinstance(exc, (ForbiddenCall, LimitExceeded)):
        return str(exc)
    text = _ADDRESS.sub("", str(exc).strip())
    if isinstance(exc, AssertionError):
        # pytest's "+  where ..." lines spell out the test's own expressions: noise for a student
        kept = [line for line in text.splitlines() if not _INTROSPECTION.match(line)]
        return "\n".join(kept) or "assertion failed"
    return f"{type(exc).__name__}: {text}"


def _falsifying_example(exc: BaseException) -> str:
    """Hypothesis' shrunk example from the exception's notes, fixtures left out (the note reads
    "Falsifying example: ..." up to hypothesis 6.16x, "Failing test case: ..." after)."""
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(("Falsifying example", "Failing test case")):
            call = note.split(":", 1)[1].strip()
            inner = call[call.find("(") + 1: call.rfind(")")] if "(" in call else call
            inner = textwrap.dedent(_FIXTURE_ARGS.sub("", inner.strip("\n") + "\n"))
            return "\n".join(line.rstrip(",") for line in inner.strip().splitlines())
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


def with_diagnosis(message: str, diagnosis: str) -> str:
    """``message`` followed by a diagnosis block (which starts with :data:`DIAGNOSIS_MARK`)."""
    return f"{message.rstrip()}\n{diagnosis.rstrip()}"


def split_diagnosis(message: str) -> tuple[str, str]:
    """``(message without its diagnosis block, the block)``; the block is "" when there is none."""
    at = message.find("\n" + DIAGNOSIS_MARK)
    return (message, "") if at < 0 else (message[:at], message[at + 1:])


# --- showing values ----------------------------------------------------------------------------

def show(value: Any, limit: int = MAX_SHOWN_VALUES) -> str:
    """A short readable text for a value: tensors as ``dtype (shape):`` and a grid of rounded
    numbers (bools as 0/1, one 2-D slice per block), summarised above ``limit`` values; other
    values by their repr, shortened."""
    import torch

    if isinstance(value, torch.Tensor):
        return show_tensor(value, limit)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return "\n".join(f"[{i}] {show_tensor(v, limit)}" for i, v in enumerate(value[:4]))
    if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
        shapes = (f"{k}: {str(v.dtype).removeprefix('torch.')} {tuple(v.shape)}" for k, v in value.items())
        return "{" + ", ".join(shapes) + "} (values not shown)"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def show_tensor(tensor, limit: int = MAX_SHOWN_VALUES) -> str:
    t = tensor.detach().cpu()
    dtype = str(t.dtype).removeprefix("torch.")
    head = f"{dtype} {tuple(t.shape)}"
    if t.numel() == 0:
        return f"{head}: empty"
    if t.dim() == 0:
        return f"{head}: {_number(t.item())}"
    if t.numel() > limit:
        return f"{head}: {_summary(t)}"
    blocks = t.reshape(-1, *t.shape[-2:]) if t.dim() >= 2 else t.reshape(1, 1, -1)
    cells = [[[_number(x) for x in row] for row in block.tolist()] for block in blocks]
    width = max(len(c) for block in cells for row in block for c in row)
    lines = [head + ":"]
    for index, block in enumerate(cells):
        if t.dim() > 2:
            lines.append(f"  [{', '.join(map(str, _unravel(index, t.shape[:-2])))}, :, :]")
        lines += ["  " + " ".join(c.rjust(width) for c in row) for row in block]
    return "\n".join(lines)


def _summary(t) -> str:
    import torch

    if t.dtype == torch.bool:
        return f"{int(t.sum())} of {t.numel()} True"
    finite = t[t.isfinite()].double() if t.is_floating_point() else t.double()
    nans = int(t.isnan().sum()) if t.is_floating_point() else 0
    stats = (f"{t.numel()} values in [{_number(finite.min().item())}, {_number(finite.max().item())}], "
             f"mean {_number(finite.mean().item())}" if finite.numel() else f"{t.numel()} values")
    return stats + (f", {nans} NaN" if nans else "")


def _unravel(index: int, shape) -> list[int]:
    out = []
    for size in reversed(shape):
        out.append(index % size)
        index //= size
    return out[::-1]


def _number(x) -> str:
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    text = f"{x:.4g}"
    return "0" if text == "-0" else text
