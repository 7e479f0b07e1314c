"""``feedback.md``: the student's feedback page in Markdown, as a function of their result.

Points per exercise, then for each exercise that lost points its cause once (the named mistake,
else the most informative failure, in full) and every failed test on one line
(:class:`grader.reports.summary.Failures`). The same page is the pull request's summary
(:mod:`grader.frontends.github`)."""

from __future__ import annotations

from grader import results
from grader.grading import feedback
from grader.reports.summary import (
    NOT_RUN,
    exercise_failures,
    exercise_note,
    listing,
    note_sentences,
    number,
    printed_excerpt,
    test_kind,
    upstream_text,
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
    if any(not o.passed for o in result.outcomes):
        lines += ["", "## What to fix", ""]
        for exercise in assignment.exercises:
            lines += _exercise_failures(exercise, list(result.outcomes))
    if result.events:
        lines += ["", "## Limits hit while grading", ""] + [f"- {event}" for event in result.events]
    if result.printed.strip():
        lines += ["", "## What your code printed (shortened)", "", "```", printed_excerpt(result.printed), "```"]
    lines += ["", f"_Graded in {result.execution_time:.1f} s; isolation: {result.isolation}._", ""]
    return "\n".join(lines)


def _exercise_failures(exercise, outcomes: list[results.TestOutcome]) -> list[str]:
    """One exercise: its cause once (the named mistakes, else the exercise it builds on that
    failed too, else the most informative failure, in full), then every other failed test on one
    line: its property, and "same cause" or its error."""
    failures = exercise_failures(exercise.id, outcomes, exercise.builds_on)
    if failures is None:
        return []
    lines = [f"### {exercise.id} ({exercise.title})", ""]
    if failures.not_implemented:
        return lines + ["Not implemented yet.", ""]
    for mistake in failures.mistakes:
        lines += ["```", mistake, "```", ""]
    if failures.from_upstream:
        lines += [upstream_text(failures), ""]
    elif not failures.mistakes:
        lead = failures.lead
        lines += [f"**{lead.test.description}** ({test_kind(lead)})", "", "```",
                  feedback.split_diagnosis(lead.message)[0].rstrip(), "```", ""]
    head, listed = listing(failures)
    if head:
        lines += [head, ""]
    if listed:
        lines += [*(f"- {o.test.description} ({test_kind(o)}): {note}" for o, note in listed), ""]
    if failures.not_run:
        lines += [f"{failures.not_run} more tests {NOT_RUN}.", ""]
    return lines
