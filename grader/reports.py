"""Output formats, each a function of a student's result: no format knows another.

    to_gradescope(result)  -> dict in Gradescope's results.json schema
    to_feedback_md(result) -> the student's feedback page (Markdown)
    csv_header(assignment), csv_row(result) -> grades.csv
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader import feedback, results
from grader.diagnose import WeightsPair
from grader.proxy import LIMIT_ERRORS
from grader.assignment import Assignment

MAX_PRINTED_OUTPUT = 10_000


@dataclass(frozen=True)
class StudentResult:
    student: str
    assignment: Assignment
    outcomes: tuple[results.TestOutcome, ...]
    execution_time: float  # seconds of grading
    isolation: str  # the layers reached, e.g. "process+rlimits+bwrap+landlock+cgroup+uid"
    printed: str = ""  # what the submission wrote to stdout/stderr (truncated)
    events: tuple[str, ...] = field(default=())  # limits hit, crashes
    heatmaps: tuple[WeightsPair, ...] = field(default=())  # expected vs student attention weights

    @property
    def scores(self) -> dict[str, results.ExerciseScore]:
        return results.score(self.assignment, self.outcomes)

    @property
    def total(self) -> float:
        return results.total(self.scores)


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
        "output": _summary_line(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"isolation": result.isolation, "events": list(result.events)},
    }


def csv_header(assignment: Assignment) -> list[str]:
    return ["student", *(e.id for e in assignment.exercises), "total"]


def csv_row(result: StudentResult) -> list[str]:
    """Points per exercise; an empty cell for an exercise this run did not grade."""
    scores = result.scores
    return [result.student, *(number(scores[e.id].points) if scores[e.id].total_weight else ""
                              for e in result.assignment.exercises), number(result.total)]


def to_feedback_md(result: StudentResult) -> str:
    assignment, scores = result.assignment, result.scores
    lines = [f"# Assignment {assignment.id} ({assignment.title}): feedback for {result.student}", "",
             f"**Total: {number(result.total)} / {number(assignment.total_points)}**", "",
             "| exercise | points | tests passed | note |", "| --- | ---: | ---: | --- |"]
    for exercise in assignment.exercises:
        mine = [o for o in result.outcomes if o.test.exercise == exercise.id]
        s = scores[exercise.id]
        note = exercise_note(mine, s)
        lines.append(f"| {exercise.id} ({exercise.title}) | {number(s.points)} / "
                     f"{number(exercise.points)} | {sum(o.passed for o in mine)}/{len(mine)} | {note} |")
    failures = [o for o in result.outcomes if not o.passed]
    if failures:
        lines += ["", "## What to fix", ""]
        for exercise in assignment.exercises:
            mine = [o for o in failures if o.test.exercise == exercise.id]
            if mine:
                lines += _exercise_failures(exercise.id, mine)
    if result.events:
        lines += ["", "## Limits hit while grading", ""] + [f"- {event}" for event in result.events]
    if result.printed.strip():
        printed = result.printed[:MAX_PRINTED_OUTPUT]
        lines += ["", "## What your code printed (shortened)", "", "```", printed.rstrip(), "```"]
    lines += ["", f"_Graded in {result.execution_time:.1f} s; isolation: {result.isolation}._", ""]
    return "\n".join(lines)


def exercise_note(outcomes: list[results.TestOutcome], score: results.ExerciseScore) -> str:
    if not outcomes:
        return "not graded in this run"
    if score.forbidden:
        return "0: uses a forbidden built-in (must be written from scratch)"
    if outcomes and all(o.status == results.NOT_IMPLEMENTED for o in outcomes):
        return "not implemented yet"
    return ""


def _exercise_failures(exercise_id: str, outcomes: list[results.TestOutcome]) -> list[str]:
    """The failures of one exercise: its named mistakes once, then identical errors shown once
    with how many tests they fail."""
    if all(o.status == results.NOT_IMPLEMENTED for o in outcomes):
        return [f"### {exercise_id}", "", "Not implemented yet.", ""]
    lines = [f"### {exercise_id}", ""]
    for diagnosis in diagnoses(outcomes):
        lines += ["```", diagnosis, "```", ""]
    groups = failure_groups(outcomes)
    for mine in groups[:5]:
        first = mine[0]
        kind = "hidden test" if first.test.hidden else "public test"
        also = f" (and {len(mine) - 1} more tests failing the same way)" if len(mine) > 1 else ""
        lines += [f"- **{first.test.description}** ({kind}){also}", "", "```",
                  feedback.split_diagnosis(first.message)[0].rstrip(), "```", ""]
    if len(groups) > 5:
        lines.append(f"- ... and {len(groups) - 5} more kinds of failure in this exercise.")
    return lines


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


def _summary_line(result: StudentResult) -> str:
    passed = sum(o.passed for o in result.outcomes)
    return (f"{number(result.total)} / {number(result.assignment.total_points)} points; "
            f"{passed} of {len(result.outcomes)} tests passed.")


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
