"""grader.grading.replay: a passing property test's examples replay for the next submission, and every
other case ends exactly as hypothesis alone would end it."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grader.grading.proxy import NotImplementedYet
from grader.grading.replay import Replays
from grader.testing import profile_settings

pytestmark = pytest.mark.usefixtures("grader_hypothesis_profile")  # as in grading: no local constants


class Student:
    """A stand-in submission: ``answer(x, y)`` is its function; it remembers every call."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def __call__(self, x, y):
        self.calls.append((x, y))
        return self.answer(x, y)

    def __repr__(self) -> str:
        return "student"


@profile_settings()  # derandomized, as assignment tests run: replays compare runs example by example
@given(x=st.integers(0, 100), data=st.data())
def adds(student, x, data):
    y = data.draw(st.integers(0, x), label="y")
    assume(x != 7)
    assert student(x, y) == x + y, f"{x} + {y}"


@profile_settings()
@given(x=st.integers(0, 20), data=st.data())
def draws_from_the_answer(student, x, data):
    bound = student(x, 0)
    data.draw(st.integers(0, bound))
    assert bound >= x


@profile_settings()
@given(n=st.integers(0, 40), data=st.data())
def draws_that_may_overrun(student, n, data):
    """Some draws ask for more data than hypothesis allows an example: it stops those examples."""
    data.draw(st.binary(min_size=n * 400, max_size=n * 400))
    assert student(n, 0) == n


def outcome(replays, test, student):
    try:
        replays.run(test.__name__, test, {"student": student})
    except Exception as exc:  # noqa: BLE001 - the outcome under test
        return exc
    return None


def plain(test, student):
    """What hypothesis alone says, with no replay anywhere."""
    try:
        test(student=student)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def test_a_passing_test_replays_the_same_examples_without_hypothesis(monkeypatch):
    replays = Replays()
    first = Student(lambda x, y: x + y)
    assert outcome(replays, adds, first) is None
    assert len(first.calls) > 5

    engine_runs = []
    monkeypatch.setattr(adds.hypothesis, "inner_test",
                        _counting(adds.hypothesis.inner_test, engine_runs))
    second = Student(lambda x, y: y + x)
    assert outcome(replays, adds, second) is None
    assert second.calls == first.calls  # same inputs, same order
    assert len(engine_runs) == len(first.calls)  # each example called once, directly


def test_examples_hypothesis_stopped_in_a_draw_are_not_replayed(monkeypatch):
    replays = Replays()
    first = Student(lambda x, y: x)
    engine_runs = []
    monkeypatch.setattr(draws_that_may_overrun.hypothesis, "inner_test",
                        _counting(draws_that_may_overrun.hypothesis.inner_test, engine_runs))
    assert outcome(replays, draws_that_may_overrun, first) is None
    assert len(engine_runs) > len(first.calls) > 0  # some examples overran inside the draw

    second = Student(lambda x, y: x)
    assert outcome(replays, draws_that_may_overrun, second) is None
    assert second.calls == first.calls  # replayed, without running hypothesis again


def test_recording_does_not_change_the_examples_hypothesis_draws():
    alone = Student(lambda x, y: x + y)
    assert plain(adds, alone) is None
    recorded = Student(lambda x, y: x + y)
    assert outcome(Replays(), adds, recorded) is None
    assert recorded.calls == alone.calls


def test_a_failing_replay_ends_as_hypothesis_alone_would():
    replays = Replays()
    assert outcome(replays, adds, Student(lambda x, y: x + y)) is None
    wrong = lambda x, y: x + y + (x > 60)  # noqa: E731
    replayed, alone = outcome(replays, adds, Student(wrong)), plain(adds, Student(wrong))
    assert isinstance(replayed, AssertionError) and type(replayed) is type(alone)
    assert str(replayed) == str(alone)
    assert getattr(replayed, "__notes__", None) == getattr(alone, "__notes__", None)


