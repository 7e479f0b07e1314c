"""Assignment 02 as the project ships it: generated files in sync, no solution leaked, a catalogue of
misconceptions that its variants exercise exactly, and what a student sees on the stubs and on the
reference (public and hidden tests, run as a student would).
"""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from grader import assignment
from grader.authoring import generate, notebook
from grader.grading import diagnose
from grader.grading.suite import load_reference
from tests.test_generate import _signatures, solution_lines
from tests.test_student_run import student_pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE, PUBLISHED = ROOT / "reference" / "02", ROOT / "assignments" / "02"
ASSIGNMENT = assignment.load(REFERENCE)
VARIANTS = [v for path in sorted((REFERENCE / "variants").glob("*.toml"))
            for v in tomllib.loads(path.read_text())["variant"]]


def test_committed_stubs_and_notebook_are_what_the_commands_write():
    assert generate.drift(ASSIGNMENT, PUBLISHED) == [], "run `grader generate 02` and commit"
    assert notebook.drift(ASSIGNMENT, PUBLISHED) == [], "run `grader notebook 02` and commit"


def test_no_solution_line_reaches_the_published_folder():
    secret = solution_lines(ASSIGNMENT)
    assert len(secret) > 50
    for path in PUBLISHED.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".ipynb"):
            leaked = secret & {line.strip() for line in path.read_text().splitlines()}
            assert not leaked, f"{path.relative_to(ROOT)} holds solution lines: {sorted(leaked)[:3]}"


def test_every_stub_keeps_signatures_docstrings_and_names_its_exercise():
    raised = set()
    for module in ASSIGNMENT.student_modules:
        reference = ast.parse((REFERENCE / f"{module}.py").read_text())
        stub_text = (PUBLISHED / f"{module}.py").read_text()
        stub = ast.parse(stub_text)
        assert _signatures(stub) == _signatures(reference), module
        assert ast.get_docstring(stub) == ast.get_docstring(reference)
        raised |= set(re.findall(r'NotImplementedError\("(\w+): not implemented yet"\)', stub_text))
    assert raised == {e.id for e in ASSIGNMENT.exercises}


def test_the_contracts_points_and_exercise_names():
    assert [(e.id, e.points) for e in ASSIGNMENT.exercises] == [
        ("norms", 10), ("ffn", 10), ("rope", 10), ("block", 15), ("lm", 10), ("kvcache", 15), ("sampling", 10),
        ("generate", 10), ("cross", 10)]
    assert ASSIGNMENT.given_modules == ("config", "lm_checks")


def test_variants_are_well_formed_and_their_edits_apply():
    names = [v["name"] for v in VARIANTS]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)
    exercises = {e.id for e in ASSIGNMENT.exercises}
    for variant in VARIANTS:
        assert variant["module"] in ASSIGNMENT.student_modules, variant["name"]
        assert variant["expect"] in ("full", "loses", "zero"), variant["name"]
        assert set(variant.get("exercises", [])) <= exercises, variant["name"]
        assert (variant["expect"] == "full") == (not variant.get("exercises")), variant["name"]
        assert ("replace" in variant) != ("edit" in variant), f"{variant['name']}: exactly one of replace, edit"
        source = (REFERENCE / f"{variant['module']}.py").read_text()
        for old, _ in variant.get("edit", []):
            assert source.count(old) == 1, f"{variant['name']}: {old!r} occurs {source.count(old)} times"
        if "replace" in variant:
            ast.parse(variant["replace"])


def test_every_catalogued_misconception_is_named_by_exactly_one_variant():
    catalogue = diagnose.load(ASSIGNMENT)
    named = [v["misconception"] for v in VARIANTS if v.get("misconception")]
    assert sorted(named) == sorted(m.id for m in catalogue.misconceptions)
    for variant in VARIANTS:
        if variant.get("misconception"):
            assert variant["misconception"].split(".")[0] in variant["exercises"], variant["name"]


@pytest.fixture(scope="module")
def stubs_run():
    return student_pytest(tests="assignments/02")


@pytest.fixture(scope="module")
def reference_run():
    return student_pytest("reference/02", "--submission", "reference/02", tests="assignments/02")


def test_untouched_stubs_fail_every_exercise_with_one_line_each(stubs_run):
    out = stubs_run.stdout
    assert stubs_run.returncode == 1, out[-2000:]
    for exercise in ASSIGNMENT.exercises:
        assert out.count(f"[{exercise.id}] not implemented yet") == 1, exercise.id
        assert re.search(rf"^{exercise.id}\s.*0\.0 / \d+\s+not implemented yet", out, re.MULTILINE), exercise.id
    assert "Traceback" not in out and "NotImplementedError" not in out and "0.0 / 100" in out


def test_reference_passes_every_public_and_hidden_test(reference_run):
    out = reference_run.stdout
    assert reference_run.returncode == 0, out[-3000:]
    assert " failed" not in out.splitlines()[-1] and " passed" in out.splitlines()[-1]
    assert re.search(r"^total\s+100\.0 / 100", out, re.MULTILINE)


def test_the_reference_shows_no_misconception():
    from grader.frontends.local import local_submission

    student = local_submission(REFERENCE, ASSIGNMENT)
    found = diagnose.find(diagnose.load(ASSIGNMENT), ASSIGNMENT, student, load_reference(ASSIGNMENT),
                          [e.id for e in ASSIGNMENT.exercises])
    assert found == []
