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
- one cause per exercise: once the tests ran, the mistakes of the assignment's public catalogue
  (:func:`grader.grading.diagnose.load_public`) are looked for in the exercises that lost points;
  then each exercise's most informative failure (:class:`grader.reports.summary.Failures`) is
  reported in full, with the mistake named when one is, and its other failures one line each
  ("same cause", or their first error line); ``-v`` reports every failure in full;
- a closing table of points per exercise, an estimate from the tests that ran;
- ``--github-feedback``: the same feedback for a pull request (:mod:`grader.frontends.github`);
- ``--notebook-check``: the words of a notebook's check cell (:mod:`grader.frontends.notebook_check`):
  the command that reproduces a failure is ``check("...")``, not ``pytest``.
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
from grader.frontends.notebook_check import NOTEBOOK_CHECK
from grader.grading import feedback
from grader.grading.suite import EXERCISE_MARK, definition, load_reference
from grader.reports import summary

_PROFILE = pytest.StashKey["contextlib.ExitStack | None"]()  # the grader's hypothesis profile, once loaded
_SUBMISSIONS = pytest.StashKey[dict]()  # submission folder (or ("reference", folder)) -> its modules
_REPORTS = pytest.StashKey[dict]()  # node id -> the report of a failed assignment test


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "assignment grading")
    group.addoption("--submission", metavar="DIR", default=None,
                    help="test the student modules in DIR instead of those beside the tests")
    group.addoption("--github-feedback", action="store_true", default=False,
                    help="in GitHub Actions: write the feedback to $GITHUB_STEP_SUMMARY and annotate "
                    "the failing functions (grader.frontends.github)")
    group.addoption(NOTEBOOK_CHECK, action="store_true", default=False,
                    help="word the feedback for a notebook's check cell (grader.frontends.notebook_check)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exercise(id, weight=1.0): the assignment exercise a test belongs to, and its "
        "weight among that exercise's tests")
    config.stash[OUTCOMES] = {}
    config.stash[_PROFILE] = None
    config.stash[_SUBMISSIONS] = {}
    config.stash[_REPORTS] = {}
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
    """The settings of a session that runs assignment tests: the grader's hypothesis profile, and
    one line per failure in the short summary (where the CI variable is set, pytest would repeat
    every failure's whole feedback there)."""
    from grader.testing import hypothesis_profile

    if config.stash[_PROFILE] is None:
        config.option.force_short_summary = True
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

@pytest.fixture
def student(request: pytest.FixtureRequest):
    """The submission under test, reached through the same channel as in batch grading."""
    from grader.frontends.local import local_submission

    assignment = _assignment_of(request)
    folder = submission_folder(request.config, assignment)
    if not folder.is_dir():
        raise pytest.UsageError(f"--submission {request.config.getoption('submission')}: no such folder")
    known = request.config.stash[_SUBMISSIONS]
    if folder not in known:
        known[folder] = local_submission(folder, assignment)
    test = definition(request.node)
    forbidden = assignment.forbidden_for(test.exercise) if test is not None else ()
    return known[folder].checking(forbidden)  # the test's own exercise's list


@pytest.fixture
def reference(request: pytest.FixtureRequest):
    """The reference modules (trusted code), for hidden tests run from the reference folder."""
    assignment = _assignment_of(request)
    key, known = ("reference", assignment.folder), request.config.stash[_SUBMISSIONS]
    if key not in known:
        known[key] = load_reference(assignment)
    return known[key]


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
    message = feedback.failure_message(exc, test, reproduce=_reproduce(item))
    outcome = results.TestOutcome(test, feedback.status_of(exc), message)
    item.config.stash[OUTCOMES][item.nodeid] = (folder, outcome)
    item.config.stash[_REPORTS][item.nodeid] = report
    report.outcome = "failed"
    report.longrepr = message
    report.grader_status = outcome.status


def _reproduce(item: pytest.Item) -> str:
    """The command that runs this test again: ``pytest "<id>"`` in the folder pytest ran in, or
    in a notebook's check cell ``check("<file>::<test>")``."""
    if item.config.getoption("notebook_check"):
        return f'check("{item.path.name}::{item.name}")'
    return f'pytest "{_local_id(item)}"'


