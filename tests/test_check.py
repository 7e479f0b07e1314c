"""``grader check``: every assignment of the repository passes its own check, variant by variant;
``grader new`` writes one that passes at once; breaking a piece of it fails with what to fix.

The variant matrix is the check's: variants graded in this process on one collected suite and one
imported reference. The default tier grades a sample that still shows every kind of effect on
every exercise (:func:`sample`); the slow tier grades every variant, and the reference in an
isolated worker as `grader check NN` does.
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from grader.assignment import load
from grader.authoring import check as checking
from grader.authoring import scaffold, variants
from tests.assignments import ROOT, assignment_ids

CHECKS = ["structure", "generate", "notebook", "reference", "stubs", "variants", "misconceptions", "public"]


def sample(assignment, found) -> set[str]:
    """The first variant of each (exercises, expected effect), a correct one's exercises being
    those its patch touches: every exercise's correct rewrites, mistakes and cheats are graded."""
    first = {}
    for v in found:
        where = variants.touched_exercises(v, assignment) if v.expect == "full" else v.exercises
        first.setdefault((where, v.expect), v.name)
    return set(first.values())


def variant_cases():
    cases = []
    for a in assignment_ids():
        assignment = load(ROOT / "reference" / a)
        found = variants.load_all(assignment)
        sampled = sample(assignment, found)
        cases += [pytest.param(a, v.name, id=f"{a}-{v.name}",
                               marks=() if v.name in sampled else pytest.mark.slow) for v in found]
    return cases


@pytest.fixture(scope="module")
def reports(request):
    """The in-process check of each assignment, made once for all the tests that read it: the
    default tier's sample of variants, or (``--slow``) every variant and the isolated reference.
    The assignments are checked side by side, the first here and each other one in a process of
    its own (the checks are independent: two cores, about half the wall time)."""
    slow = request.config.getoption("slow")

    def arguments(assignment_id: str) -> tuple:
        reference = ROOT / "reference" / assignment_id
        assignment = load(reference)
        only = None if slow else sample(assignment, variants.load_all(assignment))
        return reference, ROOT / "assignments" / assignment_id, slow, None, only

    first, *others = assignment_ids()
    with ProcessPoolExecutor(max_workers=max(1, len(others)), mp_context=get_context("spawn")) as pool:
        pending = {a: pool.submit(checking.check, *arguments(a)) for a in others}
        made = {first: checking.check(*arguments(first))}
        made.update({a: future.result() for a, future in pending.items()})
    return made.__getitem__


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_every_assignment_passes_its_check(reports, assignment_id, request):
    report = reports(assignment_id)
    assert report.ok, "\n".join(report.lines())
    slow = request.config.getoption("slow")
    assert [f.name for f in report.findings] == CHECKS + ["isolated"] * slow


@pytest.mark.parametrize(("assignment_id", "name"), variant_cases())
def test_each_variant_has_exactly_its_expected_effect(reports, assignment_id, name):
    """Points lost in exactly its exercises (0 there for a cheat), full marks in the other exercises
    its patch touches, and exactly its misconception named (none for a correct variant)."""
    assignment = load(ROOT / "reference" / assignment_id)
    result = next(r for r in reports(assignment_id).variants if r.variant.name == name)
    variant, full = result.variant, {e.id: e.points for e in assignment.exercises}
    assert set(result.points) == set(variants.touched_exercises(variant, assignment)) >= set(variant.exercises)
    for exercise, points in result.points.items():
        if exercise not in variant.exercises:
            assert points == full[exercise], f"{name} lost points in {exercise}"
        elif variant.expect == "zero":
            assert points == 0, f"{name} scored {points} in {exercise}"
        else:
            assert points < full[exercise], f"{name} not caught in {exercise}"
    assert result.named == ((variant.misconception,) if variant.misconception else ())


