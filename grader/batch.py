"""``grader grade``: a folder of submissions in, grades and feedback out.

Each sub-folder of SUBMISSIONS is one student. Every result is saved to ``OUT/grades.sqlite``
and written to ``OUT/<student>/results.json`` and ``feedback.md`` as soon as it is known;
``OUT/grades.csv`` is rewritten from the store at the end. A rerun regrades only submissions
whose content (or the assignment's tests) changed, unless ``force``.

With ``jobs`` > 1, that many grading processes each hold the suite and a worker template; with
``dask``, the processes of a Dask cluster do (see :mod:`grader.distributed`).
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import functools
import gc
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from grader import diagnose, pages, reports, sandbox, shards
from grader import store as store_mod
from grader.assignment import Assignment, load
from grader.notebook import NotebookError
from grader.plans import Plans
from grader.submissions import NotebookFolders, unreadable


@dataclass(frozen=True)
class GradeRequest:
    reference: Path  # reference/NN: solution, hidden tests, assignment.toml
    published: Path  # assignments/NN: stubs and public tests
    submissions: Path  # one sub-folder per student
    out: Path
    jobs: int = 1
    force: bool = False  # regrade unchanged submissions too
    students: tuple[str, ...] = ()  # only these (all when empty)
    exercises: tuple[str, ...] = ()  # only these exercises' tests (all when empty)
    shrink: bool = False  # shrink failing examples to the smallest (slower)
    limit_overrides: dict = field(default_factory=dict)  # on top of the assignment's [limits]
    inner: str = ""  # each student's submission is this sub-folder of theirs (nbgrader: the assignment)
    dask: str = ""  # a Dask scheduler's address: grade on that cluster instead of local processes


def run_batch(request: GradeRequest, console=None) -> int:
    """Grade, write every output, print a summary; returns the exit code (0 unless unusable)."""
    from rich.console import Console

    console = console or Console(stderr=True)
    assignment = load(request.reference)
    students = _students(request)
    request.out.mkdir(parents=True, exist_ok=True)
    db = store_mod.Store(request.out / "grades.sqlite")
    try:
        from grader.suite import fingerprint as suite_fingerprint

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
        write_grades_csv(request.out / "grades.csv", assignment, graded)
        _write_atomic(request.out / "index.html", pages.class_page(assignment, graded))
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
        from grader.distributed import grade_on_cluster

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


def default_jobs() -> int:
    """One grading process per CPU core this process may run on."""
    return len(os.sched_getaffinity(0))


def plans_key(request: GradeRequest, fingerprint: str) -> str:
    """The key under which a batch keeps its tests' plans in ``OUT/.cache`` (:mod:`grader.plans`):
    a failure's message depends on ``--shrink`` too."""
    return Plans.key(f"{fingerprint} shrink={request.shrink}")


