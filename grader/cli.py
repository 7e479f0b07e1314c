"""The ``grader`` command: ``grader generate 01``, ``grader grade 01 SUBMISSIONS --out OUT``.

Errors an instructor can act on are printed as one line (no traceback) with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Autograded LLM-course assignments: generate stubs, grade submissions.")

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
    from grader import assignment, generate as gen

    try:
        reference, published = assignment.locate(assignment_id, root)
        definition = assignment.load(reference)
        if check:
            stale = gen.drift(definition, published)
            for name in stale:
                typer.echo(f"out of date: {published / name}")
            raise typer.Exit(1 if stale else 0)
        for name in gen.write(definition, published):
            typer.echo(f"wrote {published / name}")
    except (assignment.AssignmentError, gen.RegionError) as exc:
        _fail(str(exc))


@app.command()
def grade(
    assignment_id: str = typer.Argument(..., help="assignment id, e.g. 01"),
    submissions: Path = typer.Argument(..., help="folder with one sub-folder per student"),
    out: Path = typer.Option(Path("results"), "--out", help="where grades and feedback go"),
    jobs: int = typer.Option(1, "--jobs", min=1, help="submissions graded in parallel"),
    force: bool = typer.Option(False, "--force", help="regrade even unchanged submissions"),
    shrink: bool = typer.Option(False, "--shrink", help="report the smallest failing input of each "
                                "failed test, not the first found (slower)"),
    root: Path = typer.Option(Path("."), help=ROOT_HELP),
    only: Optional[list[str]] = typer.Option(None, "--student", help="grade only these students"),
    exercise: Optional[list[str]] = typer.Option(
        None, "--exercise", help="run only these exercises' tests (the others are left ungraded)"),
    limit: Optional[list[str]] = typer.Option(
        None, "--limit", metavar="NAME=VALUE",
        help="worker limit, e.g. call_seconds=5, memory_mb=1024, layers=bwrap,landlock"),
) -> None:
    """Grade every sub-folder of SUBMISSIONS; writes grades.csv, results.json and feedback.md."""
    from grader import assignment
    from grader.batch import GradeRequest, run_batch
    from grader.pool import TemplateError
    from grader.suite import CollectionError

    try:
        reference, published = assignment.locate(assignment_id, root)
    except assignment.AssignmentError as exc:
        _fail(str(exc))
    if not submissions.is_dir():
        _fail(f"{submissions} is not a folder of submissions")
    request = GradeRequest(reference=reference, published=published, submissions=submissions,
                           out=out, jobs=jobs, force=force, students=tuple(only or ()),
                           exercises=tuple(exercise or ()), shrink=shrink,
                           limit_overrides=_parse_limits(limit or []))
    try:
        code = run_batch(request)
    except (assignment.AssignmentError, CollectionError, TemplateError, ValueError) as exc:
        _fail(str(exc))
    raise typer.Exit(code)


def _parse_limits(pairs: list[str]) -> dict:
    """``["call_seconds=5", "layers=bwrap,landlock"]`` -> typed values for grader.sandbox.Limits."""
    from grader.sandbox import Limits

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


def main() -> None:
    app()
