"""Named misconceptions: each mutant in tests/variants/ gets exactly its own id, correct code none.

The diagnosis runs through the engine (grader.grading.diagnose) against an in-process Submission, the same
proxy the tests use, without grading whole batches: a variant is checked on the exercises it
breaks (a correct variant on the exercises its definitions belong to).
"""

import ast

import pytest

from grader import results
from grader.assignment import load
from grader.frontends.local import local_transport
from grader.grading import diagnose
from grader.grading.proxy import Submission
from grader.grading.suite import load_reference
from grader.worker.executor import Executor
from tests.variants import REFERENCE, all_variants, build

ASSIGNMENT = load(REFERENCE)
CATALOGUE = diagnose.load(ASSIGNMENT)
VARIANTS = all_variants()


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


def exercises_of(variant) -> set[str]:
    tree = ast.parse(variant.path.read_text())
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return {e.id for e in ASSIGNMENT.exercises for name in names if f"{variant.module}.{name}" in e.names}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_is_named_exactly_by_its_misconception(variant, reference, tmp_path):
    student = submission(build(variant, tmp_path / variant.name))
    exercises = set(variant.breaks) or exercises_of(variant)
    found = {d.id for d in diagnose.find(CATALOGUE, ASSIGNMENT, student, reference, exercises)}
    assert found == ({variant.misconception} if variant.misconception else set())


def test_the_reference_has_no_misconception(reference):
    student = submission(REFERENCE)
    exercises = [e.id for e in ASSIGNMENT.exercises]
    assert diagnose.find(CATALOGUE, ASSIGNMENT, student, reference, exercises) == []


def test_every_catalogued_misconception_has_a_mutant():
    named = {v.misconception for v in VARIANTS if v.misconception}
    assert {m.id for m in CATALOGUE.misconceptions} == named


def test_diagnose_tags_and_explains_only_the_failed_outcomes_of_that_exercise(reference, tmp_path):
    variant = next(v for v in VARIANTS if v.name == "sdpa_missing_scale")
    student = submission(build(variant, tmp_path / "s"))
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


def test_heatmap_pairs_hold_expected_and_student_weights_where_they_differ(reference, tmp_path):
    variant = next(v for v in VARIANTS if v.name == "sdpa_softmax_wrong_dim")
    student = submission(build(variant, tmp_path / "s"))
    pairs = diagnose.weights_pairs(CATALOGUE, ASSIGNMENT, student, reference, ["sdpa", "masks"])
    assert [p.exercise for p in pairs] == ["sdpa"]
    expected, got = pairs[0].expected, pairs[0].got
    assert len(expected) == len(got) >= 2 and expected != got
    assert all(abs(sum(row) - 1) < 1e-9 for row in expected)
