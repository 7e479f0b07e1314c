"""grader.grading.transcripts: the reference's answers, recorded once, let a submission that gives
the same answers pass a test in one round trip to its worker; any other answer runs the test as
it runs alone, and a failing property test reports the example hypothesis would report, without
hypothesis running again. Transcripts travel and are cached as bytes."""

import textwrap
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import results
from grader.grading.proxy import Submission
from grader.grading.replay import Replays
from grader.grading.suite import run_test
from grader.grading.transcripts import SessionLink, Transcript, Transcripts, cache_key
from grader.isolation.pool import Session
from grader.testing import profile_settings
from grader.worker import wire
from grader.worker.executor import Executor

pytestmark = pytest.mark.usefixtures("grader_hypothesis_profile")  # as in grading

STUDENTS = {
    "reference": "def double(x):\n    return 2 * x\n\ndef count():\n    return 3\n",
    "correct": "def double(x):\n    return x + x\n\ndef count():\n    return 3\n",  # same answers
    "as_float": "def double(x):\n    return 2.0 * x\n\ndef count():\n    return 3\n",  # passes, other bytes
    "off_by_one": "def double(x):\n    return 2 * x + (x == 1)\n\ndef count():\n    return 3\n",
    "off_above_12": "def double(x):\n    return 2 * x + (x > 12)\n\ndef count():\n    return 3\n",
}


class InProcessSession:
    """The part of :class:`grader.isolation.pool.Session` a SessionLink uses, answered by an
    Executor in this process; it counts round trips and remembers every request it ran."""

    frame = staticmethod(Session.frame)

    def __init__(self, folder):
        self.executor, self.round_trips, self.ran, self.ops = Executor(folder), 0, [], []

    def exchange(self, frames, labels):
        self.round_trips += 1
        requests = [wire.decode(wire.payload(frame)) for frame in frames]
        self.ran += [r for r in requests if r["op"] != "reset"]
        self.ops += [r["op"] for r in requests]
        return [self.executor.encode_reply(self.executor.handle(r)) for r in requests]

    @staticmethod
    def decode(body, label):
        return wire.decode(body)

    def transport(self, request):
        frame, label, _ = self.frame(request)
        return self.decode(self.exchange([frame], [label])[0], label)


def doubles(student):
    """double(x) is 2x"""
    for x in range(student.calc.count()):
        assert student.calc.double(x) == 2 * x, f"double({x})"


@profile_settings(shrink=False)  # as batch grading runs: the first failing example
@given(x=st.integers(0, 20))
def doubles_any(student, x):
    """double(x) is 2x for any x"""
    assert student.calc.double(x) == 2 * x, f"double({x})"


def collected(function):
    definition = results.TestDefinition(f"t.py::{function.__name__}", "calc", function.__doc__)
    return SimpleNamespace(definition=definition, function=function, params={}, reproduce="")


TESTS = [collected(doubles), collected(doubles_any)]


@pytest.fixture
def grade(tmp_path):
    """``grade(name, transcripts, record=False, replays=None)`` -> (outcomes, its session, its run)."""
    def grade(name, transcripts, record=False, replays=None):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        (folder / "calc.py").write_text(STUDENTS[name])
        session = InProcessSession(folder)
        replays = replays if replays is not None else Replays(first_failure=True)
        run = transcripts.run(SessionLink(session), record, examples=replays)
        submission = Submission(run.transport, ("calc",))
        outcomes = [run(test, lambda restart=None, test=test: run_test(test, submission, None, replays, restart))
                    for test in TESTS]
        return outcomes, session, run
    return grade


def alone(tmp_path, name):
    """The outcomes of the tests run alone: no transcript, no replay, hypothesis itself."""
    folder = tmp_path / f"alone-{name}"
    folder.mkdir()
    (folder / "calc.py").write_text(STUDENTS[name])
    submission = Submission(InProcessSession(folder).transport, ("calc",))
    return [run_test(test, submission, None) for test in TESTS]


def test_the_same_answers_pass_each_test_in_one_round_trip(grade):
    transcripts = Transcripts()
    outcomes, _, _ = grade("reference", transcripts, record=True)
    assert all(o.passed for o in outcomes) and set(transcripts.tests) == {t.definition.id for t in TESTS}
    outcomes, session, run = grade("correct", transcripts)
    assert all(o.passed for o in outcomes) and run.alike == [t.definition.id for t in TESTS]
    assert session.round_trips == len(TESTS)
    assert [r["target"]["path"] for r in session.ran[:4]] == [["count"]] + [["double"]] * 3


def test_without_transcripts_every_test_runs_from_a_reset(grade):
    """No transcripts (one submission, nothing cached): each test still starts from fresh handles
    and reseeded generators, so its answers do not depend on the tests before it."""
    outcomes, session, run = grade("off_by_one", Transcripts())
    assert [o.status for o in outcomes] == [results.FAILED, results.FAILED] and run.alike == []
    starts = [i for i, op in enumerate(session.ops) if op == "reset"]
    assert starts[0] == 0 and len(starts) >= len(TESTS)


