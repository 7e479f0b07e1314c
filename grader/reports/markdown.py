"""``feedback.md``: the student's feedback page in Markdown, as a function of their result."""

from __future__ import annotations

from grader import results
from grader.grading import feedback
from grader.reports.summary import (
    MAX_PRINTED_OUTPUT,
    diagnoses,
    exercise_note,
    failure_groups,
    note_sentences,
    number,
)
from grader.results import StudentResult


def to_feedback_md(result: StudentResult) -> str:
    assignment, scores = result.assignment, result.scores
    lines = [f"# Assignment {assignment.id} ({assignment.title}): feedback for {result.student}", "",
             f"**Total: {number(result.total)} / {number(assignment.total_points)}**", ""]
    if result.notes:
        lines += ["## About your submission", "", *(f"- {s}" for s in note_sentences(result)), ""]
    lines += ["| exercise | points | tests passed | note |", "| --- | ---: | ---: | --- |"]
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