def test_a_stop_the_test_error_ends_the_replay_at_once():
    replays = Replays()
    assert outcome(replays, adds, Student(lambda x, y: x + y)) is None

    def unfinished(x, y):
        raise NotImplementedYet("[adds] not implemented yet")

    student = Student(unfinished)
    assert isinstance(outcome(replays, adds, student), NotImplementedYet)
    assert len(student.calls) == 1


def test_draws_that_depend_on_the_answers_fall_back_to_hypothesis():
    replays = Replays()
    assert outcome(replays, draws_from_the_answer, Student(lambda x, y: x)) is None
    other = Student(lambda x, y: x + 1)  # also correct, but the draws' bounds change
    assert outcome(replays, draws_from_the_answer, other) is None
    alone = Student(lambda x, y: x + 1)
    assert plain(draws_from_the_answer, alone) is None
    assert other.calls[-len(alone.calls):] == alone.calls  # the fallback met hypothesis' examples


@pytest.mark.parametrize("answer", [lambda x, y: x + y, lambda x, y: -1])
def test_tests_without_hypothesis_run_as_they_are(answer):
    def check(student):
        assert student(2, 3) == 5

    student = Student(answer)
    result = outcome(Replays(), check, student)
    assert (result is None) == (answer(2, 3) == 5) and student.calls == [(2, 3)]


def _counting(inner, runs):
    def counted(*args, **kwargs):
        runs.append(1)
        return inner(*args, **kwargs)

    return counted


def test_examples_do_not_depend_on_the_code_that_is_loaded(tmp_path, monkeypatch):
    """Hypothesis mixes constants found in the source of loaded "local" modules into its examples:
    a student's own code in a local run, or a module the grader imports halfway through a batch,
    would change the inputs. The grader's profile keeps to hypothesis' built-in constants."""
    import importlib

    from hypothesis import settings

    seen = []

    @settings(max_examples=300)  # the grader's profile is loaded (pytestmark above)
    @given(x=st.integers(0, 10**6))
    def draw(x):
        seen.append(x)

    draw()
    before, seen[:] = list(seen), []
    (tmp_path / "magic_numbers.py").write_text("".join(f"N{i} = {7919 * i + 13}\n" for i in range(100)))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("magic_numbers")
    draw()
    assert seen == before


@profile_settings(shrink=False)  # as in batch grading: the first failing example, not the smallest
@given(x=st.integers(0, 100), data=st.data())
def adds_unshrunk(student, x, data):
    y = data.draw(st.integers(0, x), label="y")
    assume(x != 7)
    assert student(x, y) == x + y, f"{x} + {y}"


def test_a_first_failure_replay_reports_what_hypothesis_would_without_running_it(monkeypatch):
    """Without shrinking, hypothesis stops at the first failing example and reports it: the replay
    stops there too and raises that error with the same notes (the call, each draw), without
    hypothesis running the examples again."""
    replays = Replays(first_failure=True)
    assert outcome(replays, adds_unshrunk, Student(lambda x, y: x + y)) is None
    wrong = lambda x, y: x + y + (x > 60)  # noqa: E731
    alone = plain(adds_unshrunk, Student(wrong))
    engine_runs = []
    monkeypatch.setattr(adds_unshrunk.hypothesis, "inner_test",
                        _counting(adds_unshrunk.hypothesis.inner_test, engine_runs))
    student = Student(wrong)
    replayed = outcome(replays, adds_unshrunk, student)
    assert isinstance(replayed, AssertionError) and str(replayed) == str(alone)
    assert replayed.__notes__ == [n for n in alone.__notes__ if n.startswith(("Failing test case", "Draw"))]
    assert replayed.__notes__[0].startswith("Failing test case: adds_unshrunk(") and len(replayed.__notes__) == 2
    assert len(engine_runs) == len(student.calls)  # each example once, directly: no rerun
    assert student.calls[-1][0] > 60 and all(x <= 60 for x, _ in student.calls[:-1])