@pytest.mark.parametrize("name", ["as_float", "off_by_one", "off_above_12"])
def test_other_answers_end_as_the_tests_end_alone(grade, tmp_path, name):
    """Passing with other bytes, failing a plain test, failing a property test's later example:
    each outcome and message is what the test gives alone (for the property test: the first
    failing example, reported from the replay without hypothesis running it again)."""
    transcripts = Transcripts()
    grade("reference", transcripts, record=True)
    outcomes, session, run = grade(name, transcripts)
    assert run.alike == (["t.py::doubles"] if name == "off_above_12" else [])  # x < 3 there
    assert outcomes == alone(tmp_path, name)


def test_a_failing_property_test_is_rehearsed_once_then_replayed(grade, tmp_path):
    """Examples not yet recorded in this process (transcripts made by another) come from a
    rehearsal on the reference's answers, which sends nothing to the submission; the replay
    stops at the first failing example."""
    transcripts = Transcripts()
    grade("reference", transcripts, record=True)
    moved = Transcripts.decode(transcripts.encode())  # as a grading process receives them
    replays = Replays(first_failure=True)
    outcomes, session, _ = grade("off_above_12", moved, replays=replays)
    assert replays.knows(TESTS[1].definition.id)
    transcript = transcripts.tests[TESTS[1].definition.id]
    calls = [r["args"][0] for r in session.ran if r["target"]["path"] == ["double"]]
    replayed = calls[3 + len(transcript.requests):]  # after doubles' and this test's transcripts
    assert 0 < len(replayed) < len(transcript.requests)  # one call per example, up to the failure
    assert replayed == [wire.decode(q)["args"][0] for q in transcript.requests][:len(replayed)]
    assert replayed[-1] > 12 and all(x <= 12 for x in replayed[:-1])  # stopped at the first failure
    assert outcomes[1].status == results.FAILED and f"double({replayed[-1]})" in outcomes[1].message


def test_transcripts_travel_and_are_cached_under_their_key(tmp_path):
    transcripts = Transcripts({"t.py::a": Transcript((b"q",), ("calc.double",), (b"r",))})
    assert Transcripts.decode(transcripts.encode()).tests == transcripts.tests
    for bad in (b"junk", wire.encode({"t": [[b"q"], ["l"], []]}), wire.encode([1])):
        with pytest.raises(ValueError):
            Transcripts.decode(bad)
    cache = tmp_path / "cache"
    transcripts.save(cache, "k0")
    transcripts.save(cache, "k1")
    assert sorted(p.name for p in cache.iterdir()) == ["transcripts-k1.wire"]  # other keys removed
    assert Transcripts.load(cache, "k1").tests == transcripts.tests
    assert Transcripts.load(cache, "k0") is None
    (cache / "transcripts-k1.wire").write_bytes(b"truncated")
    assert Transcripts.load(cache, "k1") is None
    assert cache_key("abc") != cache_key("abd")


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


def test_a_module_that_failed_to_import_is_not_run_again(tmp_path, monkeypatch):
    """A transcript may send hundreds of calls into a broken module: each fails as the first did,
    without running the module again."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calc.py").write_text("open('imports.log', 'a').write('x')\nraise ValueError('boom')\n")
    executor = Executor(tmp_path)
    call = {"op": "call", "target": {"module": "calc", "path": ["double"]}, "args": [1]}
    first, second = executor.handle(call), executor.handle(call)
    assert first == second and "calc.py could not be imported: ValueError: boom" in first["error"]["message"]
    assert (tmp_path / "imports.log").read_text() == "x"


def test_a_recording_that_fails_costs_speed_only(tmp_path, monkeypatch, capsys):
    """Transcripts only save time: if the reference cannot be recorded, the batch says so and
    grades without them."""
    import io
    import shutil

    from rich.console import Console

    from grader.grading.batch import run_batch
    from grader.grading.context import GradeRequest, GradingContext
    from tests.test_grading import EXAMPLES, REFERENCE, ROOT

    def broken(self):
        raise OSError("no space left on device")

    monkeypatch.setattr(GradingContext, "record_transcripts", broken)
    for student in ("ada", "dev"):
        shutil.copytree(EXAMPLES / student, tmp_path / "class" / student)
    request = GradeRequest(reference=REFERENCE, published=ROOT / "assignments" / "01",
                           submissions=tmp_path / "class", out=tmp_path / "out", exercises=("masks",))
    assert run_batch(request, Console(file=io.StringIO())) == 0
    assert "transcripts could not be recorded (OSError: no space left on device)" in capsys.readouterr().err
    grades = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert grades[1].startswith("ada,") and grades[1].endswith(",10,") and grades[2].startswith("dev,")
    assert not list((tmp_path / "out" / ".cache").glob("transcripts-*"))