def grader(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_new_then_check_passes_in_a_fresh_root(tmp_path):
    made = grader("new", "99", "--title", "Throwaway", "--root", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "assignments" / "99" / "throwaway.ipynb").is_file()
    checked = grader("check", "99", "--root", str(tmp_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[-1] == "assignment 99: all 9 checks passed"
    assert any(line.startswith("ok    reference in an isolated worker") for line in lines)
    again = grader("new", "99", "--title", "Again", "--root", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_check_of_an_unknown_assignment_is_one_clear_error(tmp_path):
    run = grader("check", "42", "--root", str(tmp_path))
    assert run.returncode == 2 and "no assignment '42'" in run.stderr and "Traceback" not in run.stderr


# --- breaking a scaffolded assignment -------------------------------------------------------------

@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    root = tmp_path_factory.mktemp("authoring")
    scaffold.new(root, "98", "Broken on purpose")
    return root


@pytest.fixture
def broken(scaffolded):
    """``break_(relative path, old, new)`` edits one file of assignment 98; the next test gets
    it back as written. Returns the failed lines of the check that follows."""
    saved = {p: p.read_bytes() for p in scaffolded.rglob("*") if p.is_file()}

    def break_(path: str, old: str, new: str) -> list[str]:
        target = scaffolded / path
        text = target.read_text()
        assert text.count(old) == 1, f"{old!r} not once in {path}"
        target.write_text(text.replace(old, new))
        report = checking.check(scaffolded / "reference" / "98", scaffolded / "assignments" / "98")
        assert not report.ok
        return [line for line in report.lines() if not line.startswith("ok")]

    yield break_
    for path in set(scaffolded.rglob("*")) - set(saved):
        if path.is_file():
            path.unlink()
    for path, data in saved.items():
        path.write_bytes(data)


def test_the_scaffold_passes_before_it_is_broken(scaffolded):
    report = checking.check(scaffolded / "reference" / "98", scaffolded / "assignments" / "98")
    assert report.ok, "\n".join(report.lines())


def test_a_broken_reference_fails_naming_the_exercise(broken):
    failed = broken("reference/98/example.py", "    return x * factor\n", "    return x * factor + 1\n")
    text = "\n".join(failed)
    assert failed[0].startswith("FAIL  reference: 50/100; it must score full marks: fix the reference or the tests")
    assert "scale: 50/100 (1 test fails; first: test_example.py::test_scale_example: scale([1, -2], 3): " in text
    assert failed[-1].startswith("assignment 98: ") and "checks failed; fix what the FAIL lines say" in failed[-1]


def test_an_edited_stub_fails_and_says_to_regenerate(broken):
    failed = "\n".join(broken("assignments/98/example.py", 'raise NotImplementedError("scale: not implemented yet")',
                              "return x * factor"))
    assert "FAIL  assignments/98/: example.py differs from what `grader generate 98` writes; run " \
           "`grader generate 98` and commit what it writes" in failed
    assert "FAIL  stubs (assignments/98/)" in failed
    assert "scale: 100 points; 2 tests do not say 'not implemented' on the stub" in failed


def test_a_variant_without_its_expected_effect_fails_naming_it(broken):
    failed = "\n".join(broken("reference/98/variants/scale.toml", 'expect = "loses"\nexercises = ["scale"]\n',
                              'expect = "full"\n'))
    assert "FAIL  variants: 1 of 2 without their expected effect" in failed
    assert "scale_adds (scale.toml): lost points in scale (0/100), where it should keep full marks" in failed


def test_a_mistake_no_test_catches_fails(broken):
    failed = "\n".join(broken("reference/98/variants/scale.toml", 'expect = "full"\n',
                              'expect = "loses"\nexercises = ["scale"]\n'))
    assert "scale_with_mul (scale.toml): kept full marks in scale: no test catches this mistake; add one" in failed


def test_an_edited_notebook_fails_and_says_to_rewrite_it(broken):
    failed = "\n".join(broken("assignments/98/broken_on_purpose.ipynb", '"nbformat": 4', '"nbformat": 4 '))
    assert "FAIL  assignments/98/: broken_on_purpose.ipynb differs from what `grader notebook 98` writes; run " \
           "`grader notebook 98`" in failed


def test_a_patch_that_does_not_apply_fails_naming_file_and_variant(broken):
    failed = "\n".join(broken("reference/98/variants/scale.toml", '"return x + factor"]]', '"return x + factor"], '
                              '["x * factor", "x"]]'))
    assert "FAIL  structure" in failed
    assert "scale.toml: variant 'scale_adds': edit 2: its old text 'x * factor' does not occur in example.py" in failed


def test_an_unmarked_test_fails_the_structure(broken, scaffolded):
    shutil.copy(scaffolded / "assignments" / "98" / "test_example.py",
                scaffolded / "assignments" / "98" / "test_unmarked.py")
    failed = "\n".join(broken("assignments/98/test_unmarked.py", '@pytest.mark.exercise("scale")\n', ""))
    assert "has no @pytest.mark.exercise(...) mark" in failed


def test_points_must_add_up_to_100(broken):
    failed = "\n".join(broken("reference/98/assignment.toml", "points = 100", "points = 90"))
    assert "the exercises' points add up to 90, not 100: change their `points` in assignment.toml" in failed


def test_an_exercise_without_hidden_tests_fails_the_structure(broken, scaffolded):
    (scaffolded / "reference" / "98" / "test_hidden_example.py").unlink()
    failed = "\n".join(broken("assignments/98/README.md", "Complete", "Write"))
    assert "exercise scale has no hidden test: add a hidden test in reference/98/test_hidden_*.py marked " \
           "@pytest.mark.exercise('scale')" in failed


def test_the_catalogue_and_the_variants_must_agree():
    report = checking.Report("x")
    catalogue = type("Catalogue", (), {"misconceptions": [type("M", (), {"id": "scale.adds"})()]})()
    named = [type("V", (), {"misconception": "scale.other"})()]
    checking._catalogue_coverage(catalogue, named, report)
    assert not report.ok
    assert report.findings[0].details == (
        "scale.adds is named by no variant: add a variant with exactly this mistake and misconception = 'scale.adds'",
        "variants expect scale.other, which the catalogue does not define")
