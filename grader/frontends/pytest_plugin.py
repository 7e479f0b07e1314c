"""The pytest face of the grader: what a student sees when running ``pytest assignments/01``.

Registered as a pytest plugin (entry point ``pytest11``); it only acts on tests marked
``@pytest.mark.exercise("<id>", weight=1.0)``, and loads the grader's hypothesis profile
(:func:`grader.testing.load_hypothesis_profile`) only in a session that collects test files of an
assignment folder (one with an ``assignment.toml``) or runs with ``--submission``: other test
suites of the same environment keep hypothesis' own settings. It provides

- ``--submission DIR``: test the modules in DIR instead of those beside the tests (no copying);
- the ``student`` fixture (a :class:`grader.grading.proxy.Submission` answered in-process, see
  :mod:`grader.frontends.local`)
  and, for hidden tests run from a reference folder, the ``reference`` fixture (the reference
  modules, imported in-process);
- failure reports that name the exercise, the property and the smallest failing input, with no
  harness traceback; an unimplemented exercise is one line;
- a closing table of points per exercise, an estimate from the tests that ran;
- ``--github-feedback``: the same feedback for a pull request (:mod:`grader.frontends.github`).
"""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path

import pytest

from grader import assignment as assignment_mod
from grader import results
from grader.frontends.github import GitHubFeedback
from grader.frontends.local_outcomes import OUTCOMES, RAISED, outcomes_by_folder, raised_by, submission_folder
from grader.grading import feedback
from grader.grading.suite import EXERCISE_MARK, definition, load_reference

