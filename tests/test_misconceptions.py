"""Named misconceptions and figures (grader.grading.diagnose) on assignment 01's catalogue.

That each variant of an assignment is named exactly by its misconception (correct ones by none)
is checked by ``grader check`` (tests/test_check.py, variant by variant); here, the diagnosis's
own contract: tags and explanations only where points were lost, catalogue validation, figures.
"""

import pytest

from grader import results
from grader.assignment import load
from grader.authoring import variants
from grader.frontends.local import local_transport
from grader.grading import diagnose
from grader.grading.proxy import Submission
from grader.grading.suite import load_reference
from grader.worker.executor import Executor
from tests.assignments import ROOT

ASSIGNMENT = load(ROOT / "reference" / "01")
CATALOGUE = diagnose.load(ASSIGNMENT)
VARIANTS = {v.name: v for v in variants.load_all(ASSIGNMENT)}


@pytest.fixture(scope="module")
def reference():
    return load_reference(ASSIGNMENT)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def submission(folder) -> Submission:
    return Submission(local_transport(Executor(folder, ASSIGNMENT.forbidden_calls)), ASSIGNMENT.student_modules)


def variant_submission(name, tmp_path) -> Submission:
    return submission(variants.build(VARIANTS[name], ASSIGNMENT, tmp_path / name))


def test_every_catalogued_misconception_has_a_variant():
    named = {v.misconception for v in VARIANTS.values() if v.misconception}
    assert {m.id for m in CATALOGUE.misconceptions} == named


def test_diagnose_tags_and_explains_only_the_failed_outcomes_of_that_exercise(reference, tmp_path):
    student = variant_submission("sdpa_missing_scale", tmp_path)
    test = lambda name, exercise: results.TestDefinition(f"t.py::{name}", exercise, name)  # noqa: E731
    outcomes = [results.TestOutcome(test("a", "sdpa"), results.FAILED, "[sdpa] a\nvalues differ"),
                results.TestOutcome(test("b", "sdpa"), results.PASSED),
                results.TestOutcome(test("c", "masks"), results.FAILED, "[masks] c")]
    findings = diagnose.diagnose(CATALOGUE, ASSIGNMENT, student, reference, outcomes)
    tagged = findings.outcomes
    assert [d.id for d in findings.diagnoses] == ["sdpa.missing_scale"]
    assert tagged[0].tags == ("misconception:sdpa.missing_scale",)
    assert "not multiplied by 1/√d_k" in tagged[0].message and "Smallest input" in tagged[0].message
    assert tagged[1] == outcomes[1] and tagged[2] == outcomes[2]


def test_a_catalogue_entry_must_be_either_a_comparison_or_a_predicate():
    with pytest.raises(ValueError, match="either"):
        diagnose.Misconception("sdpa.x", "attention.scaled_dot_product_attention", "words")


def test_figure_pairs_hold_expected_and_student_values_where_they_differ(reference, tmp_path):
    student = variant_submission("sdpa_softmax_wrong_dim", tmp_path)
    pairs = diagnose.figure_pairs(CATALOGUE, ASSIGNMENT, student, reference, ["sdpa", "masks"])
    assert [p.exercise for p in pairs] == ["sdpa"]
    assert (pairs[0].title, pairs[0].rows, pairs[0].columns) == ("Attention weights", "query", "key")
    expected, got = pairs[0].expected, pairs[0].got
    assert len(expected) == len(got) >= 2 and expected != got
    assert all(abs(sum(row) - 1) < 1e-9 for row in expected)
