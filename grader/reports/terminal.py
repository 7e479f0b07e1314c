"""The class summary printed at the end of ``grader grade`` and ``grader report``.

A table of points (student x exercise, and the total), readable at any width: student ids are
printed whole (never cut to ``stu…``), and when the columns do not fit the console's width (80
when the output is a file or a pipe) the exercises are folded into several tables, each
repeating the student column. Below it, one line per kind of note, naming every student it
concerns: ``3 submissions contain no module of assignment 01: bob (found main.py), ...`` (never
broken by the grader: a log keeps it on one line, a terminal wraps it).
Names and messages are printed as plain text (a ``[bold]`` in a student id is not markup).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from grader.assignment import Assignment
from grader.reports.spreadsheet import points
from grader.reports.summary import NOTE_KINDS, class_notes, headline
from grader.results import StudentResult

_BORDER = 3  # a column's padding on both sides and its left border
_MAX_DETAIL = 200  # characters of a note shown after a student's name


def print_summary(console, assignment: Assignment, graded: list[StudentResult], absent: dict[str, str],
                  skipped: tuple[str, ...] = ()) -> None:
    """The points table of ``graded`` (the whole class), then the notes on the submissions, the
    students not in SUBMISSIONS any more (``absent``) and what SUBMISSIONS held besides
    submissions (``skipped``)."""
    graded = sorted(graded, key=lambda r: r.student)
    for table in score_tables(assignment, graded, console.width):
        console.print(table)
    for line in note_lines(assignment, graded, absent):  # one line each, however long: the terminal wraps it
        console.print(Text(line), soft_wrap=True)
    if skipped:
        console.print(Text(f"also in SUBMISSIONS, not graded: {', '.join(skipped)}"), soft_wrap=True)


def score_tables(assignment: Assignment, graded: list[StudentResult], width: int) -> list[Table]:
    """The points table (the exercises anyone was graded on, and the total), its columns folded
    into as many tables as ``width`` needs."""
    shown = [i for i, e in enumerate(assignment.exercises)  # an exercise nobody was graded on: no column
             if any(r.scores[e.id].total_weight for r in graded)] or list(range(len(assignment.exercises)))
    headers = [*(f"{assignment.exercises[i].id}\n/{assignment.exercises[i].points:g}" for i in shown),
               f"total\n/{assignment.total_points:g}"]
    rows = [[p[i] for i in shown] + p[-1:] for p in map(points, graded)]
    widths = [max([len(line) for line in h.splitlines()] + [len(row[i]) for row in rows])
              for i, h in enumerate(headers)]
    name_width = max([len("student")] + [len(r.student) for r in graded])
    # ids whole whenever the widest exercise column fits beside them; folded (never cut) otherwise
    name_width = max(8, min(name_width, width - 1 - 2 * _BORDER - max(widths)))
    groups, current, used = [], [], 1 + name_width + _BORDER
    for i, w in enumerate(widths):
        if current and used + w + _BORDER > width:
            groups.append(current)
            current, used = [], 1 + name_width + _BORDER
        current.append(i)
        used += w + _BORDER
    groups.append(current)
    tables = []
    for number, columns in enumerate(groups):
        title = f"assignment {assignment.id}: {len(graded)} students"
        if len(groups) > 1:
            title += f" ({number + 1} of {len(groups)})"
        table = Table(title=title, min_width=len(title))  # the title on one line
        table.add_column("student", overflow="fold", width=name_width)
        for i in columns:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for result, row in zip(graded, rows):
            table.add_row(Text(result.student), *(row[i] for i in columns))
        tables.append(table)
    return tables


def note_lines(assignment: Assignment, graded: list[StudentResult], absent: dict[str, str]) -> list[str]:
    """One line per kind of note (problems first), naming each student with the note's text."""
    by_kind: dict[str, list[str]] = {}
    for result in graded:
        for note in class_notes(result, absent):
            detail = note.text if len(note.text) <= _MAX_DETAIL else note.text[:_MAX_DETAIL - 3] + "..."
            by_kind.setdefault(note.kind, []).append(f"{result.student} ({detail})")
    return [f"{headline(kind, len(by_kind[kind]), assignment.id)}: {', '.join(by_kind[kind])}"
            for kind in NOTE_KINDS if kind in by_kind]
