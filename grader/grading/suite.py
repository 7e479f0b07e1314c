"""An assignment's test suite, collected once by pytest and run against any submission.

    suite = collect(reference_folder, published_folder)      # public + hidden tests
    outcomes = suite.run(student, reference_modules, replays)  # list[TestOutcome]

Collection uses pytest itself (so parametrize, marks and ids behave as in a student's run); the
test functions are then called directly with the ``student`` / ``reference`` fixtures, once per
submission, without a pytest session per student. Given a :class:`grader.replay.Replays` kept
across submissions, property tests that passed before replay their examples without hypothesis.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader import results
from grader.assignment import Assignment, find_folder, import_file, load
from grader.grading import feedback
from grader.grading.replay import Replays

FIXTURES = ("student", "reference")
EXERCISE_MARK = "exercise"  # @pytest.mark.exercise("<id>", weight=1.0)


class CollectionError(RuntimeError):
    """The assignment's tests could not be collected; the message holds pytest's report."""


@dataclass(frozen=True)
class CollectedTest:
    definition: results.TestDefinition
    function: Callable[..., Any]
    params: dict  # parametrize values
    reproduce: str  # how a student reruns it locally ("" for hidden tests)


@dataclass(frozen=True)
class Suite:
    assignment: Assignment
    tests: tuple[CollectedTest, ...]
    fingerprint: str  # changes whenever the reference, the tests or the assignment change

    def select(self, exercises: tuple[str, ...]) -> "Suite":
        """The tests of ``exercises`` only (all when empty); an unknown id raises AssignmentError."""
        if not exercises:
            return self
        for exercise in exercises:
            self.assignment.exercise(exercise)
        kept = tuple(t for t in self.tests if t.definition.exercise in exercises)
        return Suite(self.assignment, kept, fingerprint_of(self.fingerprint, exercises))

    def set_shrinking(self, shrink: bool) -> None:
        """Turn hypothesis' shrink phase on or off for every property test of the suite: a test
        with its own ``@settings(...)`` keeps the phases of the profile loaded when its module
        was imported (pytest's, which shrinks), whatever profile is loaded later."""
        from hypothesis import Phase, settings

        for test in self.tests:
            current = getattr(test.function, "_hypothesis_internal_use_settings", None)
            if current is not None:
                phases = [p for p in current.phases if p != Phase.shrink] + [Phase.shrink] * shrink
                test.function._hypothesis_internal_use_settings = settings(current, phases=phases)

    def run(self, student, reference, replays: Replays | None = None,
            on_test: Callable[[results.TestOutcome], None] = None,
            around: Callable[[CollectedTest, Callable[..., results.TestOutcome]], results.TestOutcome]
            | None = None) -> list[results.TestOutcome]:
        """Every test against ``student`` (a :class:`grader.grading.proxy.Submission`), which
        fails a call on the forbidden functions of the test's own exercise only; an exercise that
        hit one skips the rest of its tests (it scores 0 whatever they say). ``around(test, run)``, when given, is
        called instead of ``run()`` for each test (see :class:`grader.grading.transcripts.Run`); ``run``
        takes the ``restart`` of :meth:`grader.replay.Replays.run`."""
        outcomes, forbidden = [], set()
        for test in self.tests:
            exercise = test.definition.exercise
            if exercise in forbidden:
                outcome = results.TestOutcome(test.definition, results.FORBIDDEN,
                                              f"[{exercise}] not run: the exercise already used a "
                                              "forbidden built-in")
            else:
                checked = student.checking(self.assignment.forbidden_for(exercise))

                def run(restart=None, test=test, checked=checked):
                    return run_test(test, checked, reference, replays, restart)

                outcome = run() if around is None else around(test, run)
                if outcome.status == results.FORBIDDEN:
                    forbidden.add(exercise)
            outcomes.append(outcome)
            if on_test is not None:
                on_test(outcome)
        return outcomes


def run_test(test: CollectedTest, student, reference, replays: Replays | None = None,
             restart: Callable[[], None] | None = None) -> results.TestOutcome:
    fixtures = {"student": student, "reference": reference}
    wanted = inspect.signature(test.function).parameters
    kwargs = {**{k: v for k, v in fixtures.items() if k in wanted}, **test.params}
    try:
        if replays is None:
            test.function(**kwargs)
        else:
            replays.run(test.definition.id, test.function, kwargs, restart)
    except Exception as exc:  # noqa: BLE001 - every failure of a test is that test's outcome
        return results.TestOutcome(test.definition, feedback.status_of(exc),
                                   feedback.failure_message(exc, test.definition, test.reproduce))
    return results.TestOutcome(test.definition, results.PASSED)


def collect(reference: Path, published: Path) -> Suite:
    """Collect the public tests of ``published`` and the hidden tests of ``reference``."""
    import pytest

    assignment = load(reference)
    folders = [published / assignment.public_tests, reference / assignment.hidden_tests]
    files = sorted({*Path(folders[0]).glob("test_*.py"), *Path(folders[1]).glob("test_hidden_*.py")})
    if not files:
        raise CollectionError(f"no test files in {folders[0]} or {folders[1]}")

    class Collector:
        items: list = []

        def pytest_collection_modifyitems(self, items):
            Collector.items = list(items)

    collector, report = Collector(), io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                            "--rootdir", str(reference.parent.parent), *map(str, files)],
                           plugins=[collector])
    if code not in (0, pytest.ExitCode.NO_TESTS_COLLECTED) or not collector.items:
        raise CollectionError(f"collecting the tests of assignment {assignment.id} failed:\n"
                              f"{report.getvalue()[-3000:]}")
    tests = []
    for item in collector.items:
        test = definition(item)
        if test is None:
            raise CollectionError(f"{item.nodeid} has no @pytest.mark.exercise(...) mark")
        assignment.exercise(test.exercise)  # an unknown id fails here, loudly
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        unknown = set(inspect.signature(item.function).parameters) - set(FIXTURES) - set(params)
        if unknown:
            raise CollectionError(f"{item.nodeid} asks for fixtures {sorted(unknown)}; tests may "
                                  f"use only {FIXTURES} and parametrize")
        reproduce = "" if test.hidden else f'pytest "{_public_path(item, published)}"'
        tests.append(CollectedTest(test, item.function, params, reproduce))
    return Suite(assignment, tuple(tests), fingerprint([reference, published]))


