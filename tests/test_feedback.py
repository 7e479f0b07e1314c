"""Failure messages: exercise, property, the example hypothesis found, how to reproduce."""

from grader.feedback import failure_message
from grader.proxy import NotImplementedYet
from grader.results import TestDefinition

TEST = TestDefinition(id="test_attention.py::test_x", exercise="sdpa", description="weights sum to 1")


def _failure(note: str) -> AssertionError:
    exc = AssertionError("row sums: values differ at 1 of 3 positions")
    exc.add_note(note)
    return exc


def test_example_is_read_from_either_hypothesis_note_format_without_fixtures():
    for note in ("Falsifying example: test_x(\n    student=<Submission>,\n    q=tensor([1.]),\n)",
                 "Failing test case: test_x(\n    student=<Submission>,\n    q=tensor([1.]),\n)"):
        message = failure_message(_failure(note), TEST, reproduce='pytest "x::test_x"')
        lines = message.splitlines()
        assert lines[0] == "[sdpa] weights sum to 1"
        assert "row sums: values differ" in lines[1]
        assert "    q=tensor([1.])" in lines and "student" not in message
        assert lines[-1] == 'Reproduce: pytest "x::test_x"'


def test_not_implemented_is_one_line():
    assert failure_message(NotImplementedYet("sdpa: not implemented yet"), TEST) == "[sdpa] not implemented yet"
