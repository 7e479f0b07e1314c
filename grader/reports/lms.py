"""Gradebook CSVs that Canvas and Moodle import, written beside ``grades.csv``.

Both hold one row per student of the class, one column per exercise (``Assignment 01: <exercise>``)
and the total (``Assignment 01``), points as plain numbers (an empty cell: not graded). They
differ in how a student is identified, and the student is known here only by their folder's (or
zip's) name, so name folders by the login the LMS knows:

- ``canvas.csv``: Canvas's gradebook import reads a header row, the student columns ``Student``,
  ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment; an
  unknown assignment column becomes a new assignment, and a row is matched on one of the student
  columns (Canvas Instructor Guide, "How do I import grades in the Gradebook?"; OSU's "Import a CSV
  file to Carmen Grades"). The folder name goes in ``Student`` and ``SIS Login ID``.
- ``moodle.csv``: Moodle's CSV grade import (Grades > Import > CSV file) reads a header row and
  asks which column identifies the user ("Map from", here ``Username``) and which user field it
  holds ("Map to": username, idnumber or email), then maps each other column to a grade item or a
  new one (MoodleDocs, "Grade import").
"""

from __future__ import annotations

from pathlib import Path

from grader.assignment import Assignment
from grader.reports.spreadsheet import points, write_csv
from grader.results import StudentResult

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_STUDENT_COLUMNS = ["Username"]


def item_columns(assignment: Assignment) -> list[str]:
    """One gradebook item per exercise, then the assignment's total."""
    return [*(f"Assignment {assignment.id}: {e.id}" for e in assignment.exercises),
            f"Assignment {assignment.id}"]


def write_canvas_csv(path: Path, assignment: Assignment, graded: list[StudentResult]) -> None:
    write_csv(path, CANVAS_STUDENT_COLUMNS + item_columns(assignment),
              [[r.student, "", "", r.student, "", *points(r)] for r in _in_order(graded)])


def write_moodle_csv(path: Path, assignment: Assignment, graded: list[StudentResult]) -> None:
    write_csv(path, MOODLE_STUDENT_COLUMNS + item_columns(assignment),
              [[r.student, *points(r)] for r in _in_order(graded)])


def _in_order(graded: list[StudentResult]) -> list[StudentResult]:
    return sorted(graded, key=lambda r: r.student)