class GradingContext:
    """What one grading process holds: the suite, the reference, a worker template, and the
    tests' plans (loaded from and saved to ``plans_cache``, a folder and a key, when given).
    With ``shards`` > 1, each submission's exercises are split between that many forked copies
    of the process (:mod:`grader.shards`), for when there are more cores than submissions."""

    def __init__(self, request: GradeRequest, plans_cache: tuple[Path, str] | None = None,
                 shards: int = 1):
        from grader.pool import Template
        from grader.pytest_plugin import load_reference
        from grader.replay import Replays
        from grader.suite import collect
        from grader.testing import load_hypothesis_profile

        assignment = load(request.reference)
        limits = sandbox.Limits.from_mapping({**assignment.limits, **request.limit_overrides})
        self.notebooks = NotebookFolders(assignment.student_modules)
        # the template imports torch in the background while the tests are collected
        self.template = Template(limits, visible=(str(request.submissions.resolve()),
                                                  str(self.notebooks.root)))
        if shards > 1:
            import torch

            torch.set_num_threads(1)  # before any tensor work: no thread pool to carry over a fork
        try:
            self.suite = collect(request.reference, request.published).select(request.exercises)
        except BaseException:
            self.template.close()
            self.notebooks.close()
            raise
        load_hypothesis_profile(shrink=request.shrink)  # after collect: pytest's plugin loads its own
        self.suite.set_shrinking(request.shrink)
        self.assignment = self.suite.assignment
        self.reference = load_reference(self.assignment)
        self.catalogue = diagnose.load(self.assignment)
        self.replays = Replays()
        self.plans_cache = plans_cache
        self.plans = Plans.load(*plans_cache) if plans_cache else Plans()
        self.shards = shards
        gc.freeze()  # torch, the tests and the reference stay: keep them out of every collection

    def grade(self, student: str, folder: Path) -> reports.StudentResult:
        start = time.perf_counter()
        try:
            folder = self.notebooks.modules_folder(folder)
        except NotebookError as exc:
            return unreadable(student, self.suite, exc, self.template.isolation.summary())
        groups = shards.partition(self.suite, self.shards)
        if len(groups) <= 1:
            result = self._grade(student, folder, self.suite)
        else:
            self.template.wait_ready()  # before forking: the copies share its control channel
            jobs = [functools.partial(self._grade_part, student, folder, self.suite.select(group), copy)
                    for copy, group in enumerate(groups)]
            parts = [store_mod.from_payload(student, self.assignment, p) for p in shards.run_forked(jobs)]
            result = self._merged(student, parts)
        return dataclasses.replace(result, execution_time=time.perf_counter() - start)

    def _grade(self, student: str, folder: Path, suite) -> reports.StudentResult:
        from grader.proxy import Submission

        session = self.template.session(folder, self.assignment.forbidden_calls)
        try:
            runner = self.plans.runner(session)
            submission = Submission(runner.transport, self.assignment.student_modules)
            outcomes = suite.run(submission, self.reference, self.replays, around=runner.run)
            found = diagnose.diagnose(self.catalogue, self.assignment, submission, self.reference, outcomes)
        finally:
            printed = session.close()
        return reports.StudentResult(
            student, self.assignment, tuple(found.outcomes), 0.0, self.template.isolation.summary(),
            printed, tuple(session.events), tuple(found.heatmaps))

    def _grade_part(self, student: str, folder: Path, suite, copy: int) -> dict:
        """One shard's result as plain data; a forked copy (``copy`` > 0) also saves the plans it
        learned, since it ends when the shard does."""
        result = self._grade(student, folder, suite)
        if copy and self.plans_cache is not None:
            self.plans.save(*self.plans_cache)
        return store_mod.to_payload(result)

    def _merged(self, student: str, parts: list[reports.StudentResult]) -> reports.StudentResult:
        """The shards' results as one: outcomes in the suite's order, heatmaps in the catalogue's
        (as one process would list them); printed output and events shard after shard."""
        tests = {t.definition.id: i for i, t in enumerate(self.suite.tests)}
        heatmaps = {(diagnose.exercise_of(self.assignment, e), e.function): i
                    for i, e in reversed(list(enumerate(self.catalogue.heatmaps)))}
        return reports.StudentResult(
            student, self.assignment,
            tuple(sorted((o for p in parts for o in p.outcomes), key=lambda o: tests[o.test.id])),
            0.0, parts[0].isolation,
            "".join(p.printed for p in parts)[:self.template.limits.output_bytes],
            tuple(e for p in parts for e in p.events),
            tuple(sorted((h for p in parts for h in p.heatmaps), key=lambda h: heatmaps[h.exercise, h.function])))

    def close(self) -> None:
        if self.plans_cache is not None:
            self.plans.save(*self.plans_cache)
        self.template.close()
        self.notebooks.close()


_CONTEXT: GradingContext | None = None


def _init_process(request: GradeRequest, plans_cache: tuple[Path, str], shards: int) -> None:
    global _CONTEXT
    _CONTEXT = GradingContext(request, plans_cache, shards)
    atexit.register(_CONTEXT.close)  # the pool's processes exit normally: stop the template, remove scratch


def _grade_in_process(student: str, folder: str) -> dict:
    return store_mod.to_payload(_CONTEXT.grade(student, Path(folder)))


# --- outputs -----------------------------------------------------------------------------------

def write_student_outputs(out: Path, result: reports.StudentResult) -> None:
    folder = out / result.student
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "results.json", json.dumps(reports.to_gradescope(result), indent=2))
    _write_atomic(folder / "feedback.md", reports.to_feedback_md(result))
    _write_atomic(folder / "feedback.html", pages.student_page(result))


def write_grades_csv(path: Path, assignment: Assignment, graded: list[reports.StudentResult]) -> None:
    temporary = path.with_suffix(".csv.tmp")
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(reports.csv_header(assignment))
        for result in sorted(graded, key=lambda r: r.student):
            writer.writerow(reports.csv_row(result))
    os.replace(temporary, path)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _print_summary(console, assignment: Assignment, graded: list[reports.StudentResult], out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"assignment {assignment.id}: {len(graded)} students")
    table.add_column("student")
    for exercise in assignment.exercises:
        table.add_column(f"{exercise.id}\n/{exercise.points:g}", justify="right")
    table.add_column(f"total\n/{assignment.total_points:g}", justify="right")
    for result in sorted(graded, key=lambda r: r.student):
        table.add_row(*reports.csv_row(result))
    console.print(table)
    console.print(f"wrote {out / 'grades.csv'}, {out / 'index.html'}, and results.json + feedback.md + "
                  f"feedback.html per student in {out}")
    if graded:
        console.print(f"isolation: {graded[-1].isolation}")
    sys.stderr.flush()
