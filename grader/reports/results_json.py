"""Gradescope's ``results.json`` schema, as a function of a student's result."""

from __future__ import annotations

from grader.reports.summary import summary_line, test_points
from grader.results import StudentResult


def to_gradescope(result: StudentResult) -> dict:
    tests = []
    for number, (outcome, earned, possible) in enumerate(test_points(result), start=1):
        tags = [outcome.test.exercise, *outcome.tags]
        tests.append({
            "name": f"{outcome.test.exercise}: {outcome.test.description}",
            "number": str(number),
            "score": earned,
            "max_score": possible,
            "status": "passed" if outcome.passed else "failed",
            "output": outcome.message,
            "tags": tags,
            "visibility": "after_published" if outcome.test.hidden else "visible",
            "extra_data": {"id": outcome.test.id, "outcome": outcome.status},
        })
    return {
        "score": result.total,
        "execution_time": round(result.execution_time, 3),
        "output": summary_line(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"isolation": result.isolation, "events": list(result.events)},
    }
