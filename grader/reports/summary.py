"""Views of a student's result that every report format shares: points per test, notes per
exercise, failures grouped by cause, named mistakes, numbers as people read them."""

from __future__ import annotations

from grader import results
from grader.grading import feedback
from grader.grading.proxy import LIMIT_ERRORS
from grader.results import StudentResult

MAX_PRINTED_OUTPUT = 10_000


def test_points(result: StudentResult) -> list[tuple[results.TestOutcome, float, float]]:
    """Each outcome with its (earned, possible) share of its exercise's points."""
    scores = result.scores
    rows = []
    for outcome in result.outcomes:
        s = scores[outcome.test.exercise]
        possible = s.max_points * outcome.test.weight / s.total_weight if s.total_weight else 0.0
        earned = possible if outcome.passed and not s.forbidden else 0.0
        rows.append((outcome, earned, possible))
    return rows


def exercise_note(outcomes: list[results.TestOutcome], score: results.ExerciseScore) -> str:
    if not outcomes:
        return "not graded in this run"
    if score.forbidden:
        return "0: uses a forbidden built-in (must be written from scratch)"
    if outcomes and all(o.status == results.NOT_IMPLEMENTED for o in outcomes):
        return "not implemented yet"
    return ""


def failure_groups(outcomes: list[results.TestOutcome]) -> list[list[results.TestOutcome]]:
    """The failed outcomes (not the unimplemented ones) grouped by identical error."""
    groups: dict[str, list[results.TestOutcome]] = {}
    for outcome in outcomes:
        if not outcome.passed and outcome.status != results.NOT_IMPLEMENTED:
            groups.setdefault(_error_body(feedback.split_diagnosis(outcome.message)[0]), []).append(outcome)
    return list(groups.values())


def diagnoses(outcomes: list[results.TestOutcome]) -> list[str]:
    """The distinct named-mistake blocks in the outcomes' messages, in order."""
    found = [feedback.split_diagnosis(o.message)[1] for o in outcomes]
    return list(dict.fromkeys(d for d in found if d))


def _error_body(message: str) -> str:
    """A failure message without its test-specific lines (title, example, reproduce command)."""
    lines = message.splitlines()[1:]
    if lines and lines[0].split(":")[0] in _SHARED_CAUSES:
        return lines[0]
    return message


# Failures whose first line says all there is to say, whatever the test: shown once per exercise.
_SHARED_CAUSES = ("MissingModule", "ImportFailed", "MissingName", *LIMIT_ERRORS)


def summary_line(result: StudentResult) -> str:
    passed = sum(o.passed for o in result.outcomes)
    return (f"{number(result.total)} / {number(result.assignment.total_points)} points; "
            f"{passed} of {len(result.outcomes)} tests passed.")


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
