"""``grader grade``: a folder of submissions in, grades and feedback out; ``grader report``: the
class files again, from what is stored.

SUBMISSIONS holds one folder or ``.zip`` per student (:mod:`grader.grading.roster`); each is
unpacked, looked through and checked by :mod:`grader.grading.submissions`. Every result is saved
to ``OUT/grades.sqlite`` and written to ``OUT/<student>/results.json``, ``feedback.md`` and
``feedback.html`` as soon as it is known. At the end the class files are rewritten from the store,
for every student of the class in OUT, whatever subset this run graded (``--student``, a folder
holding only late submissions):

    OUT/grades.csv                  points per exercise, the total and a note, one row per student
    OUT/canvas.csv, OUT/moodle.csv  the same points as the Canvas and Moodle gradebooks import them
    OUT/index.html                  the class page

A student whose submission is no longer in SUBMISSIONS keeps their row, with a note saying so,
in the class files and the summary; ``prune`` drops them (their stored result and their files).
A rerun regrades only submissions whose content (or the assignment's tests) changed, unless
``force``.

With ``jobs`` > 1, that many grading processes each hold the suite and a worker template; with
``dask``, the processes of a Dask cluster do (see :mod:`grader.grading.dask_cluster`).

A SUBMISSIONS, OUT or ``--student`` that cannot be used is a :class:`BatchError` (or a
:class:`grader.grading.roster.RosterError`), one line, before anything is graded.
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from grader.assignment import Assignment, load, locate
from grader.grading import store as store_mod
from grader.grading.context import GradeRequest, GradingContext
from grader.grading.dask_cluster import grade_on_cluster
from grader.grading.roster import Roster, read_roster
from grader.grading.transcripts import Transcripts, cache_key
from grader.reports import html, lms, markdown, results_json, spreadsheet, terminal
from grader.results import StudentResult

STORE = "grades.sqlite"
CLASS_FILES = ("grades.csv", "canvas.csv", "moodle.csv", "index.html")
STUDENT_FILES = ("results.json", "feedback.md", "feedback.html")


class BatchError(ValueError):
    """SUBMISSIONS, OUT or a selected student that cannot be used; one line saying why."""


def run_batch(request: GradeRequest, console=None) -> int:
    """Grade, write every output, print a summary; returns the exit code (0: graded)."""
    from rich.console import Console

    console = console or Console(stderr=True)
    assignment = load(request.reference)
    for exercise in request.exercises:
        assignment.exercise(exercise)
    roster = _roster(request, assignment)
    students = _selected(roster, request.students)
    db = open_store(request.out, assignment.id)
    try:
        from grader.grading.suite import fingerprint as suite_fingerprint

        fingerprint = suite_fingerprint([request.reference, request.published], request.exercises)
        hashes = {name: store_mod.content_hash(entry) for name, entry in students.items()}
        todo = [name for name in students
                if request.force or not db.is_current(name, hashes[name], fingerprint)]
        console.print(f"assignment {assignment.id}: {len(students)} submissions, {len(todo)} to "
                      f"grade ({len(students) - len(todo)} unchanged), jobs={request.jobs}")
        cache = (request.out / ".cache", cache_key(fingerprint))
        for result in _grade_all(request, {n: students[n] for n in todo}, console, cache):
            db.save(result, hashes[result.student], fingerprint)
            write_student_outputs(request.out, result)
        absent = {name: str(request.submissions) for name in db.students() if name not in roster.entries}
        if request.prune:
            for name in absent:
                db.delete(name)
                _remove_student_outputs(request.out, name)
            absent = {}
        db.set_absent(absent)
        graded = write_class_files(request.out, assignment, db)
    finally:
        db.close()
    _print_summary(console, assignment, graded, absent, roster.skipped, request.out)
    return 0


def rebuild(out: Path, root: Path, console=None) -> int:
    """``grader report OUT``: every output in OUT written again from ``OUT/grades.sqlite``,
    without grading (the assignment is the one the store records, found under ``root``)."""
    from rich.console import Console

    console = console or Console(stderr=True)
    if not (out / STORE).is_file():
        raise BatchError(f"{out} holds no {STORE}: grade into it first "
                         f"(grader grade ID SUBMISSIONS --out {out})")
    db = open_store(out, None)
    try:
        assignment_id = db.assignment_id()
        if assignment_id is None:
            raise BatchError(f"{out / STORE} does not record its assignment (an older grader wrote it): "
                             "grade into it once more")
        assignment = load(locate(assignment_id, root)[0])
        for result in db.load_all(assignment):
            write_student_outputs(out, result)
        graded, absent = write_class_files(out, assignment, db), db.absent()
    finally:
        db.close()
    _print_summary(console, assignment, graded, absent, (), out)
    return 0


# --- what is graded, where it goes ------------------------------------------------------------

def _roster(request: GradeRequest, assignment: Assignment) -> Roster:
    """The students of SUBMISSIONS, after checking SUBMISSIONS and OUT can be used."""
    submissions, out = request.submissions, request.out
    if not submissions.exists():
        raise BatchError(f"{submissions} does not exist: give the folder that holds a folder or zip "
                         "per student")
    if submissions.is_file():
        hint = (f": unpack it first (unzip {submissions} -d {submissions.with_suffix('')}) and give "
                "that folder"
                if submissions.suffix.lower() == ".zip" else "")
        raise BatchError(f"{submissions} is a file, not a folder of submissions{hint}")
    if out.exists() and not out.is_dir():
        raise BatchError(f"--out {out} is a file: give a folder for the grades (it is created if missing)")
    folder, target = submissions.resolve(), out.resolve()
    if target == folder:
        raise BatchError(f"--out {out} is SUBMISSIONS itself: give another folder for the grades")
    if target.is_relative_to(folder) and len(target.relative_to(folder).parts) > 1:
        student = target.relative_to(folder).parts[0]
        raise BatchError(f"--out {out} is inside the submission {student}: give a folder outside it")
    try:
        return read_roster(submissions, out, assignment.student_modules, request.inner,
                           reserved=(STORE, *CLASS_FILES))
    except PermissionError as exc:
        raise BatchError(f"{submissions} cannot be read: {exc.strerror}") from None


def _selected(roster: Roster, names: tuple[str, ...]) -> dict[str, Path]:
    """The roster's entries, or only those of ``names`` (all of which must be there)."""
    if not names:
        return dict(roster.entries)
    missing = sorted(set(names) - set(roster.entries))
    if missing:
        raise BatchError(f"no submission in {roster.folder} for --student {', '.join(missing)}")
    return {n: roster.entries[n] for n in names}


