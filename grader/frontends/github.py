"""Feedback on a pull request, from a student's ``pytest --github-feedback`` in GitHub Actions.

With the option (the student repository's ``.github/workflows/feedback.yml`` passes it), the run

- appends the feedback page (:func:`grader.reports.markdown.to_feedback_md`: points per exercise, then
  per exercise its cause once, the mistake named where the public tests can tell, and its other
  failures one line each) to the file named by ``$GITHUB_STEP_SUMMARY``, and
- prints one workflow command per failing function of the submission (its most informative
  failure, the mistake named with it)::

      ::error file=assignments/03/example.py,line=44,title=[scale] scale%3A 2 tests fail::...

  on the line of its ``def`` (or ``class``), so the pull request shows it beside the code.

The failing function of a failed test is found in the test's source: the ``student.<module>.<name>``
references of the statement that raised, else of the whole test function, kept when they belong to
the test's exercise; else the exercise's first name. Test files and the student's modules are
parsed with ``ast`` (read as data, never imported). Unfinished exercises are listed in the
summary, not annotated. Pytest's exit status is untouched: a failing run still fails the step.
"""

from __future__ import annotations

import ast
import functools
import os
import time
import traceback
from pathlib import Path

import pytest

from grader import assignment as assignment_mod
from grader import results
from grader.frontends.local_outcomes import outcomes_by_folder, raised_by, submission_folder
from grader.reports import summary
from grader.reports.markdown import to_feedback_md

ANNOTATED = (results.FAILED, results.FORBIDDEN)
STUDENT = "student"  # the fixture through which tests reach the submission
ESTIMATE_NOTE = ("_Points estimated from the public tests; the grade also uses hidden tests on more "
                 "inputs._")


class GitHubFeedback:
    """The pytest plugin object registered by ``--github-feedback``."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.started = time.monotonic()
        self.referenced: dict[str, tuple[str, ...]] = {}  # nodeid -> "module.name" the failure points at

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        exc = raised_by(item, call) if call.when == "call" else None
        folder = None if exc is None else assignment_mod.find_folder(item.path)
        if folder is not None:
            modules = assignment_mod.load(folder).student_modules
            name = getattr(item, "originalname", item.name)
            self.referenced[item.nodeid] = failing_references(item.path, name, exc, modules)
        return report

    def pytest_terminal_summary(self, terminalreporter, exitstatus) -> None:
        pages, commands = [], []
        for folder, outcomes in outcomes_by_folder(self.config).items():
            assignment = assignment_mod.load(folder)
            result = results.StudentResult(
                student=os.environ.get("GITHUB_ACTOR") or "you", assignment=assignment,
                outcomes=tuple(outcomes.values()), execution_time=time.monotonic() - self.started,
                isolation="none (the public tests, run in this job)")
            pages.append(to_feedback_md(result) + "\n" + ESTIMATE_NOTE + "\n")
            submission = submission_folder(self.config, assignment)
            commands += annotations(assignment, submission, outcomes, self.referenced)
        if not pages:
            pages.append(f"pytest ran no graded tests (exit status {int(exitstatus)}).\n")
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as file:
                file.write("\n".join(pages))
        for command in commands:
            terminalreporter.write_line(command)


def annotations(assignment: assignment_mod.Assignment, submission: Path,
                outcomes: dict[str, results.TestOutcome],
                referenced: dict[str, tuple[str, ...]]) -> list[str]:
    """One ``::error`` command per failing function, on its definition line in ``submission``."""
    failing: dict[str, list[results.TestOutcome]] = {}
    for nodeid, outcome in outcomes.items():
        if outcome.status in ANNOTATED:
            names = assignment.exercise(outcome.test.exercise).names
            for name in [n for n in referenced.get(nodeid, ()) if n in names] or names[:1]:
                failing.setdefault(name, []).append(outcome)
    commands = []
    for name, mine in failing.items():
        module, _, attr = name.partition(".")
        path = submission / f"{module}.py"
        count = f"{len(mine)} tests fail" if len(mine) > 1 else "a test fails"
        more = (f"\n\n{len(mine) - 1} more failing tests of {attr}: see the run's summary."
                if len(mine) > 1 else "")
        failures = summary.exercise_failures(mine[0].test.exercise, mine)  # the most informative first
        commands.append(workflow_command(
            "error", summary.lead_text(failures) + more, file=_shown_path(path),
            line=str(definition_line(path, attr)), title=f"[{failures.exercise}] {attr}: {count}"))
    return commands


def failing_references(test_file: Path, test_name: str, exc: BaseException,
                       modules: tuple[str, ...]) -> tuple[str, ...]:
    """The ``module.name`` of the submission that the failing statement (else the test) calls."""
    function = _function(_tree(test_file), test_name)
    if function is None:
        return ()
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if Path(frame.filename) == test_file and function.lineno <= frame.lineno <= function.end_lineno]
    if lines:
        statement = _innermost_statement(function, lines[-1])
        found = _student_references(statement, modules)
        if found:
            return found
    return _student_references(function, modules)


def definition_line(path: Path, name: str) -> int:
    """The line of ``def name`` / ``class name`` at the top level of ``path``, else 1."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return 1
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node.lineno
    return 1


def workflow_command(kind: str, message: str, **properties: str) -> str:
    """``::kind key=value,...::message`` with GitHub's escaping of data and property values."""
    listed = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::{kind} {listed}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _shown_path(path: Path) -> str:
    """``path`` relative to the repository checkout (``$GITHUB_WORKSPACE``, else the current folder)."""
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(workspace).as_posix()
    except ValueError:
        return path.resolve().as_posix()


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def _innermost_statement(function: ast.AST, line: int) -> ast.AST:
    """The deepest statement of ``function`` spanning ``line`` (ast.walk visits parents first)."""
    found = function
    for node in ast.walk(function):
        if isinstance(node, ast.stmt) and node.lineno <= line <= node.end_lineno:
            found = node
    return found


def _student_references(node: ast.AST, modules: tuple[str, ...]) -> tuple[str, ...]:
    """``module.name`` for each ``student.module.name`` in ``node``, in source order, once each."""
    found = []
    for sub in ast.walk(node):
        inner = getattr(sub, "value", None)
        if (isinstance(sub, ast.Attribute) and isinstance(inner, ast.Attribute)
                and isinstance(inner.value, ast.Name) and inner.value.id == STUDENT
                and inner.attr in modules):
            found.append((sub.lineno, sub.col_offset, f"{inner.attr}.{sub.attr}"))
    return tuple(dict.fromkeys(name for *_, name in sorted(found)))
