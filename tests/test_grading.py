"""`grader grade` on a whole class: the reference, the stubs, the demo class, every variant.

The class of assignment 01 (reference, stubs, demo) is graded once with the full suite (jobs=2);
the tests read its outputs. Every variant of every assignment (grader.authoring.variants) is
graded through the command line too, on the exercises its patch touches (`--exercise`; the
builder keeps everything else on the reference's code, and the class run shows the reference's
full marks there): each must have exactly its expected effect. The same matrix runs in-process in
the default tier (tests/test_check.py); tests/test_grading_isolated.py grades a few demo students
through the isolated path in the default tier.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

from grader.assignment import load
from grader.authoring import variants
from tests.assignments import assignment_ids

pytestmark = pytest.mark.slow  # the slow tier: python -m pytest --slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "01"
EXAMPLES = ROOT / "examples" / "submissions"
ASSIGNMENT = load(REFERENCE)
HEADER = "student,sdpa,masks,topk,mha,posenc,tokenizer,params,complexity,plot,total,note"

# The demo class of the README, and what each student must get (None: any score).
DEMO = {
    "ada": {"total": 100},
    "ben": {"total": 100},
    "cleo": {"lost": {"sdpa", "mha", "tokenizer"}},  # her MultiHeadAttention uses her sdpa
    "dev": {"zero": {"sdpa", "topk", "mha", "tokenizer", "complexity", "plot"}, "full": {"masks", "posenc", "params"}},
    "eve": {"zero": {"sdpa", "topk", "mha"}, "full": {"masks", "posenc", "tokenizer", "params", "complexity", "plot"}},
    "finn": {"zero": {"tokenizer", "complexity"}, "full": {"sdpa", "masks", "topk", "mha", "posenc", "params", "plot"}},
    "gus": {"total": 0},
    "hana": {"lost": {"sdpa", "masks", "topk", "mha", "tokenizer", "params"}},
}


def grade(submissions: Path, out: Path, *args: str, assignment_id: str = "01") -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "grader", "grade", assignment_id, str(submissions), "--out",
                          str(out), *args], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def read_rows(path: Path) -> dict[str, dict]:
    with open(path) as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    submissions = base / "class"
    shutil.copytree(REFERENCE, submissions / "reference", ignore=shutil.ignore_patterns("test_*", "__pycache__"))
    shutil.copytree(ROOT / "assignments" / "01", submissions / "stubs",
                    ignore=shutil.ignore_patterns("test_*", "__pycache__", "*.md"))
    for demo in EXAMPLES.iterdir():
        shutil.copytree(demo, submissions / f"demo-{demo.name}")
    run = grade(submissions, base / "out", "--jobs", "2")
    return base, submissions, run, read_rows(base / "out" / "grades.csv")


def variant_cases():
    return [pytest.param(a, v, id=f"{a}-{v.name}") for a in assignment_ids()
            for v in variants.load_all(load(ROOT / "reference" / a))]


@pytest.fixture(scope="module")
def variant_rows(tmp_path_factory):
    """Every variant's grades.csv row, per assignment: variants touching the same exercises are
    graded in one run, on those exercises only."""
    base, rows = tmp_path_factory.mktemp("variants"), {}
    for assignment_id in assignment_ids():
        assignment, groups = load(ROOT / "reference" / assignment_id), {}
        for variant in variants.load_all(assignment):
            groups.setdefault(variants.touched_exercises(variant, assignment), []).append(variant)
        for number, (exercises, group) in enumerate(sorted(groups.items())):
            submissions = base / assignment_id / f"group{number}"
            for variant in group:
                variants.build(variant, assignment, submissions / variant.name)
            selection = [arg for e in exercises for arg in ("--exercise", e)]
            out = base / assignment_id / f"out{number}"
            grade(submissions, out, "--jobs", "2", *selection, assignment_id=assignment_id)
            rows.update({(assignment_id, name): {**row, "feedback.md": str(out / name / "feedback.md")}
                         for name, row in read_rows(out / "grades.csv").items()})
    return rows


def _points(row: dict, assignment=ASSIGNMENT) -> dict[str, float]:
    return {e.id: float(row[e.id]) for e in assignment.exercises if row[e.id] != ""}


def test_csv_has_the_contract_header_and_one_row_per_student(graded):
    base, submissions, _, rows = graded
    assert (base / "out" / "grades.csv").read_text().splitlines()[0] == HEADER
    assert set(rows) == {p.name for p in submissions.iterdir()}


def test_reference_scores_100_and_stubs_0_with_not_implemented_feedback(graded):
    base, _, _, rows = graded
    assert float(rows["reference"]["total"]) == 100
    assert float(rows["stubs"]["total"]) == 0
    feedback = (base / "out" / "stubs" / "feedback.md").read_text()
    assert feedback.count("Not implemented yet.") == len(ASSIGNMENT.exercises)


@pytest.mark.parametrize(("assignment_id", "variant"), variant_cases())
def test_each_variant_loses_points_exactly_where_it_breaks(variant_rows, assignment_id, variant):
    assignment = load(ROOT / "reference" / assignment_id)
    points = _points(variant_rows[assignment_id, variant.name], assignment)
    assert set(points) == set(variants.touched_exercises(variant, assignment)) >= set(variant.exercises)
    for exercise in assignment.exercises:
        if exercise.id not in points:
            continue
        if exercise.id not in variant.exercises:
            assert points[exercise.id] == exercise.points, f"{variant.name} lost points in {exercise.id}"
        elif variant.expect == "zero":
            assert points[exercise.id] == 0, f"{variant.name} scored in {exercise.id}"
        else:
            assert points[exercise.id] < exercise.points, f"{variant.name} not caught in {exercise.id}"


@pytest.mark.parametrize("student", sorted(DEMO))
def test_demo_class_scores(graded, student):
    assert_demo_scores(student, graded[3][f"demo-{student}"])


def assert_demo_scores(student: str, row: dict) -> None:
    """``row`` (of grades.csv) is what ``DEMO`` says ``student`` must get."""
    expected, points, total = DEMO[student], _points(row), float(row["total"])
    full = {e.id: e.points for e in ASSIGNMENT.exercises}
    if "total" in expected:
        assert total == expected["total"]
    for exercise in expected.get("zero", ()):
        assert points[exercise] == 0, exercise
    for exercise in expected.get("full", ()):
        assert points[exercise] == full[exercise], exercise
    for exercise in expected.get("lost", ()):
        assert points[exercise] < full[exercise], exercise
    if "lost" in expected:
        assert all(points[e] == full[e] for e in full if e not in expected["lost"])


def test_batch_reports_the_first_failing_input_without_shrinking(graded):
    result = json.loads((graded[0] / "out" / "demo-hana" / "results.json").read_text())
    outputs = [t["output"] for t in result["tests"]]
    assert any("Failing input:" in o for o in outputs)
    assert not any("Smallest failing input" in o for o in outputs)


def test_feedback_is_one_cause_per_exercise_and_keeps_every_failing_test(graded):
    """hana's feedback.md (1,127 lines before causes were shown once) is a fraction of it, yet names
    every test she failed; feedback.html keeps every test with its status; no tensor is printed
    as torch prints it, nor a failing input as an unlabelled tuple."""
    out = graded[0] / "out" / "demo-hana"
    page, tests = (out / "feedback.md").read_text(), json.loads((out / "results.json").read_text())["tests"]
    html = (out / "feedback.html").read_text()
    assert len(page.splitlines()) < 1127 / 3
    failed = [t for t in tests if t["status"] == "failed"]
    assert len(failed) > 40
    for test in failed:
        description = test["name"].split(": ", 1)[1]
        assert description in page, description
        status = test["extra_data"]["outcome"].replace("_", " ")
        assert escape(f"{status}: {description}") in html, description
    for text in (page, html):
        assert "tensor(" not in text and "case=(" not in text and "[0] float" not in text


def test_a_one_mistake_submission_gets_short_feedback_with_the_cause_first(variant_rows):
    """Each variant with one mistake (that grading names): the exercise's section starts with the
    named mistake; feedback.md is under 80 lines when the mistake costs that exercise alone. A
    mistake that also costs the exercises whose code runs it (assignment 02's norms run in its
    block, model, cache and generation) is shown once: each further section is one sentence
    pointing back and a line per failed test, and the page stays under 100 lines."""
    for (assignment_id, name), row in variant_rows.items():
        variant = {v.name: v for v in variants.load_all(load(ROOT / "reference" / assignment_id))}[name]
        if variant.expect != "loses" or not variant.misconception:
            continue
        page = Path(row["feedback.md"]).read_text()
        sections = page.split("## What to fix\n\n")[1].split("\n\n## ")[0].split("### ")[1:]
        cause = variant.misconception.split(".")[0]
        [own] = [s.splitlines() for s in sections if s.startswith(f"{cause} (")]
        assert own[2] == "```" and own[3].startswith(f"Likely mistake ({variant.misconception}): "), name
        further = [s for s in sections if not s.startswith(f"{cause} (")]
        for section in further:
            assert "'s code runs your " in section.splitlines()[2] and "```" not in section, (name, section)
        assert len(page.splitlines()) < (100 if further else 80), (name, len(page.splitlines()))


def test_forbidden_builtin_scores_zero_with_a_reason(graded):
    feedback = (graded[0] / "out" / "demo-eve" / "feedback.md").read_text()
    assert "forbidden built-in" in feedback and "scaled_dot_product_attention" in feedback


def test_results_json_follows_gradescope_schema(graded):
    result = json.loads((graded[0] / "out" / "demo-cleo" / "results.json").read_text())
    assert isinstance(result["score"], float) and result["execution_time"] > 0
    assert "isolation" in result["extra_data"]
    visibilities = {t["visibility"] for t in result["tests"]}
    assert visibilities == {"visible", "after_published"}
    for test in result["tests"]:
        assert {"name", "score", "max_score", "output", "tags", "visibility", "status"} <= set(test)
        assert test["tags"][0] in {e.id for e in ASSIGNMENT.exercises}
        assert 0 <= test["score"] <= test["max_score"]
    assert abs(sum(t["score"] for t in result["tests"]) - result["score"]) < 1e-6


def test_hostile_demo_neither_gains_points_nor_disturbs_others(graded):
    base, _, _, rows = graded
    assert float(rows["demo-gus"]["total"]) == 0
    assert float(rows["reference"]["total"]) == 100  # graded in the same batch, intact
    feedback = (base / "out" / "demo-gus" / "feedback.md").read_text()
    assert "time limit exceeded" in feedback
    assert not (base / "class" / "demo-gus" / "grades.csv").exists()


def test_one_submission_split_between_two_processes_gets_what_the_class_run_gave(graded):
    """With more jobs than submissions, a submission's exercises are split between forked copies
    of the grading process (grader.grading.shards): same statuses, messages, tags, scores and figures."""
    base, submissions, _, rows = graded
    alone = base / "alone"
    shutil.copytree(submissions / "demo-hana", alone / "demo-hana")
    grade(alone, base / "out-alone", "--jobs", "2")
    split, whole = (json.loads((out / "demo-hana" / "results.json").read_text())
                    for out in (base / "out-alone", base / "out"))
    assert split["tests"] == whole["tests"] and split["score"] == whole["score"]
    assert read_rows(base / "out-alone" / "grades.csv")["demo-hana"] == rows["demo-hana"]
    figures = [(out / "demo-hana" / "feedback.html").read_text().count('aria-label="heatmap')
               for out in (base / "out-alone", base / "out")]
    assert figures[0] == figures[1] >= 1


def test_two_processes_each_splitting_their_submission_get_what_the_class_run_gave(graded):
    """Four jobs, two submissions: two grading processes, each forking once (the pool's path)."""
    base, submissions, _, rows = graded
    pair = base / "pair"
    for name in ("demo-cleo", "demo-hana"):
        shutil.copytree(submissions / name, pair / name)
    grade(pair, base / "out-pair", "--jobs", "4", "--exercise", "masks", "--exercise", "posenc")
    split = read_rows(base / "out-pair" / "grades.csv")
    def tests(out, name):  # the two exercises' entries, without their numbers in the run
        return [{k: v for k, v in t.items() if k != "number"}
                for t in json.loads((out / name / "results.json").read_text())["tests"]
                if t["name"].startswith(("masks:", "posenc:"))]

    for name in ("demo-cleo", "demo-hana"):
        assert (split[name]["masks"], split[name]["posenc"]) == (rows[name]["masks"], rows[name]["posenc"])
        assert tests(base / "out-pair", name) == tests(base / "out", name) != []


def test_rerun_regrades_only_what_changed_and_force_regrades_all(graded):
    base, submissions, _, rows = graded
    subset = base / "subset"
    for name in ("reference", "demo-cleo", "demo-dev"):
        shutil.copytree(submissions / name, subset / name)
    first = grade(subset, base / "out-subset", "--jobs", "1")
    assert "3 to grade" in first.stderr
    again = grade(subset, base / "out-subset", "--jobs", "1")
    assert "0 to grade (3 unchanged)" in again.stderr
    with open(subset / "demo-cleo" / "positional.py", "a") as handle:
        handle.write("\n# edited\n")
    assert "1 to grade (2 unchanged)" in grade(subset, base / "out-subset", "--jobs", "1").stderr
    assert "3 to grade (0 unchanged)" in grade(subset, base / "out-subset", "--jobs", "1", "--force").stderr
    with open(base / "out-subset" / "grades.csv") as handle:
        sequential = {row["student"]: row for row in csv.DictReader(handle)}
    for name, row in sequential.items():  # jobs=1 here, jobs=2 in the class run: same grades
        assert row == rows[name], name
