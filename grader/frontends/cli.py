"""The ``grader`` command: ``grader generate 01``, ``grader grade 01 SUBMISSIONS --out OUT``,
``grader report OUT``,
``grader new 03 --title "..."``, ``grader check 03``.

Errors an instructor can act on are printed as one line (no traceback) with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Autograded LLM-course assignments: write and check them, generate stubs, "
                  "grade submissions.")

ROOT_HELP = "project root holding reference/ and assignments/"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def generate(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    check: bool = typer.Option(False, "--check", help="only report files that differ; exit 1 if any"),
) -> None:
    """Write assignments/ID/ (stubs, given files) from reference/ID/."""
    from grader.authoring import generate as gen

    _write_or_check(assignment_id, root, check, gen)


@app.command()
def notebook(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    check: bool = typer.Option(False, "--check", help="only report whether it differs; exit 1 if so"),
) -> None:
    """Write the assignment as a notebook (handout + one stub cell per module, nbgrader metadata)."""
    from grader.authoring import notebook as nb

    _write_or_check(assignment_id, root, check, nb)


def _write_or_check(assignment_id: str, root: Path, check: bool, writer) -> None:
    """``writer.write`` the generated files of assignments/ID (or with ``check``, list those
    ``writer.drift`` finds out of date, exit 1 if any); both return names in assignments/ID."""
    from grader import assignment
    from grader.authoring import generate as gen

    try:
        reference, published = assignment.locate(assignment_id, root)
        definition = assignment.load(reference)
        if check:
            stale = writer.drift(definition, published)
            for name in stale:
                typer.echo(f"out of date: {published / name}")
            raise typer.Exit(1 if stale else 0)
        for name in writer.write(definition, published):
            typer.echo(f"wrote {published / name}")
    except (assignment.AssignmentError, gen.RegionError, OSError) as exc:
        _fail(str(exc))


@app.command()
def new(
    assignment_id: str = typer.Argument(..., help="the new assignment's id, e.g. 03"),
    title: str = typer.Option(..., "--title", help="its title, e.g. \"Week 3\""),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
) -> None:
    """Start an assignment: reference/ID and assignments/ID with one example exercise, which
    `grader check ID` accepts as it is (then see docs/new-assignment.md)."""
    from grader import assignment
    from grader.authoring import scaffold

    try:
        written = scaffold.new(root, assignment_id, title)
    except (assignment.AssignmentError, OSError) as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: grader check {assignment_id}, then replace the example exercise "
               "(docs/new-assignment.md)")


@app.command()
def check(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    isolated: bool = typer.Option(
        True, "--isolated/--in-process", help="also grade the reference in an isolated worker, under the "
        "assignment's limits, as students are graded (--in-process: skip that, a little faster)"),
) -> None:
    """Check an assignment before students see it: generated files up to date, the reference
    full marks, the stubs 0, every variant exactly its expected effect. Exit 1 if anything fails."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from grader import assignment
    from grader.authoring import check as checking

    try:
        reference, published = assignment.locate(assignment_id, root)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("checking", total=None)

            def progress(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            report = checking.check(reference, published, isolated=isolated, progress=progress)
    except assignment.AssignmentError as exc:
        _fail(str(exc))
    for line in report.lines():
        colour = typer.colors.RED if line.startswith("FAIL") else None
        typer.secho(line, fg=colour)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def mutants(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    exercise: Optional[list[str]] = typer.Option(None, "--exercise", help="only these exercises' mutants"),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help="processes [default: one per CPU core]"),
    out: Path = typer.Option(Path("mutants.json"), "--out", help="where the kill matrix goes (JSON)"),
) -> None:
    """Measure the tests with mutants of the reference: each solution region changed in one small
    way (an operator, a constant, a dropped call...). Prints the mutation score per exercise and
    every surviving mutant as a diff (a mistake no test catches); writes the kill matrix."""
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from grader import assignment
    from grader.authoring import mutants as mutation
    from grader.grading.context import default_jobs

    try:
        reference, published = assignment.locate(assignment_id, root)
        definition = assignment.load(reference)
        with Progress(TextColumn("mutants"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("", total=None)
            report = mutation.run(definition, published, tuple(exercise or ()), jobs or default_jobs(),
                                  lambda done, total: bar.update(task, completed=done, total=total))
    except (assignment.AssignmentError, ImportError) as exc:
        _fail(str(exc))
    for line in report.survivors():
        typer.echo(line)
    for line in report.lines():
        typer.echo(line)
    out.write_text(json.dumps(report.to_data(), indent=1))
    typer.echo(f"wrote the kill matrix to {out}")


@app.command()
def gradescope(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    bundle: Path = typer.Argument(..., help="the autograder zip to write, e.g. autograder.zip"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
) -> None:
    """Build a Gradescope autograder bundle (setup.sh, run_autograder, engine, hidden reference)."""
    from grader import assignment
    from grader.frontends import gradescope as gs

    try:
        reference, published = assignment.locate(assignment_id, root)
        gs.build_bundle(assignment.load(reference), reference, published, bundle)
    except (assignment.AssignmentError, gs.BundleError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {bundle}: upload it as the autograder of a Gradescope programming assignment")


@app.command()
def grade(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    submissions: Optional[Path] = typer.Argument(
        None, help="folder with one folder or .zip per student (the modules, or one notebook, "
        "possibly in a sub-folder)"),
    out: Path = typer.Option(Path("results"), "--out", help="where grades and feedback go"),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", min=1, help="grading processes [default: one per CPU core]; with fewer "
        "submissions than jobs, each submission's exercises are split between them"),
    force: bool = typer.Option(False, "--force", help="regrade even unchanged submissions"),
    prune: bool = typer.Option(False, "--prune", help="drop from OUT the students whose submission is "
                               "no longer in SUBMISSIONS (kept and marked otherwise)"),
    shrink: bool = typer.Option(False, "--shrink", help="report the smallest failing input of each "
                                "failed test, not the first found (slower)"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    only: Optional[list[str]] = typer.Option(None, "--student", help="grade only these students"),
    exercise: Optional[list[str]] = typer.Option(
        None, "--exercise", help="run only these exercises' tests (the others are left ungraded)"),
    limit: Optional[list[str]] = typer.Option(
        None, "--limit", metavar="NAME=VALUE",
        help="worker limit, e.g. call_seconds=5, memory_mb=1024, layers=bwrap,landlock"),
    dask: str = typer.Option("", "--dask", metavar="SCHEDULER_ADDRESS",
                             help="grade on this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of "
                             "local processes"),
    course: Optional[Path] = typer.Option(
        None, "--nbgrader", metavar="COURSE_DIR", help="grade an nbgrader course's "
        "submitted/<student>/NAME/ folders and write the scores into its gradebook"),
    course_assignment: Optional[str] = typer.Option(
        None, "--assignment", metavar="NAME", help="the nbgrader assignment (with --nbgrader)"),
) -> None:
    """Grade every folder or zip of SUBMISSIONS; writes the class files (grades.csv, canvas.csv,
    moodle.csv, index.html) for the whole class in OUT, and results.json + feedback per student."""
    from grader import assignment
    from grader.grading.batch import run_batch
    from grader.grading.context import GradeRequest, default_jobs
    from grader.grading.dask_cluster import ClusterError
    from grader.grading.suite import CollectionError
    from grader.isolation.pool import TemplateError

    try:
        reference, published = assignment.locate(assignment_id, root)
    except assignment.AssignmentError as exc:
        _fail(str(exc))
    submissions, inner = _submissions_source(submissions, course, course_assignment)
    request = GradeRequest(reference=reference, published=published, submissions=submissions,
                           inner=inner, out=out, jobs=jobs or default_jobs(), force=force, prune=prune,
                           students=tuple(only or ()),
                           exercises=tuple(exercise or ()), shrink=shrink,
                           limit_overrides=_parse_limits(limit or []), dask=dask)
    try:
        code = run_batch(request)
        if course is not None:
            from grader.frontends import gradebook

            url = gradebook.record(request, course, course_assignment)
            typer.echo(f"wrote the scores into the nbgrader gradebook {url}", err=True)
    except (assignment.AssignmentError, ClusterError, CollectionError, TemplateError, ValueError) as exc:
        _fail(str(exc))
    raise typer.Exit(code)


def _submissions_source(submissions: Optional[Path], course: Optional[Path],
                        name: Optional[str]) -> tuple[Path, str]:
    """(the folder of student folders, the sub-folder of each that holds the submission)."""
    from grader.frontends import gradebook

    if (submissions is None) == (course is None):
        _fail("give either SUBMISSIONS or --nbgrader COURSE_DIR --assignment NAME")
    if course is None:
        if name is not None:
            _fail("--assignment NAME goes with --nbgrader COURSE_DIR")
        return submissions, ""
    if not name:
        _fail("--nbgrader COURSE_DIR needs --assignment NAME, the nbgrader assignment to grade")
    try:
        return gradebook.submitted_folder(course, name), name
    except gradebook.GradebookError as exc:
        _fail(str(exc))


def _parse_limits(pairs: list[str]) -> dict:
    """``["call_seconds=5", "layers=bwrap,landlock"]`` -> typed values for grader.worker.confine.Limits."""
    from grader.worker.confine import Limits

    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        field = Limits.__dataclass_fields__.get(name)
        if not sep or field is None:
            _fail(f"--limit {pair}: expected NAME=VALUE with NAME one of "
                  f"{', '.join(Limits.__dataclass_fields__)}")
        default = getattr(Limits(), name)
        try:
            values[name] = (tuple(x for x in text.split(",") if x) if isinstance(default, tuple)
                            else type(default)(text))
        except ValueError:
            _fail(f"--limit {pair}: {text!r} is not a valid {type(default).__name__}")
    return values


@app.command()
def report(
    out: Path = typer.Argument(..., help="a folder that `grader grade` wrote (it holds grades.sqlite)"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
) -> None:
    """Rewrite OUT's class files (grades.csv, canvas.csv, moodle.csv, index.html) and each
    student's feedback from OUT/grades.sqlite, without grading."""
    from grader import assignment
    from grader.grading.batch import rebuild

    try:
        code = rebuild(out, root)
    except (assignment.AssignmentError, ValueError) as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command("export-student-repo")
def export_student_repo(
    out: Path = typer.Argument(..., help="folder of the student repository to write"),
    force: bool = typer.Option(False, "--force", help="replace what OUT holds (a .git folder is kept)"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
) -> None:
    """Build the students' repository: student_template/, assignments/*, the engine wheel."""
    from grader import assignment
    from grader.authoring import export
    from grader.authoring import generate as gen

    try:
        done = export.export_student_repo(root, out, force=force)
    except (export.ExportError, assignment.AssignmentError, gen.RegionError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {done.out}: assignments {', '.join(done.assignments)}, "
               f"engine {export.VENDOR}/{done.wheel}")


def main() -> None:
    app()
