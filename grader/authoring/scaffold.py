"""``grader new NN --title "..."``: a new assignment that ``grader check NN`` accepts at once.

    new(root, "03", "Sampling")  -> the paths written

writes ``reference/NN/`` (``assignment.toml`` with one example exercise, a module with a solution
region, a hidden test against the reference, an empty catalogue of misconceptions, a variants
file with one correct and one mistaken variant) and ``assignments/NN/`` (the handout, a public
test, and what ``grader generate`` and ``grader notebook`` write from the reference). The author
then replaces the example with the real exercises (docs/new-assignment.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from grader.assignment import AssignmentError, load
from grader.authoring import generate, notebook

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

REFERENCE = {
    "assignment.toml": '''\
# Assignment $id: $title. Data the grader engine loads (docs/new-assignment.md describes each field).
# `grader generate $id` copies this file next to the generated stubs in assignments/$id/.
id = "$id"
title = "$title"
# The modules a submission consists of (file stems); each holds solution regions.
student_modules = ["example"]
# Files copied to students unchanged (given code, no solution regions).
given_files = []
# Public tests (test_*.py) live in assignments/$id/, hidden ones (test_hidden_*.py) here.
public_tests = "."
hidden_tests = "."
# Torch functions a `from_scratch` exercise may not reach (substrings of their names).
forbidden_calls = []
# Mistakes the grader names in feedback; stays with the reference.
misconceptions = "misconceptions.py"
# Modules the grading worker imports once before any submission, e.g. ["numpy"].
preload = []

# Worker limits for one call of the student's code.
[limits]
call_seconds = 5.0
call_cpu_seconds = 2.0
memory_mb = 2048

[[exercises]]
id = "scale"
title = "scale a tensor"
points = 100
names = ["example.scale"]
''',
    "example.py": '''\
"""An example exercise: replace it with your own (docs/new-assignment.md)."""

import torch


def scale(x: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    """``x`` multiplied by ``factor``: same shape and dtype as ``x``.

    Example: scale(torch.tensor([1.0, -2.0]), 3.0) -> tensor([3.0, -6.0])
    """
    ### BEGIN SOLUTION
    return x * factor
    ### END SOLUTION
''',
    "test_hidden_example.py": '''\
"""Hidden tests: never shipped to students; they compare with the reference."""

import pytest
import torch

from grader.testing import close, given, st, tensors


@pytest.mark.exercise("scale")
@given(x=tensors((2, 3), torch.float64), factor=st.sampled_from([0.5, -1.0, 3.0]))
def test_hidden_scale_matches_the_reference(student, reference, x, factor):
    """scale(x, factor) equals the reference's on random inputs"""
    close(student.example.scale(x, factor), reference.example.scale(x, factor), what="scale(x, factor)")
''',
    "misconceptions.py": '''\
"""Assignment $id's catalogue of misconceptions: the mistakes the grader names in feedback
(docs/new-assignment.md; grader.grading.diagnose). Never shipped to students."""

MISCONCEPTIONS = ()
''',
    "variants/scale.toml": '''\
# Variants of the reference, each with the effect grading must have on it (`grader check $id`).

[[variant]]
name = "scale_with_mul"
about = "Correct, written differently: torch.mul instead of the operator."
module = "example"
expect = "full"
edit = [["return x * factor", "return torch.mul(x, factor)"]]

[[variant]]
name = "scale_adds"
about = "Adds the factor instead of multiplying by it."
module = "example"
expect = "loses"
exercises = ["scale"]
edit = [["return x * factor", "return x + factor"]]
''',
}

PUBLISHED = {
    "README.md": '''\
# Assignment $id: $title

Complete the functions of `example.py`; `pytest assignments/$id` runs the public tests and
estimates your points.

## Exercise `scale`: scale a tensor (100 points)

`scale(x, factor=2.0)` returns `x` multiplied by `factor`, with the shape and dtype of `x`.
''',
    "test_example.py": '''\
"""Public tests: shipped to students, run by `pytest assignments/$id`."""

import pytest
import torch

from grader.testing import close


@pytest.mark.exercise("scale")
def test_scale_example(student):
    """scale(tensor([1, -2]), 3) is tensor([3, -6])"""
    got = student.example.scale(torch.tensor([1.0, -2.0]), 3.0)
    close(got, torch.tensor([3.0, -6.0]), what="scale([1, -2], 3)")
''',
}


def new(root: str | Path, assignment_id: str, title: str) -> list[Path]:
    """Write the new assignment under ``root``; raises :class:`AssignmentError` when the id is
    not usable or ``reference/ID`` or ``assignments/ID`` already exists."""
    if not _ID.fullmatch(assignment_id):
        raise AssignmentError(f"{assignment_id!r} is not an assignment id: use letters, digits, - and _ "
                              "(e.g. 03)")
    if not title.strip() or '"' in title or "\\" in title:
        raise AssignmentError("give the assignment a title without quotes or backslashes: --title \"...\"")
    root = Path(root).resolve()
    reference, published = root / "reference" / assignment_id, root / "assignments" / assignment_id
    for folder in (reference, published):
        if folder.exists():
            raise AssignmentError(f"{folder} already exists: choose another id, or remove it first")
    values = {"id": assignment_id, "title": title.strip()}
    written = [_write(reference / name, text, values) for name, text in REFERENCE.items()]
    written += [_write(published / name, text, values) for name, text in PUBLISHED.items()]
    assignment = load(reference)
    written += [published / name for name in generate.write(assignment, published)]
    written += [published / name for name in notebook.write(assignment, published)]
    return written


def _write(path: Path, template: str, values: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(Template(template).substitute(values))
    return path
