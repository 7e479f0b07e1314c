"""Failure messages: exercise, property, the example hypothesis found, how to reproduce."""

from grader.grading.feedback import failure_message
from grader.grading.proxy import NotImplementedYet
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


def test_tensors_are_shown_small_with_dtype_and_shape_and_masks_as_0_1_grids():
    import torch

    from grader.grading.feedback import show

    assert show(torch.tensor([[1.0, 0.5], [1 / 3, -2.0]])) == "float32 (2, 2):\n       1    0.5\n  0.3333     -2"
    assert show(torch.ones(2, 2, dtype=torch.bool).tril()) == "bool (2, 2):\n  1 0\n  1 1"
    long = show(torch.arange(500.0))
    assert long.startswith("float32 (500,): 500 values in [0, 499]") and "\n" not in long


def test_a_failing_example_prints_tensors_compactly_and_a_hidden_test_says_how_to_reproduce():
    import pytest
    from hypothesis import given

    from grader.testing import close, hypothesis_profile, tensors

    with hypothesis_profile(max_examples=5):  # loaded before @given: a test keeps the settings of its definition
        @given(q=tensors((2, 30)))
        def test_x(q):
            close(q + 1, q, what="output")

        with pytest.raises(AssertionError) as caught:
            test_x()
    hidden = TestDefinition(id="test_hidden_x.py::test_x", exercise="sdpa", description="d", hidden=True)
    message = failure_message(caught.value, hidden)
    assert "q=float32 (2, 30):" in message
    assert "tensor(" not in message and len(message) < 2000
    assert "expected[0:2, 0:6] (around the largest difference)" in message
    assert message.endswith("Reproduce: this is a hidden test; call your function on the input above")


def test_pytest_introspection_and_memory_addresses_are_left_out():
    exc = AssertionError("causal_mask(1): wrong entries\nassert False\n"
                         " +  where False = <built-in method equal of type object at 0x7f4c394cea40>(a, b)\n"
                         " +    where <built-in method equal> = torch.equal")
    message = failure_message(exc, TEST)
    assert message.splitlines()[1:] == ["causal_mask(1): wrong entries", "assert False"]
    error = ValueError("<Tokenizer object at 0x7f00aa>: bad")
    assert "ValueError: <Tokenizer object>: bad" in failure_message(error, TEST)


def test_a_bare_not_implemented_error_reads_as_unfinished_but_not_a_reasoned_one():
    import pytest

    from grader.grading.proxy import SubmissionError, _result

    def reply(message):
        return {"error": {"type": "NotImplementedError", "message": message, "traceback": ""}}

    with pytest.raises(NotImplementedYet, match="causal_mask: not implemented yet"):
        _result(reply(""), "attention.causal_mask", None)  # nbgrader's stub: raise NotImplementedError()
    with pytest.raises(SubmissionError, match="only 2-D masks"):
        _result(reply("only 2-D masks"), "attention.causal_mask", None)
