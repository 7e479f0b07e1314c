"""Failure messages: exercise, property, the example hypothesis found (each argument by name),
how to reproduce; tensors shown small wherever they are printed."""

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
        assert "    q = tensor([1.])" in lines and "student" not in message
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
    assert "q = float32 (2, 30):" in message
    assert "tensor(" not in message and len(message) < 2000
    assert "expected[:, 0:6] (around the largest difference)" in message
    assert message.endswith("Reproduce: this is a hidden test; call your function on the input above")


def test_a_difference_in_a_tensor_of_several_blocks_shows_its_block_alone():
    import pytest
    import torch

    from grader.testing import close

    expected = torch.zeros(2, 2, 3, 4)
    got = expected.clone()
    got[0, 1, 0, 1] = 0.5
    with pytest.raises(AssertionError) as caught:
        close(got, expected, what="weights")
    shown = str(caught.value).split("\n", 1)[1]
    assert shown == ("expected[0, 1, :, :] (the block with the largest difference): float32 (3, 4):\n"
                     "  0 0 0 0\n  0 0 0 0\n  0 0 0 0\n"
                     "got[0, 1, :, :]: float32 (3, 4):\n    0 0.5   0   0\n    0   0   0   0\n    0   0   0   0")


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


def test_a_failing_example_names_every_argument_and_the_parts_of_a_named_one():
    """A named tuple or a Named dataclass spreads into its fields; each data.draw is its label."""
    from dataclasses import dataclass

    import pytest
    import torch
    from hypothesis import given

    from grader.testing import Named, hypothesis_profile, named, st, tensors

    Case = named("query", "mask", "scale", name="Case")

    @dataclass
    class Sizes(Named):
        d_model: int
        n_heads: int = 1

    @st.composite
    def cases(draw):
        return Case(draw(tensors((1, 2))), torch.ones(1, 1, dtype=torch.bool), None)

    with hypothesis_profile(max_examples=5):
        @given(case=cases(), sizes=st.builds(Sizes, st.just(4)), lengths=st.lists(st.just(0), min_size=30),
               data=st.data())
        def test_x(student, case, sizes, lengths, data):
            data.draw(tensors((2,)), label="grad_output")
            data.draw(st.just(3))
            assert False, "fails"

        with pytest.raises(AssertionError) as caught:
            test_x(student=None)
    example = failure_message(caught.value, TEST).split("Smallest failing input:\n")[1].splitlines()
    assert example == ["    query = float32 (1, 2):", "      0 0", "    mask = bool (1, 1):", "      1",
                       "    scale = None", "    d_model = 4", "    n_heads = 1",
                       "    lengths = " + str([0] * 30), "    grad_output = float32 (2,):", "      0 0",
                       "    draw 2 = 3",
                       'Reproduce: this is a hidden test; call your function on the input above']


def test_results_read_by_their_names_and_of_names_only_what_fits():
    import torch

    from grader.grading.feedback import show
    from grader.testing import named

    Attention = named("output", "weights", name="Attention")
    both = Attention.of((torch.zeros(1), torch.ones(1, 2)))
    assert show(both) == "output = float32 (1,):\n  0\nweights = float32 (1, 2):\n  1 1"
    assert both == (both.output, both.weights) and isinstance(both, tuple)
    single = torch.zeros(2)  # a result of another shape stays what it was: it still compares unequal
    assert Attention.of(single) is single and Attention.of((1, 2, 3)) == (1, 2, 3)


def test_a_tensor_a_test_printed_is_shown_small():
    """torch's repr in a test's own message (a 22 x 22 mask once printed 22 lines) is shown as
    show() shows it: a grid when small, a summary when large; a short one inside a sentence stays."""
    import torch

    mask = torch.ones(22, 22, dtype=torch.bool).tril()
    message = failure_message(AssertionError(f"masks differ:\nexpected:\n{mask}\ngot:\n{mask.T.int()}"), TEST)
    assert message.splitlines()[1:] == ["masks differ:", "expected:", "bool (22, 22): 253 of 484 True",
                                        "got:", "int32 (22, 22): 484 values in [0, 1], mean 0.5227"]
    small = failure_message(AssertionError(f"weights:\n{torch.eye(2, dtype=torch.float64)}"), TEST)
    assert small.splitlines()[1:] == ["weights:", "float64 (2, 2):", "  1 0", "  0 1"]
    inline = failure_message(AssertionError(f"ids must be a long tensor: {torch.tensor([1, 2])!r}"), TEST)
    assert inline.splitlines()[1] == "ids must be a long tensor: tensor([1, 2])"