def _local_id(item: pytest.Item) -> str:
    """The test's id relative to the folder pytest was started in, so that the command it
    appears in works when pasted there (pytest's node id is relative to the rootdir)."""
    path = os.path.relpath(item.path, item.config.invocation_params.dir)
    return Path(path).as_posix() + "::" + item.name


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Before the reports are printed: name the public catalogue's mistakes, then report each
    exercise's cause once (see the module's docstring)."""
    config, order = session.config, {}
    folders = outcomes_by_folder(config)
    for number, (folder, outcomes) in enumerate(folders.items()):
        assignment = assignment_mod.load(folder)
        student = config.stash[_SUBMISSIONS].get(submission_folder(config, assignment))
        if student is not None:
            outcomes = _diagnosed(config, assignment, student, outcomes)
            for nodeid, outcome in outcomes.items():
                config.stash[OUTCOMES][nodeid] = (folder, outcome)
        if config.getoption("verbose") > 0:  # every failure in full, the mistake named on each
            for nodeid, report in config.stash[_REPORTS].items():
                if nodeid in outcomes:
                    report.longrepr = outcomes[nodeid].message
        else:
            placed = _one_cause_each(config, assignment, outcomes)
            order.update({nodeid: (number, *place) for nodeid, place in placed.items()})
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and order:  # the FAILURES section: folder by folder, exercise by exercise,
        last = (len(folders), 0, 0)     # each lead first; failures of no exercise last
        reporter.stats.get("failed", []).sort(key=lambda r: order.get(getattr(r, "nodeid", ""), last))


def _diagnosed(config: pytest.Config, assignment: assignment_mod.Assignment, student,
               outcomes: dict) -> dict:
    """The outcomes with the public catalogue's certain mistakes named (tags and messages)."""
    from grader.grading import diagnose

    try:
        catalogue = diagnose.load_public(assignment)
    except assignment_mod.AssignmentError as exc:  # e.g. its file deleted: the run goes on, naming nothing
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"mistakes are not named in this run: {exc}")
        return outcomes
    if not catalogue.misconceptions:
        return outcomes
    found = diagnose.diagnose(catalogue, assignment, student, None, list(outcomes.values()))
    return dict(zip(outcomes, found.outcomes))


def _one_cause_each(config: pytest.Config, assignment: assignment_mod.Assignment,
                    outcomes: dict) -> dict[str, tuple[int, int]]:
    """Each exercise's lead failure in full, its other failures one line each; returns where
    each failed test goes in the report: node id -> (exercise number, 0 for the lead else 1)."""
    reports, order = config.stash[_REPORTS], {}
    nodeids = {id(outcome): nodeid for nodeid, outcome in outcomes.items()}
    for number, exercise in enumerate(assignment.exercises):
        failures = summary.exercise_failures(exercise.id, list(outcomes.values()), exercise.builds_on)
        if failures is None or failures.not_implemented:
            continue
        lead = nodeids[id(failures.lead)]
        if lead in reports:
            reports[lead].longrepr = _lead_text(config, failures)
        order[lead] = (number, 0)
        for outcome, note in failures.others:
            nodeid = nodeids[id(outcome)]
            order[nodeid] = (number, 1)
            if nodeid in reports and outcome.status != results.NOT_IMPLEMENTED:
                reports[nodeid].longrepr = f"[{exercise.id}] {outcome.test.description}: {note}"
    return order


def _lead_text(config: pytest.Config, failures: summary.Failures) -> str:
    """The lead failure's report: its title, the mistake named (if one is), its own error, and
    where the rest of the exercise's failures are."""
    if not failures.others:
        return summary.lead_text(failures)
    full = "check(..., verbose=True)" if config.getoption("notebook_check") else "pytest -v"
    return (f"{summary.lead_text(failures)}\n({len(failures.others)} more failures of {failures.exercise} "
            f"below, one line each; {full} shows them in full)")


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
