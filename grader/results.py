"""Test definitions, their outcomes, and the points they earn: values, no behaviour beyond scoring.

A test's definition (name, exercise, weight, visibility) is fixed by the assignment's test files;
an outcome is what one submission got on it. Scores follow from outcomes alone:

    exercise score = exercise points * (weight of passed tests / weight of all its tests)

and an exercise marked ``from_scratch`` scores 0 when any of its tests saw a forbidden call.
A :class:`StudentResult` is one submission's outcomes with what grading it reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from grader.assignment import Assignment

PASSED, FAILED, NOT_IMPLEMENTED, FORBIDDEN = "passed", "failed", "not_implemented", "forbidden"


@dataclass(frozen=True)
class TestDefinition:
    __test__ = False  # not a pytest test class, despite its name
    id: str  # stable id, "test_example.py::test_scale_matches_torch[float32]"
    exercise: str  # exercise id from the assignment
    description: str  # the property it checks, one line (the test's docstring)
    weight: float = 1.0  # share of the exercise's points, relative to its other tests
    hidden: bool = False  # hidden tests never ship to students


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False
    test: TestDefinition
    status: str  # PASSED, FAILED, NOT_IMPLEMENTED or FORBIDDEN
    message: str = ""  # what the student reads when it did not pass
    tags: tuple[str, ...] = field(default=())  # extra tags, e.g. "misconception:scale.adds"

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass(frozen=True)
class ExerciseScore:
    exercise: str
    points: float  # earned
    max_points: float
    passed_weight: float
    total_weight: float
    forbidden: bool  # scored 0 under the from-scratch rule


def score(assignment: Assignment, outcomes: Iterable[TestOutcome]) -> dict[str, ExerciseScore]:
    """Every exercise's score from the outcomes (an exercise without outcomes scores 0)."""
    outcomes = list(outcomes)
    scores = {}
    for exercise in assignment.exercises:
        mine = [o for o in outcomes if o.test.exercise == exercise.id]
        total = sum(o.test.weight for o in mine)
        passed = sum(o.test.weight for o in mine if o.passed)
        forbidden = exercise.from_scratch and any(o.status == FORBIDDEN for o in mine)
        points = 0.0 if forbidden or not total else exercise.points * passed / total
        scores[exercise.id] = ExerciseScore(exercise.id, points, exercise.points, passed, total,
                                            forbidden)
    return scores


def total(scores: dict[str, ExerciseScore]) -> float:
    return sum(s.points for s in scores.values())


@dataclass(frozen=True)
class Note:
    """Something about the form of a submission that its student and the instructor should know:
    how it was found (unpacked, in a sub-folder, a notebook) or why it could not be used.
    ``kind`` is one of :data:`grader.grading.submissions.NOTE_KINDS`; ``text`` a short phrase."""
    kind: str
    text: str


@dataclass(frozen=True)
class StudentResult:
    student: str
    assignment: Assignment
    outcomes: tuple[TestOutcome, ...]
    execution_time: float  # seconds of grading
    isolation: str  # the layers reached, e.g. "process+rlimits+bwrap+landlock+cgroup+uid"
    printed: str = ""  # what the submission wrote to stdout/stderr (truncated)
    events: tuple[str, ...] = field(default=())  # limits hit, crashes
    figures: tuple = field(default=())  # pictures for the feedback page (grader.grading.diagnose.FigurePair)
    notes: tuple[Note, ...] = field(default=())  # how the submission was found (grader.grading.submissions)

    @property
    def scores(self) -> dict[str, ExerciseScore]:
        return score(self.assignment, self.outcomes)

    @property
    def total(self) -> float:
        return total(self.scores)
