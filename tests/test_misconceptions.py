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


def test_the_public_catalogue_works_from_the_published_folder_alone(tmp_path):
    """What students get (assignments/01, no reference anywhere) names the mistakes public data can
    show, the reference's place taken by EXPECTED; grading's catalogue holds the same entries."""
    import shutil

    published = tmp_path / "01"
    shutil.copytree(ROOT / "assignments" / "01", published,
                    ignore=shutil.ignore_patterns("test_*", "*.ipynb"))
    public = diagnose.load_public(load(published))
    assert public.misconceptions and public.public == {m.id for m in public.misconceptions}
    assert public.public <= {m.id for m in CATALOGUE.misconceptions} and not public.figures
    assert {m.id.split(".")[0] for m in public.misconceptions} == {"sdpa", "topk", "masks", "posenc"}
    student = variant_submission("sdpa_missing_scale", tmp_path)
    failed = results.TestOutcome(results.TestDefinition("t.py::a", "sdpa", "a"), results.FAILED, "[sdpa] a")
    findings = diagnose.diagnose(public, load(published), student, None, [failed])
    assert [d.id for d in findings.diagnoses] == ["sdpa.missing_scale"]
    assert "Expected:\n    output = float64 (2, 2):" in findings.outcomes[0].message  # results by name


def test_a_public_stand_in_that_disagrees_with_the_reference_is_found():
    from types import SimpleNamespace

    import torch

    run = lambda m, x: m.attention.causal_mask(x)  # noqa: E731
    probes = (diagnose.probe(2), diagnose.probe(3))
    entry = diagnose.Misconception("masks.x", "attention.causal_mask", "words", run=run,
                                   mistaken=lambda ref, x: None, probes=probes)
    ones = lambda n: torch.ones(n, n, dtype=torch.bool)  # noqa: E731
    stand_in = SimpleNamespace(attention=SimpleNamespace(causal_mask=ones))
    catalogue = diagnose.Catalogue((entry,), public=frozenset({"masks.x"}), expected=stand_in)
    lower = lambda n: ones(n) if n < 3 else ones(n).tril()  # noqa: E731 - agrees on 2, not on 3
    reference = SimpleNamespace(attention=SimpleNamespace(causal_mask=lower))
    assert diagnose.public_disagreements(catalogue, reference) == ["masks.x: on the probe x = 3"]


def test_expected_and_got_show_only_the_block_where_they_differ_most(reference, tmp_path):
    """A probe's results of several 2-D blocks ((B, H, L, S) weights) are shown as one block each,
    the same block on both sides, by name."""
    student = variant_submission("mha_head_split_without_transpose", tmp_path)
    [found] = diagnose.find(CATALOGUE, ASSIGNMENT, student, reference, ["mha"])
    assert found.id == "mha.head_split_without_transpose"
    for shown in (found.expected, found.got):
        lines = shown.splitlines()
        assert lines[0].startswith("output = float32 (2, 3, 4), the block [") and len(lines) == 8
        assert lines[4].startswith("weights = float32 (2, 2, 3, 3), the block [")
    assert found.expected.splitlines()[4] == found.got.splitlines()[4]


def test_expected_and_got_show_only_the_results_that_differ(reference, tmp_path):
    student = variant_submission("complexity_fit_log_coefficient", tmp_path)
    [found] = diagnose.find(CATALOGUE, ASSIGNMENT, student, reference, ["complexity"])
    assert found.expected.splitlines() == ["coefficient = 3.0000000000000004", "(the same in yours: exponent)"]
    assert found.got.splitlines() == ["coefficient = 1.0986122886681098"]
