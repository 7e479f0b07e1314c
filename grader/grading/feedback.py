"""Turning a failed test into what a student reads, the same way locally and in batch grading.

    [scale] scale(x, factor) keeps the shape and multiplies every entry
    scale(x, factor): values differ at 2 of 6 positions ...; the largest difference is at index (0, 1)
    Smallest failing input:
        x = float32 (2, 3):
          0  1  0
          0  0  1
        factor = 3.0
    Reproduce: pytest "assignments/03/test_example.py::test_scale_values"

No harness traceback: the error's own message (which for a submission's exception already holds
the frames of the student's files; a tensor the test printed with torch's repr is shown as
:func:`show` shows it), then hypothesis' shrunk example, one ``name = value`` per argument,
printed with :func:`show` (tensors as a shape, a dtype and a small grid of rounded numbers,
summarised above :data:`MAX_SHOWN_VALUES` values; a bool mask as 0/1; a named tuple or a
dataclass as one ``field = value`` per field). Hidden tests have no local command: their example
is the way to reproduce them.

A diagnosis (:mod:`grader.diagnose`) adds a block naming the mistake (:func:`with_diagnosis`);
:func:`split_diagnosis` takes it out again for pages that show it once per exercise.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

from grader.grading.proxy import ForbiddenCall, LimitExceeded, NotImplementedYet
from grader.results import FAILED, FORBIDDEN, NOT_IMPLEMENTED, TestDefinition

MAX_MESSAGE_CHARS = 3000
MAX_SHOWN_VALUES = 48  # a tensor with more values is summarised, not printed
MAX_LINE = 96  # a printed tensor's blocks go side by side up to this many characters
DIAGNOSIS_MARK = "Likely mistake"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # object reprs: the same text in every run
_INTROSPECTION = re.compile(r"^\s*\+\s")
_FIXTURES = ("student", "reference")
_ARGUMENT = re.compile(r"^ {4}([A-Za-z_]\w*)=(.*)$")  # hypothesis prints each argument so
_DRAW = re.compile(r"^Draw (\d+)(?: \((.+?)\))?: (.*)$", re.DOTALL)  # st.data()'s draws, a note each
_TENSOR_REPR = re.compile(r"\btensor\(")
PRINTED_INDENT = " " * 6  # what grader.testing's printers put before a value's next lines
NAMED = "\x1f"  # starts a named value's printed fields (grader.testing.Named): spread, not labelled


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
    text = _compact_tensor_reprs(_ADDRESS.sub("", str(exc).strip()))
    if isinstance(exc, AssertionError):
        # pytest's "+  where ..." lines spell out the test's own expressions: noise for a student
        kept = [line for line in text.splitlines() if not _INTROSPECTION.match(line)]
        return "\n".join(kept) or "assertion failed"
    return f"{type(exc).__name__}: {text}"


def _compact_tensor_reprs(text: str) -> str:
    """``text`` with every ``tensor(...)`` torch printed (a test's own message) as :func:`show`
    shows it; one that cannot be read back (summarised by torch, on another device) is kept."""
    out, start = [], 0
    for match in _TENSOR_REPR.finditer(text):
        if match.start() < start:
            continue
        end = _closing(text, match.end() - 1)
        tensor = _tensor_from_repr(text[match.end():end]) if end else None
        if tensor is None:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        before = text[line_start:match.start()]
        if before.strip() and "\n" not in text[match.start():end]:
            continue  # one line inside a sentence: short enough as it is
        indent = before if not before.strip() else "  "
        out += [text[start:match.start()], "" if not before.strip() else "\n" + indent,
                show(tensor).replace("\n", "\n" + indent)]
        start = end + 1
    return "".join(out) + text[start:]


def _closing(text: str, opening: int) -> int:
    """The index of the bracket closing the one at ``opening`` (0 when there is none)."""
    depth = 0
    for index in range(opening, len(text)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return 0


def _tensor_from_repr(inner: str):
    """The tensor that torch printed as ``tensor(<inner>)``, or None when it cannot be read back."""
    import torch

    inner = inner.strip()
    if inner.startswith("["):
        end = _closing(inner, 0)
        data, options = inner[:end + 1], inner[end + 1:]
    else:
        data, _, options = inner.partition(",")
    if not data or "..." in data or re.search(r"device=|size=", options):
        return None
    is_bool = re.search(r"True|False", data) is not None
    named = re.search(r"dtype=torch\.(\w+)", options)
    dtype = getattr(torch, named.group(1), None) if named else (
        torch.bool if is_bool else torch.float32 if re.search(r"[.e]|nan|inf", data) else torch.int64)
    literal = re.sub(r"(-?)\b(nan|inf)\b", r"'\1\2'", data.replace("True", "1").replace("False", "0"))
    try:
        return torch.tensor(_floats(ast.literal_eval(literal)), dtype=torch.float64).to(dtype)
    except (ValueError, TypeError, SyntaxError, RuntimeError, MemoryError, RecursionError):
        return None


def _floats(values):
    """Nested lists of numbers (and "nan", "inf") as nested lists of floats."""
    return [_floats(v) for v in values] if isinstance(values, list) else float(values)


def _falsifying_example(exc: BaseException) -> str:
    """Hypothesis' failing example from the exception's notes, one ``name = value`` per argument
    (fixtures left out; a value of :data:`NAMED` type spread into its own fields; each
    ``data.draw(..., label=...)`` as ``label = value``). The note reads "Falsifying example: ..."
    up to hypothesis 6.16x, "Failing test case: ..." after."""
    notes = [n for n in getattr(exc, "__notes__", ()) if isinstance(n, str)]
    call = next((n.split(":", 1)[1].strip() for n in notes
                 if n.startswith(("Falsifying example", "Failing test case"))), None)
    if call is None:
        return ""
    shown = [_argument(name, lines) for name, lines in _arguments(call) if name not in _FIXTURES]
    for note in notes:
        draw = _DRAW.match(note)
        if draw:
            first, *rest = draw.group(3).splitlines()
            shown.append(_argument(draw.group(2) or f"draw {draw.group(1)}", [first, *_continued(rest)]))
    return "\n".join(line for line in shown if line)


def _arguments(call: str) -> list[tuple[str, list[str]]]:
    """``[(name, value lines)]`` of a printed call ``test(\\n    a=1,\\n    b=...,\\n)``: an
    argument starts at a line ``    name=``; the lines after it, up to the next, continue its value."""
    body = call[call.find("(") + 1: call.rfind(")")] if "(" in call else call
    found: list[tuple[str, list[str]]] = []
    for line in body.strip("\n").splitlines():
        start = _ARGUMENT.match(line)
        if start:
            found.append((start.group(1), [start.group(2)]))
        elif found:
            found[-1][1].append(line)
    for _, lines in found:
        lines[-1] = lines[-1].rstrip().removesuffix(",")
        lines[1:] = _continued(lines[1:])
    return found


def _continued(lines: list[str]) -> list[str]:
    """A printed value's next lines without the indentation its printer put before them."""
    return [line[len(PRINTED_INDENT):] if line.startswith(PRINTED_INDENT) else line.strip() for line in lines]


def _argument(name: str, lines: list[str]) -> str:
    """``name = value``; a named value as its own ``field = value`` lines; a long literal (a list
    hypothesis printed one item per line) on one line, shortened."""
    if name == "data" and lines == ["data(...)"]:
        return ""  # st.data(): its draws are listed on their own
    if lines[0].startswith(NAMED):
        return "\n".join([lines[0][len(NAMED):], *lines[1:]])
    if len(lines) > 1:
        try:
            lines = show(ast.literal_eval(" ".join(line.strip() for line in lines))).splitlines()
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return "\n".join([f"{name} = {lines[0]}", *lines[1:]])


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
    numbers (bools as 0/1, one 2-D slice per block), summarised above ``limit`` values; a named
    tuple or a dataclass as one ``field = value`` per field (``output = ...``, ``weights = ...``);
    other values by their repr, shortened."""
    import torch

    if isinstance(value, torch.Tensor):
        return show_tensor(value, limit)
    fields = named_fields(value)
    if fields is not None:
        return "\n".join(f"{name} = {show(v, limit)}" for name, v in fields)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return "\n".join(f"[{i}] {show_tensor(v, limit)}" for i, v in enumerate(value[:4]))
    if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
        shapes = (f"{k}: {str(v.dtype).removeprefix('torch.')} {tuple(v.shape)}" for k, v in value.items())
        return "{" + ", ".join(shapes) + "} (values not shown)"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def named_fields(value: Any) -> list[tuple[str, Any]] | None:
    """``[(name, value)]`` of a named tuple's or a dataclass instance's fields, else None."""
    if isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple):
        return list(zip(type(value)._fields, value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr]
    return None


def show_tensor(tensor, limit: int = MAX_SHOWN_VALUES) -> str:
    """``dtype (shape):`` and a grid; a tensor of several 2-D blocks shows them labelled
    (``[0, :, :]``), side by side as far as :data:`MAX_LINE` allows, then below each other."""
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
    grids = [[" ".join(c.rjust(width) for c in row) for row in block] for block in cells]
    if t.dim() <= 2:
        return "\n".join([head + ":", *("  " + row for row in grids[0])])
    labels = [f"[{', '.join(map(str, _unravel(i, t.shape[:-2])))}, :, :]" for i in range(len(grids))]
    column = max(len(labels[0]), len(grids[0][0]))
    across = max(1, (MAX_LINE + 3) // (column + 3))  # blocks per line, three spaces apart
    lines = [head + ":"]
    for start in range(0, len(grids), across):
        group = range(start, min(start + across, len(grids)))
        lines.append("  " + "   ".join(labels[i].ljust(column) for i in group).rstrip())
        lines += ["  " + "   ".join(grids[i][r].ljust(column) for i in group).rstrip()
                  for r in range(len(grids[start]))]
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
