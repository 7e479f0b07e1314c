"""``grades.csv``: one row per student of the class, points per exercise, the total and a note.

    student,<exercise>,<exercise>,...,total,note
    ada,10,10,...,100,
    bob,0,0,...,0,no module of the assignment: found main.py, notes.txt
    cleo,10,,...,10,unpacked cleo.zip

An empty cell is an exercise not graded for that student (``--exercise``). The note says how the
submission was found or why it could not be graded, and for a student whose submission is no
longer in SUBMISSIONS, that it is not (their last grade is kept).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from grader.assignment import Assignment
from grader.reports.summary import class_notes, describe, number
from grader.results import StudentResult


def csv_header(assignment: Assignment) -> list[str]:
    return ["student", *(e.id for e in assignment.exercises), "total", "note"]


def points(result: StudentResult) -> list[str]:
    """Points per exercise and the total; an empty cell for an exercise not graded."""
    scores = result.scores
    return [*(number(scores[e.id].points) if scores[e.id].total_weight else ""
              for e in result.assignment.exercises), number(result.total)]


def write_grades_csv(path: Path, assignment: Assignment, graded: list[StudentResult],
                     absent: dict[str, str]) -> None:
    """Write ``grades.csv`` atomically: the students in name order (``absent``: student -> the
    SUBMISSIONS folder their submission was missing from)."""
    write_csv(path, csv_header(assignment), [
        [r.student, *points(r), "; ".join(describe(n) for n in class_notes(r, absent))]
        for r in sorted(graded, key=lambda r: r.student)])


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """A UTF-8 CSV written atomically (a reader never sees half a file)."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(temporary, path)
