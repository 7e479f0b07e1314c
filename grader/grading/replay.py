"""Replaying a property test's examples without hypothesis, for the next submission.

Hypothesis runs derandomised (see :func:`grader.testing.load_hypothesis_profile`), so it draws the
same sequence of examples for every submission until one of them fails. Once a test has passed
for some submission, its examples are known: :class:`Replays` records them then, and runs later
submissions on them directly, without the engine (drawing and the engine's bookkeeping were half of
a submission's grading time).

Exactness: a submission that passes every recorded example would have passed the hypothesis run
(same examples, same order). On the first failing example, the test runs through hypothesis
itself, and its verdict and message are the outcome, as without replay; or, with
``first_failure`` (batch grading, where hypothesis does not shrink), that example's error is the
outcome at once, with the notes hypothesis would have added to it (the call with its arguments,
each ``data.draw``), printed when the example was recorded: hypothesis, drawing the same examples
in the same order, would stop at the same one and report it so. When the test's draws no longer
match the recording (a draw that depended on the submission's answers), it runs through
hypothesis in either case. An error that stops a test at once (not implemented, forbidden call,
limit exceeded) ends it in replay too, the way hypothesis re-raises it on its first occurrence.
"""

from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis.errors import HypothesisDeprecationWarning, UnsatisfiedAssumption
from hypothesis.strategies import DataObject

from grader.grading.proxy import _StopTest


class _Diverged(Exception):
    """The test asked for a draw the recording does not hold."""


@dataclass(frozen=True)
class _Example:
    drawn: dict  # the arguments hypothesis drew, by name
    draws: dict  # for each ``st.data()`` argument, its draws in order: [(repr(strategy), value, note)]
    rejected: bool  # the test called ``assume`` with a false condition
    call: str  # hypothesis' note naming the example, should it fail ("Failing test case: test(...)")


class _RecordingData:
    """Stands in for hypothesis' ``data`` argument while recording: draws, and remembers (with
    the note hypothesis adds for a draw of a failing example)."""

    def __init__(self, data: DataObject, draws: list):
        self._data, self._draws = data, draws

    def draw(self, strategy, label: Any = None) -> Any:
        value = self._data.draw(strategy, label)
        desc = f"Draw {len(self._draws) + 1}{'' if label is None else f' ({label})'}: "
        self._draws.append((repr(strategy), copy.deepcopy(value), _printed(desc, lambda p: p.pretty(value))))
        return value


class _ReplayData:
    """Stands in for ``data`` in replay: hands out the recorded draws, strategy by strategy."""

    def __init__(self, draws: list):
        self._draws, self.notes = iter(draws), []

    def draw(self, strategy, label: Any = None) -> Any:
        recorded = next(self._draws, None)
        if recorded is None or recorded[0] != repr(strategy):
            raise _Diverged
        self.notes.append(recorded[2])
        return copy.deepcopy(recorded[1])

    def check_finished(self) -> None:
        if next(self._draws, None) is not None:
            raise _Diverged


def _printed(text: str, pretty: Callable[[Any], None]) -> str:
    """``text`` and what ``pretty(printer)`` adds, as hypothesis prints its notes (in the current
    example's context: a value a strategy built prints as the call that built it)."""
    from hypothesis.control import current_build_context
    from hypothesis.vendor.pretty import RepresentationPrinter

    printer = RepresentationPrinter(context=current_build_context())
    printer.text(text)
    pretty(printer)
    return printer.getvalue()


class Replays:
    """The recorded examples of an assignment's property tests, kept across submissions; with
    ``first_failure``, a replay's first failing example is the outcome (see above)."""

    def __init__(self, first_failure: bool = False) -> None:
        self._examples: dict[str, list[_Example]] = {}
        self.first_failure = first_failure

    def knows(self, test_id: str) -> bool:
        """Whether the examples of ``test_id`` are recorded."""
        return test_id in self._examples

    def run(self, test_id: str, function: Callable[..., Any], kwargs: dict,
            restart: Callable[[], None] | None = None) -> None:
        """Call the test ``function(**kwargs)``: raises whatever the test raises.

        A property test that passed before is replayed; otherwise it runs under hypothesis,
        and its examples are recorded if it passes. ``restart()``, when given, is called before
        hypothesis runs a test whose replay failed: the test starts again from its beginning.
        """
        handle = getattr(function, "hypothesis", None)
        if handle is None:
            function(**kwargs)
            return
        examples = self._examples.get(test_id)
        if examples is not None:
            if _replay(handle.inner_test, kwargs, examples, self.first_failure):
                return
            if restart is not None:
                restart()
        recorded: list[_Example] = []
        inner = handle.inner_test
        handle.inner_test = _recording(inner, set(kwargs), recorded)
        try:
            function(**kwargs)
        finally:
            handle.inner_test = inner
        self._examples[test_id] = recorded


def _recording(inner: Callable[..., Any], given: set, recorded: list) -> Callable[..., Any]:
    # ``wraps`` keeps hypothesis' derandomised seed, a digest of the test's source and signature
    @functools.wraps(inner)
    def test(*args, **kwargs):
        shown = _printed("Failing test case: ",
                         lambda p: p.repr_call(inner.__name__, args, kwargs, force_split=True))
        drawn, draws, call = {}, {}, dict(kwargs)
        for name, value in kwargs.items():
            if name in given:
                continue
            if isinstance(value, DataObject):
                draws[name] = []
                call[name] = _RecordingData(value, draws[name])
            else:
                drawn[name] = copy.deepcopy(value)
        # hypothesis stops an example that overruns its data inside a draw (a BaseException):
        # that was no test case, and it is not one to replay
        try:
            result = inner(*args, **call)
        except UnsatisfiedAssumption:
            recorded.append(_Example(drawn, draws, True, shown))
            raise
        except Exception:
            recorded.append(_Example(drawn, draws, False, shown))
            raise
        recorded.append(_Example(drawn, draws, False, shown))
        return result

    return test


def _replay(inner: Callable[..., Any], kwargs: dict, examples: list[_Example], first_failure: bool) -> bool:
    """Whether the test passed every example exactly as recorded; a stop-the-test error propagates,
    and so does, with ``first_failure``, the error of the first failing example."""
    with warnings.catch_warnings():
        # ``assume`` outside hypothesis' engine still raises UnsatisfiedAssumption, with a warning
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        return all(_replay_one(inner, kwargs, example, first_failure) for example in examples)


def _replay_one(inner: Callable[..., Any], kwargs: dict, example: _Example, first_failure: bool) -> bool:
    data = {name: _ReplayData(draws) for name, draws in example.draws.items()}
    try:
        try:
            inner(**kwargs, **copy.deepcopy(example.drawn), **data)
            rejected = False
        except UnsatisfiedAssumption:
            rejected = True
        for replayed in data.values():
            replayed.check_finished()
    except _StopTest:
        raise
    except _Diverged:
        return False
    except Exception as exc:
        if not first_failure:
            return False  # hypothesis reruns it and reports the failure itself
        for note in (example.call, *(n for replayed in data.values() for n in replayed.notes)):
            exc.add_note(note)
        raise
    return rejected == example.rejected