def _public_path(item, published: Path) -> str:
    return f"assignments/{published.name}/{item.path.name}::{item.name}"


def fingerprint(folders: list[Path], exercises: tuple[str, ...] = ()) -> str:
    """A digest of the assignment's sources and tests (and of an exercise selection)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.glob("*")):
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return fingerprint_of(digest.hexdigest()[:16], exercises)


def fingerprint_of(base: str, exercises: tuple[str, ...]) -> str:
    return base if not exercises else f"{base}:{','.join(sorted(exercises))}"


def definition(item: Any) -> results.TestDefinition | None:
    """The test definition of a pytest item marked with ``exercise``, else None."""
    marker = item.get_closest_marker(EXERCISE_MARK)
    if marker is None:
        return None
    doc = (getattr(item, "obj", None).__doc__ or item.name).strip().splitlines()[0]
    folder = find_folder(item.path)
    test_id = item.nodeid if folder is None else _relative_id(item, folder)
    return results.TestDefinition(
        id=test_id, exercise=marker.args[0], description=doc,
        weight=float(marker.kwargs.get("weight", 1.0)),
        hidden=item.path.name.startswith("test_hidden"))


def _relative_id(item: Any, folder: Path) -> str:
    return item.path.relative_to(folder).as_posix() + "::" + item.name


def load_reference(assignment: Assignment) -> types.SimpleNamespace:
    """The reference's student modules and given modules, imported in this process under private
    names; their imports of each other by plain names resolve to one another."""
    from grader.worker.siblings import plain_names

    loaded: dict[str, types.ModuleType] = {}

    def load(name: str) -> types.ModuleType:
        if name not in loaded:
            loaded[name] = import_file(assignment.folder / f"{name}.py", f"_reference_{assignment.id}_{name}")
        return loaded[name]

    names = (*assignment.student_modules, *assignment.given_modules)
    with plain_names(names, load):
        return types.SimpleNamespace(**{name: load(name) for name in names})
