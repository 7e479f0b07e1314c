"""grader.grading.plans: a passing test's requests go to the next submission in one round trip, a test
whose answers match a passing run's passes without its body, and every other case ends as the
plain, call-by-call run would end it."""

import textwrap
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from grader import results
from grader.grading.context import GradeRequest, plans_key
from grader.grading.plans import Plans
from grader.grading.proxy import Submission
from grader.grading.replay import Replays
from grader.isolation.pool import Session
from grader.worker import wire
from grader.worker.executor import Executor

TEST = SimpleNamespace(definition=results.TestDefinition("t.py::test_double", "calc", "doubles"))

STUDENTS = {
    "correct": "def double(x):\n    return 2 * x\n\ndef count():\n    return 3\n",
    "as_float": "def double(x):\n    return 2.0 * x\n\ndef count():\n    return 3\n",  # passes, other bytes
    "off_by_one": "def double(x):\n    return 2 * x + (x == 1)\n\ndef count():\n    return 3\n",
    "counts_more": "def double(x):\n    return 2 * x\n\ndef count():\n    return 5\n",
    "off_at_one_and_three": "def double(x):\n    return 2 * x + (x in (1, 3))\n\ndef count():\n    return 3\n",
}


class InProcess:
    """The part of :class:`grader.isolation.pool.Session` that plans use, answered by an Executor in this
    process; it counts round trips and remembers every request it ran."""

    frame = staticmethod(Session.frame)

    def __init__(self, folder):
        self.executor, self.round_trips, self.ran, self.events = Executor(folder), 0, [], []

    def exchange(self, frames, labels):
        self.round_trips += 1
        requests = [wire.decode(frame[4:]) for frame in frames]
        self.ran += [r for r in requests if r["op"] != "reset"]
        return [self.executor.encode_reply(self.executor.handle(r)) for r in requests]

    @staticmethod
    def decode(body, label):
        return wire.decode(body)

    def transport(self, request):
        """Call by call, as the plain (planless) run goes."""
        frame, label, _ = self.frame(request)
        return self.decode(self.exchange([frame], [label])[0], label)


@pytest.fixture
def student(tmp_path):
    """``student(name)`` -> (its session, a Submission that goes through ``plans``' runner)."""
    def make(plans, name):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        (folder / "calc.py").write_text(STUDENTS[name])
        session = InProcess(folder)
        runner = plans.runner(session)
        return session, runner, Submission(runner.transport, ("calc",))
    return make


def outcome_of(runner, submission, body, runs):
    """The outcome of ``body(submission)`` through the runner; ``runs`` counts body runs."""
    def run(restart=None):
        runs.append(1)
        try:
            body(submission)
        except AssertionError as exc:
            return results.TestOutcome(TEST.definition, results.FAILED, str(exc))
        return results.TestOutcome(TEST.definition, results.PASSED)
    return runner.run(TEST, run)


def grade(runner, submission, body, runs):
    return outcome_of(runner, submission, body, runs).status


def learned_from_correct(student, body) -> Plans:
    """Plans that have seen ``body`` pass for the correct submission."""
    plans = Plans()
    grade(*student(plans, "correct")[1:], body, [])
    return plans


def doubles(student):
    for x in range(student.calc.count()):
        assert student.calc.double(x) == 2 * x, f"double({x})"


def chains(student):
    twice = student.calc.double(student.calc.double(1))
    assert twice == 4, f"double(double(1)) gave {twice}"


def test_same_answers_pass_without_the_body_in_one_round_trip(student):
    plans = Plans()
    session, runner, submission = student(plans, "correct")
    assert grade(runner, submission, doubles, []) == results.PASSED
    session, runner, submission = student(plans, "correct")
    runs = []
    assert grade(runner, submission, doubles, runs) == results.PASSED
    assert runs == [] and session.round_trips == 1
    assert [r["target"]["path"] for r in session.ran] == [["count"]] + [["double"]] * 3