def open_store(out: Path, assignment_id: str | None) -> store_mod.Store:
    """``OUT/grades.sqlite`` (OUT created when missing), checked to hold ``assignment_id``'s
    results (or none yet), and recording it; any store with ``None``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot create --out {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise BatchError(f"cannot write in --out {out}: permission denied")
    try:
        db = store_mod.Store(out / STORE)
    except sqlite3.DatabaseError as exc:
        raise BatchError(f"{out / STORE} is not a grades store ({exc}): give another --out") from None
    stored = db.assignment_id()
    if assignment_id is not None and stored not in (None, assignment_id):
        db.close()
        raise BatchError(f"{out} holds the grades of assignment {stored}: give another --out for "
                         f"assignment {assignment_id}")
    if assignment_id is not None and stored is None:
        db.set_assignment_id(assignment_id)
    return db


# --- grading ------------------------------------------------------------------------------------

def _grade_all(request: GradeRequest, todo: dict[str, Path], console, cache: tuple[Path, str]):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if not todo:
        return
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=len(todo))
        for result in _results(request, todo, cache):
            progress.update(task, description=result.student)
            yield result
            progress.advance(task)


def _results(request: GradeRequest, todo: dict[str, Path], cache: tuple[Path, str]):
    """Each submission's result, in the order they finish: here, in ``jobs`` processes, or on
    the Dask cluster at ``request.dask``. With fewer submissions than jobs, each process splits a
    submission's exercises over the cores left (``shards``).

    Local processes share the tests' transcripts (:mod:`grader.grading.transcripts`): those in
    ``cache`` (folder, key), or else, when there are more submissions than processes (with as
    many, each is graded once and a recording would not pay), recorded from the reference by
    the first process to be ready, before its first submission; the others grade without them
    until they are saved, then pick them up. Dask workers get those in ``cache``, or record their
    own (:mod:`grader.grading.dask_cluster`)."""
    processes = max(1, min(request.jobs, len(todo)))
    shards = request.jobs // processes
    transcripts = Transcripts.load(*cache)
    record = transcripts is None and len(todo) > processes
    if request.dask:
        yield from grade_on_cluster(request, todo, request.dask, transcripts)
    elif processes == 1:
        context = GradingContext(request, transcripts, shards)
        try:
            if record:
                context.try_recording(cache)
            for name, entry in todo.items():
                yield context.grade(name, entry)
        finally:
            context.close()
    else:
        assignment, spawn = load(request.reference), get_context("spawn")
        recording = (spawn.Lock(), spawn.Event()) if record else None
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=spawn, initializer=_init_process,
                                   initargs=(request, cache, shards, recording))
        with pool:
            futures = {pool.submit(_grade_in_process, name, str(entry)): name
                       for name, entry in todo.items()}
            for future in as_completed(futures):
                yield store_mod.from_payload(futures[future], assignment, future.result())


_CONTEXT: GradingContext | None = None
_PENDING: tuple | None = None  # (cache, its saved event) while another process records the transcripts


def _init_process(request: GradeRequest, cache: tuple[Path, str], shards: int, recording: tuple | None) -> None:
    """A pool process's context; with ``recording`` (a lock, an event), the first process to get
    the lock records the transcripts and sets the event once they are saved."""
    global _CONTEXT, _PENDING
    _CONTEXT = GradingContext(request, Transcripts.load(*cache), shards)
    atexit.register(_CONTEXT.close)  # the pool's processes exit normally: stop the template, remove scratch
    if recording is None:
        return
    turn, saved = recording
    if turn.acquire(block=False):
        try:
            _CONTEXT.try_recording(cache)
        finally:
            saved.set()
    else:
        _PENDING = (cache, saved)


def _grade_in_process(student: str, entry: str) -> dict:
    global _PENDING
    if _PENDING is not None and _PENDING[1].is_set():
        _CONTEXT.transcripts, _PENDING = Transcripts.load(*_PENDING[0]) or Transcripts(), None
    return store_mod.to_payload(_CONTEXT.grade(student, Path(entry)))


# --- outputs -----------------------------------------------------------------------------------

def write_student_outputs(out: Path, result: StudentResult) -> None:
    folder = out / result.student
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "results.json", json.dumps(results_json.to_gradescope(result), indent=2))
    _write_atomic(folder / "feedback.md", markdown.to_feedback_md(result))
    _write_atomic(folder / "feedback.html", html.student_page(result))


def _remove_student_outputs(out: Path, student: str) -> None:
    """Remove the files the grader wrote for ``student`` (and their folder, when that leaves it empty)."""
    folder = out / student
    for name in STUDENT_FILES:
        (folder / name).unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def write_class_files(out: Path, assignment: Assignment, db: store_mod.Store) -> list[StudentResult]:
    """Write :data:`CLASS_FILES` for every student in the store; returns their results."""
    graded, absent = db.load_all(assignment), db.absent()
    spreadsheet.write_grades_csv(out / "grades.csv", assignment, graded, absent)
    lms.write_canvas_csv(out / "canvas.csv", assignment, graded)
    lms.write_moodle_csv(out / "moodle.csv", assignment, graded)
    _write_atomic(out / "index.html", html.class_page(assignment, graded, absent))
    return graded


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _print_summary(console, assignment: Assignment, graded: list[StudentResult],
                   absent: dict[str, str], skipped: tuple[str, ...], out: Path) -> None:
    terminal.print_summary(console, assignment, graded, absent, skipped)
    console.print(f"wrote {', '.join(str(out / name) for name in CLASS_FILES)}, and "
                  f"{' + '.join(STUDENT_FILES)} per student in {out}", markup=False, highlight=False,
                  soft_wrap=True)
    if graded:
        console.print(f"isolation: {graded[-1].isolation}", markup=False, highlight=False, soft_wrap=True)
    sys.stderr.flush()
