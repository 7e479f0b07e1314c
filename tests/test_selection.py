"""`pytest assignments/NN -k <exercise>` selects exactly that exercise's tests.

pytest's `-k` matches substrings of a test's name and of its file's name, so every test of an
assignment, public or hidden, must carry its own exercise id in its file or test name (with
parameters) and no other exercise's id.
"""

from pathlib import Path

import pytest

from grader.assignment import CONFIG_NAME
from grader.grading.suite import collect

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "reference").glob(f"*/{CONFIG_NAME}"))


def misnamed(reference: Path, published: Path) -> list[str]:
    """The tests whose file and name hold another exercise's id, or not their own."""
    suite = collect(reference, published)
    ids = [e.id for e in suite.assignment.exercises]
    found = []
    for test in suite.tests:
        name = test.definition.id  # "test_attention.py::test_sdpa_values[float32]"
        others = [e for e in ids if e != test.definition.exercise and e in name]
        if test.definition.exercise not in name or others:
            found.append(f"{name} (exercise {test.definition.exercise}; also names {others})")
    return found


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_each_test_names_its_own_exercise_and_no_other(assignment_id):
    assert misnamed(ROOT / "reference" / assignment_id, ROOT / "assignments" / assignment_id) == []