def test_other_answers_run_the_body_on_the_fetched_answers(student):
    plans = learned_from_correct(student, doubles)
    session, runner, submission = student(plans, "as_float")
    runs = []
    assert grade(runner, submission, doubles, runs) == results.PASSED
    assert runs == [1] and session.round_trips == 1
    session, runner, submission = student(plans, "as_float")  # its answers are known now
    assert grade(runner, submission, doubles, runs) == results.PASSED and runs == [1]


def test_a_failure_met_before_ends_the_same_way_without_the_body(student):
    plans = learned_from_correct(student, doubles)
    first = outcome_of(*student(plans, "off_by_one")[1:], doubles, [])
    session, runner, submission = student(plans, "off_by_one")
    runs = []
    again = outcome_of(runner, submission, doubles, runs)
    assert again == first and again.status == results.FAILED and "double(1)" in again.message
    assert runs == [] and session.round_trips == 1


def test_an_outcome_that_stopped_a_worker_is_not_kept(student):
    """Limits hit count per submission (events, "not called again"): such a run is not reused."""
    plans = learned_from_correct(student, doubles)
    for _ in range(2):  # the second submission runs its body again
        session, runner, submission = student(plans, "off_by_one")
        runs = []

        def stops_a_worker(student, events=session.events):
            events.append("time limit exceeded in calc.double")
            doubles(student)

        assert grade(runner, submission, stops_a_worker, runs) == results.FAILED
        assert runs == [1]


def test_a_diverging_body_runs_again_live_and_fails_as_it_would_alone(student):
    plans = learned_from_correct(student, chains)
    session, runner, submission = student(plans, "off_by_one")
    runs = []
    assert grade(runner, submission, chains, runs) == results.FAILED
    assert runs == [1, 1]  # the planned double(2) no longer follows double(1) = 3: again, live
    assert [r["args"] for r in session.ran] == [[1], [2], [1], [3]]


def test_an_outcome_is_reused_only_when_every_answer_the_test_reads_is_known(student):
    """off_by_one and off_at_one_and_three answer the plan alike (double(1) = 3, double(2) = 4),
    and double(3), which only the diverged run asks, differently: each gets its own message. The
    second off_by_one gets its outcome without the body: the plan, then the requests that followed
    it (the continuation), whose answers it knows."""
    plans = learned_from_correct(student, chains)
    seen = []
    for name in ("off_by_one", "off_at_one_and_three", "off_by_one"):
        session, runner, submission = student(plans, name)
        runs = []
        message = outcome_of(runner, submission, chains, runs).message.splitlines()[0]
        seen.append((message, len(runs), session.round_trips))
    assert seen == [("double(double(1)) gave 6", 2, 4),  # the plan; diverged: live reset, 2 calls
                    ("double(double(1)) gave 7", 2, 2),  # plan and continuation: both runs served
                    ("double(double(1)) gave 6", 0, 2)]


def test_a_body_asking_more_than_the_plan_goes_on_live(student):
    plans = learned_from_correct(student, doubles)
    session, runner, submission = student(plans, "counts_more")
    runs = []
    assert grade(runner, submission, doubles, runs) == results.PASSED
    assert runs == [1] and session.round_trips == 3  # the plan, then double(3) and double(4)
    assert [r["args"] for r in session.ran[1:]] == [[0], [1], [2], [3], [4]]


def test_only_a_passing_run_makes_a_plan(student):
    plans = Plans()
    assert grade(*student(plans, "off_by_one")[1:], doubles, []) == results.FAILED
    session, runner, submission = student(plans, "correct")
    assert grade(runner, submission, doubles, []) == results.PASSED
    assert session.round_trips == 1 + 4  # a reset, then call by call: nothing was planned


@settings(database=None, derandomize=True, deadline=None, max_examples=15,
          phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False)  # as in batch grading
@given(x=st.integers(0, 5))
def doubles_any(student, x):
    assert student.calc.double(x) == 2 * x, f"double({x})"


