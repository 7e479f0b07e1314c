"""``grader grade``: a folder of submissions in, grades and feedback out.

Each sub-folder of SUBMISSIONS is one student. Every result is saved to ``OUT/grades.sqlite``
and written to ``OUT/<student>/results.json`` and ``feedback.md`` as soon as it is known;
``OUT/grades.csv`` is rewritten from the store at the end. A rerun regrades only submissions
whose content (or the assignment's tests) changed, unless ``force``.

With ``jobs`` > 1, that many grading processes each hold the suite and a worker template; with
``dask``, the processes of a Dask cluster do (see :mod:`grader.grading.dask_cluster`).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from grader.assignment import Assignment, load
from grader.grading import store as store_mod
from grader.grading.context import GradeRequest, GradingContext, plans_key
from grader.grading.dask_cluster import grade_on_cluster
from grader.grading.plans import Plans
from grader.reports import html, markdown, results_json, spreadsheet
from grader.results import StudentResult


def run_batch(request: GradeRequest, console=None) -> int:
    """Grade, write every output, print a summary; returns the exit code (0 unless unusable)."""
    from rich.console import Console

    console = console or Console(stderr=True)
    assignment = load(request.reference)
    students = _students(request)
    request.out.mkdir(parents=True, exist_ok=True)
    db = store_mod.Store(request.out / "grades.sqlite")
    try:
        from grader.grading.suite import fingerprint as suite_fingerprint

        for exercise in request.exercises:
            assignment.exercise(exercise)
        fingerprint = suite_fingerprint([request.reference, request.published], request.exercises)
        hashes = {name: store_mod.content_hash(folder) for name, folder in students.items()}
        todo = [name for name in students
                if request.force or not db.is_current(name, hashes[name], fingerprint)]
        console.print(f"assignment {assignment.id}: {len(students)} submissions, {len(todo)} to "
                      f"grade ({len(students) - len(todo)} unchanged), jobs={request.jobs}")
        cache = (request.out / ".cache", plans_key(request, fingerprint))  # one key for the whole run
        for result in _grade_all(request, {n: students[n] for n in todo}, console, cache):
            db.save(result, hashes[result.student], fingerprint)
            write_student_outputs(request.out, result)
        Plans.compact(*cache)
        graded = [r for r in (db.load(name, assignment) for name in students) if r]
        spreadsheet.write_grades_csv(request.out / "grades.csv", assignment, graded)
        _write_atomic(request.out / "index.html", html.class_page(assignment, graded))
    finally:
        db.close()
    _print_summary(console, assignment, graded, request.out)
    return 0


def _students(request: GradeRequest) -> dict[str, Path]:
    folders = {p.name: p / request.inner for p in sorted(request.submissions.iterdir())
               if p.is_dir() and not p.name.startswith((".", "_")) and (p / request.inner).is_dir()}
    if request.students:
        missing = set(request.students) - set(folders)
        if missing:
            raise SystemExit(f"error: no submission folder for {', '.join(sorted(missing))}")
        folders = {n: folders[n] for n in request.students}
    return folders


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
    the Dask cluster at ``request.dask``; local processes keep their plans in ``cache``
    (folder, key). With fewer submissions than jobs, each process splits a submission's
    exercises over the cores left (``shards``)."""
    processes = max(1, min(request.jobs, len(todo)))
    shards = request.jobs // processes
    if request.dask:
        yield from grade_on_cluster(request, todo, request.dask)
    elif processes == 1:
        context = GradingContext(request, cache, shards)
        try:
            for name, folder in todo.items():
                yield context.grade(name, folder)
        finally:
            context.close()
    else:
        assignment = load(request.reference)
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn"),
                                   initializer=_init_process, initargs=(request, cache, shards))
        with pool:
            futures = {pool.submit(_grade_in_process, name, str(folder)): name
                       for name, folder in todo.items()}
            for future in as_completed(futures):
                yield store_mod.from_payload(futures[future], assignment, future.result())


_CONTEXT: GradingContext | None = None


def _init_process(request: GradeRequest, plans_cache: tuple[Path, str], shards: int) -> None:
    global _CONTEXT
    _CONTEXT = GradingContext(request, plans_cache, shards)
    atexit.register(_CONTEXT.close)  # the pool's processes exit normally: stop the template, remove scratch


def _grade_in_process(student: str, folder: str) -> dict:
    return store_mod.to_payload(_CONTEXT.grade(student, Path(folder)))


# --- outputs -----------------------------------------------------------------------------------

def write_student_outputs(out: Path, result: StudentResult) -> None:
    folder = out / result.student
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "results.json", json.dumps(results_json.to_gradescope(result), indent=2))
    _write_atomic(folder / "feedback.md", markdown.to_feedback_md(result))
    _write_atomic(folder / "feedback.html", html.student_page(result))


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _print_summary(console, assignment: Assignment, graded: list[StudentResult], out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"assignment {assignment.id}: {len(graded)} students")
    table.add_column("student")
    for exercise in assignment.exercises:
        table.add_column(f"{exercise.id}\n/{exercise.points:g}", justify="right")
    table.add_column(f"total\n/{assignment.total_points:g}", justify="right")
    for result in sorted(graded, key=lambda r: r.student):
        table.add_row(*spreadsheet.csv_row(result))
    console.print(table)
    console.print(f"wrote {out / 'grades.csv'}, {out / 'index.html'}, and results.json + feedback.md + "
                  f"feedback.html per student in {out}")
    if graded:
        console.print(f"isolation: {graded[-1].isolation}")
    sys.stderr.flush()
