"""nbgrader courses: where submissions are, and the scores written into the course's gradebook.

    grader grade 01 --nbgrader COURSE --assignment NAME

grades ``COURSE/submitted/<student>/NAME/`` (nbgrader's layout after ``nbgrader collect``) like
any batch, then records each student's points per exercise in the course's gradebook through
``nbgrader.api.Gradebook``: the assignment NAME, a notebook named after the assignment's
notebook (its file name), one grade cell per exercise (its points as ``max_score``), and each
graded exercise as the ``auto_score`` of the student's grade. ``nbgrader export`` and the
formgrader then show them. Exercises this run did not grade (``--exercise``) keep their scores.
The gradebook is found as nbgrader finds it: ``CourseDirectory.db_url`` and ``course_id`` from
the course's ``nbgrader_config.py``, by default ``COURSE/gradebook.db``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

from grader.assignment import Assignment, load
from grader.authoring.notebook import notebook_name
from grader.grading.context import GradeRequest
from grader.grading.store import Store
from grader.results import StudentResult

SUBMITTED = "submitted"
TIMESTAMP = "timestamp.txt"


class GradebookError(ValueError):
    """A course or gradebook that cannot be used, with what is wrong."""


def submitted_folder(course: Path, name: str) -> Path:
    """``course/submitted``, checked to hold at least one submission of assignment ``name`` (and
    nbgrader to be installed, before any grading)."""
    if importlib.util.find_spec("nbgrader") is None:
        raise GradebookError("--nbgrader needs nbgrader: pip install nbgrader "
                             "(or this project's [nbgrader] extra)")
    submitted = course / SUBMITTED
    if not submitted.is_dir():
        raise GradebookError(f"{course} is not an nbgrader course with submissions "
                             f"({submitted} does not exist; run `nbgrader collect {name}` first)")
    if not any((student / name).is_dir() for student in submitted.iterdir()):
        raise GradebookError(f"no student in {submitted} has a submission folder {name}/")
    return submitted


def record(request: GradeRequest, course: Path, name: str) -> str:
    """Write the stored results of the students ``request`` graded (``OUT/grades.sqlite``) into
    the gradebook of ``course`` for assignment ``name``; returns the gradebook's URL."""
    from nbgrader.api import Gradebook

    assignment = load(request.reference)
    graded = _stored_results(request, assignment)
    url, course_id = _database(course)
    notebook = notebook_name(assignment).removesuffix(".ipynb")
    with Gradebook(url, course_id) as book:
        book.update_or_create_assignment(name)
        book.update_or_create_notebook(notebook, name)
        for exercise in assignment.exercises:
            book.update_or_create_grade_cell(exercise.id, notebook, name, max_score=exercise.points,
                                             cell_type="code")
        for result in graded:
            _record_student(book, course, name, notebook, result)
    return url


def _stored_results(request: GradeRequest, assignment: Assignment) -> list[StudentResult]:
    names = request.students or tuple(p.name for p in sorted(request.submissions.iterdir())
                                      if (p / request.inner).is_dir())
    db = Store(request.out / "grades.sqlite")
    try:
        return [r for r in (db.load(n, assignment) for n in names) if r is not None]
    finally:
        db.close()


def _record_student(book, course: Path, name: str, notebook: str, result: StudentResult) -> None:
    from nbgrader.api import Grade, MissingEntry, SubmittedNotebook

    book.update_or_create_student(result.student)
    stamp = course / SUBMITTED / result.student / name / TIMESTAMP
    extra = {"timestamp": stamp.read_text().strip()} if stamp.is_file() else {}
    with warnings.catch_warnings():  # nbgrader's add_submission under SQLAlchemy 2: harmless
        warnings.filterwarnings("ignore", message=".* not in session")
        submission = book.update_or_create_submission(name, result.student, **extra)
    try:
        submitted = book.find_submission_notebook(notebook, name, result.student)
    except MissingEntry:  # submitted before the notebook existed in the gradebook
        submitted = SubmittedNotebook(notebook=book.find_notebook(notebook, name), assignment=submission)
    for exercise, score in result.scores.items():
        if not score.total_weight:
            continue  # not graded in this run
        try:
            grade = book.find_grade(exercise, notebook, name, result.student)
        except MissingEntry:  # submitted before the grade cell existed
            grade = Grade(cell_id=book.find_grade_cell(exercise, notebook, name).id, notebook=submitted)
            book.db.add(grade)
        grade.auto_score = score.points
    book.db.commit()


def _database(course: Path) -> tuple[str, str]:
    """The gradebook URL and course id nbgrader itself uses for ``course``."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except ConfigFileNotFound:
        config = None
    directory = CourseDirectory(config=config, root=str(course.resolve()))
    return directory.db_url, directory.course_id