def test_a_failed_replay_reruns_hypothesis_live_from_a_reset(student):
    """The replay fails on the fetched answers at double(1); hypothesis then runs the test from a
    reset with live calls, exactly as it runs alone, and ends with the same message."""
    plans, replays = Plans(), Replays()

    def through_replays(runner, submission):
        def run(restart=None):
            try:
                replays.run("doubles_any", doubles_any, {"student": submission}, restart)
            except AssertionError as exc:
                return results.TestOutcome(TEST.definition, results.FAILED, str(exc))
            return results.TestOutcome(TEST.definition, results.PASSED)
        return runner.run(TEST, run)

    assert through_replays(*student(plans, "correct")[1:]).status == results.PASSED
    session, runner, submission = student(plans, "off_by_one")
    outcome = through_replays(runner, submission)
    alone, _, _ = student(Plans(), "off_by_one")
    with pytest.raises(AssertionError) as plain:
        doubles_any(student=Submission(alone.transport, ("calc",)))
    assert outcome.status == results.FAILED
    assert outcome.message.splitlines()[0] == str(plain.value).splitlines()[0] == "double(1)"
    assert session.ran[-alone.round_trips:] == alone.ran  # the plan, a reset, then as alone
    assert session.round_trips == 2 + alone.round_trips
    session, runner, submission = student(plans, "off_by_one")  # again: plan, then continuation
    assert through_replays(runner, submission) == outcome and session.round_trips == 2


def test_each_test_starts_with_fresh_handles_and_seeds(tmp_path):
    (tmp_path / "calc.py").write_text(textwrap.dedent("""
        import torch
        class Box:
            pass
        def noise():
            return torch.rand(2)
    """))
    executor = Executor(tmp_path)

    def ask(op, path=None):
        request = {"op": op} if path is None else {"op": op, "target": {"module": "calc", "path": [path]}}
        return executor.encode_reply(executor.handle(request))

    box = ask("call", "Box")
    ask("reset")
    assert ask("call", "Box") == box  # the same handle number again
    first = ask("call", "noise")
    assert ask("call", "noise") != first
    ask("reset")
    assert ask("call", "noise") == first


def test_plans_outlive_a_run_under_their_key(student, tmp_path):
    """Each grading process saves its plans; compact merges them into one file of the current key
    and removes the rest; a later run loads them and starts warm."""
    cache = tmp_path / "cache"
    first, second = Plans(), Plans()
    grade(*student(first, "correct")[1:], doubles, [])
    grade(*student(second, "as_float")[1:], doubles, [])
    first.save(cache, "k1")
    second.save(cache, "k1")
    (cache / "plans-old-1.wire").write_bytes(b"stale")
    Plans.compact(cache, "k1")
    assert sorted(p.name for p in cache.iterdir()) == ["plans-k1.wire"]
    assert Plans.load(cache, "k2")._plans == {}
    for name in ("correct", "as_float"):  # both processes' answers are known after the merge
        session, runner, submission = student(Plans.load(cache, "k1"), name)
        runs = []
        assert grade(runner, submission, doubles, runs) == results.PASSED
        assert runs == [] and session.round_trips == 1
    assert Plans.key("abc") != Plans.key("abd")
    request = GradeRequest(Path("r"), Path("p"), Path("s"), Path("o"))
    assert plans_key(request, "abc") != plans_key(replace(request, shrink=True), "abc")


def test_a_module_that_failed_to_import_is_not_run_again(tmp_path, monkeypatch):
    """A plan may send hundreds of calls into a broken module: each fails as the first did, without
    running the module again."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calc.py").write_text("open('imports.log', 'a').write('x')\nraise ValueError('boom')\n")
    executor = Executor(tmp_path)
    call = {"op": "call", "target": {"module": "calc", "path": ["double"]}, "args": [1]}
    first, second = executor.handle(call), executor.handle(call)
    assert first == second and "calc.py could not be imported: ValueError: boom" in first["error"]["message"]
    assert (tmp_path / "imports.log").read_text() == "x"