_PROFILE = pytest.StashKey["contextlib.ExitStack | None"]()  # the grader's hypothesis profile, once loaded


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "assignment grading")
    group.addoption("--submission", metavar="DIR", default=None,
                    help="test the student modules in DIR instead of those beside the tests")
    group.addoption("--github-feedback", action="store_true", default=False,
                    help="in GitHub Actions: write the feedback to $GITHUB_STEP_SUMMARY and annotate "
                    "the failing functions (grader.frontends.github)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exercise(id, weight=1.0): the assignment exercise a test belongs to, and its "
        "weight among that exercise's tests")
    config.stash[OUTCOMES] = {}
    config.stash[_PROFILE] = None
    if config.getoption("github_feedback"):
        config.pluginmanager.register(GitHubFeedback(config), "grader-github-feedback")
    if config.getoption("submission"):
        _use_grader_profile(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Before a test file of an assignment folder is imported (its ``@settings`` inherit from the
    profile loaded then), load the grader's hypothesis profile for the rest of the session."""
    if file_path.suffix == ".py" and assignment_mod.find_folder(file_path) is not None:
        _use_grader_profile(parent.config)


def _use_grader_profile(config: pytest.Config) -> None:
    from grader.testing import hypothesis_profile

    if config.stash[_PROFILE] is None:
        stack = contextlib.ExitStack()
        stack.enter_context(hypothesis_profile())
        config.stash[_PROFILE] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    """Hypothesis' settings as they were before the session (for what runs next in this process)."""
    stack = config.stash.get(_PROFILE, None)
    if stack is not None:
        stack.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once torch and the tests are loaded, keep them out of garbage collections: with torch's
    objects in view, pytest's collections at the end of a run alone took over a second."""
    if any(item.get_closest_marker(EXERCISE_MARK) for item in session.items):
        gc.freeze()


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _grader_submissions() -> dict:
    return {}


@pytest.fixture
def student(request: pytest.FixtureRequest, _grader_submissions: dict):
    """The submission under test, reached through the same channel as in batch grading."""
    from grader.frontends.local import local_submission

    assignment = _assignment_of(request)
    folder = submission_folder(request.config, assignment)
    if not folder.is_dir():
        raise pytest.UsageError(f"--submission {request.config.getoption('submission')}: no such folder")
    if folder not in _grader_submissions:
        _grader_submissions[folder] = local_submission(folder, assignment)
    test = definition(request.node)
    forbidden = assignment.forbidden_for(test.exercise) if test is not None else ()
    return _grader_submissions[folder].checking(forbidden)  # the test's own exercise's list


@pytest.fixture
def reference(request: pytest.FixtureRequest, _grader_submissions: dict):
    """The reference modules (trusted code), for hidden tests run from the reference folder."""
    assignment = _assignment_of(request)
    key = ("reference", assignment.folder)
    if key not in _grader_submissions:
        _grader_submissions[key] = load_reference(assignment)
    return _grader_submissions[key]


def _assignment_of(request: pytest.FixtureRequest) -> assignment_mod.Assignment:
    folder = assignment_mod.find_folder(request.path)
    if folder is None:
        raise pytest.UsageError(f"{request.path} is not inside an assignment folder "
                                f"(no {assignment_mod.CONFIG_NAME} above it)")
    return assignment_mod.load(folder)


# --- reports -----------------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Keep the exception the test raised (pytest's unittest support rewrites SkipTest ones)."""
    try:
        return (yield)
    except BaseException as exc:
        item.stash[RAISED] = exc
        raise


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    test = definition(item)
    if test is None or call.when != "call":
        return
    folder = assignment_mod.find_folder(item.path)
    if call.excinfo is None:
        item.config.stash[OUTCOMES][item.nodeid] = (folder, results.TestOutcome(test, results.PASSED))
        return
    exc = raised_by(item, call)
    message = feedback.failure_message(exc, test, reproduce=f'pytest "{_local_id(item)}"')
    outcome = results.TestOutcome(test, feedback.status_of(exc), message)
    item.config.stash[OUTCOMES][item.nodeid] = (folder, outcome)
    report.outcome = "failed"
    report.longrepr = message
    report.grader_status = outcome.status


def _local_id(item: pytest.Item) -> str:
    """The test's id relative to the folder pytest was started in, so that the command it
    appears in works when pasted there (pytest's node id is relative to the rootdir)."""
    path = os.path.relpath(item.path, item.config.invocation_params.dir)
    return Path(path).as_posix() + "::" + item.name


def pytest_report_teststatus(report, config):
    """Unfinished exercises get their own category: counted, failing the run, but summarised
    as one line per exercise instead of one failure report per test."""
    if getattr(report, "grader_status", None) == results.NOT_IMPLEMENTED:
        return "not implemented", "N", "NOT IMPLEMENTED"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    for folder, outcomes in outcomes_by_folder(config).items():
        _write_points_table(terminalreporter, assignment_mod.load(folder), list(outcomes.values()))


def _write_points_table(reporter, assignment: assignment_mod.Assignment, outcomes: list) -> None:
    scores = results.score(assignment, outcomes)
    ran = {o.test.exercise for o in outcomes}
    not_implemented = {o.test.exercise for o in outcomes if o.status == results.NOT_IMPLEMENTED}
    if not_implemented:
        reporter.write_sep("=", "not implemented yet")
        for exercise in assignment.exercises:
            if exercise.id in not_implemented:
                reporter.write_line(f"[{exercise.id}] not implemented yet")
    reporter.write_sep("=", f"assignment {assignment.id}: points estimated from the public tests")
    reporter.write_line(f"{'exercise':<12}{'tests passed':>14}{'points':>16}   note")
    for exercise in assignment.exercises:
        s = scores[exercise.id]
        mine = [o for o in outcomes if o.test.exercise == exercise.id]
        passed = sum(o.passed for o in mine)
        if exercise.id not in ran:
            note, counts = "not run", "-"
        else:
            note = ("not implemented yet" if exercise.id in not_implemented
                    else "from-scratch rule: a forbidden function was reached" if s.forbidden else "")
            counts = f"{passed}/{len(mine)}"
        reporter.write_line(f"{exercise.id:<12}{counts:>14}{s.points:>9.1f} / {exercise.points:<4g}   {note}")
    reporter.write_line(f"{'total':<12}{'':>14}{results.total(scores):>9.1f} / {assignment.total_points:g}")
    reporter.write_line("This is an estimate: the grade also uses hidden tests on more inputs.")
