"""``grades.csv``: one row per student, points per exercise and the total."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from grader.assignment import Assignment
from grader.reports.summary import number
from grader.results import StudentResult


def csv_header(assignment: Assignment) -> list[str]:
    return ["student", *(e.id for e in assignment.exercises), "total"]


def csv_row(result: StudentResult) -> list[str]:
    """Points per exercise; an empty cell for an exercise this run did not grade."""
    scores = result.scores
    return [result.student, *(number(scores[e.id].points) if scores[e.id].total_weight else ""
                              for e in result.assignment.exercises), number(result.total)]


def write_grades_csv(path: Path, assignment: Assignment, graded: list[StudentResult]) -> None:
    """Write ``grades.csv`` atomically: the students in name order."""
    temporary = path.with_suffix(".csv.tmp")
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(assignment))
        for result in sorted(graded, key=lambda r: r.student):
            writer.writerow(csv_row(result))
    os.replace(temporary, path)
