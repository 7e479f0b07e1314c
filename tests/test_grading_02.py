"""`grader grade 02` on assignment 02's demo class (examples/02), the reference and the stubs.

Each demo student must get the scores the README promises and feedback that names their mistakes
(the `misconception:<id>` tags of results.json). A notebook submission of the reference (its five
module cells, no config.py: the grader serves the given modules) scores 100. The variants of
reference/02/variants are checked by `grader check 02`.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import load
from tests.test_notebook import notebook_text

pytestmark = pytest.mark.slow  # the slow tier: python -m pytest --slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "02"
ASSIGNMENT = load(REFERENCE)
EXERCISES = {e.id: e.points for e in ASSIGNMENT.exercises}
ATTENTION_BUILTINS = {"block", "lm", "kvcache", "cross"}  # exercises whose list forbids F.scaled_dot_product_attention

# What each demo student must get: full / zero / lost exercises (the others full) and named mistakes.
DEMO = {
    "ada": {"total": 100},  # the reference's style
    "ben": {"total": 100},  # another style: float64 norms, complex RoPE, einsum, chunked cache, sort-based sampling
    "cleo": {"lost": {"rope", "block", "lm", "kvcache", "generate"},  # her model runs her RoPE
             "named": {"rope.half_split", "lm.loss_without_shift"}},
    "dev": {"lost": {"sampling", "generate", "cross"},
            "named": {"sampling.top_k_drops_ties", "generate.eos_not_padded", "cross.causal_mask"}},
    "eve": {"lost": {"kvcache", "generate", "cross"},
            "named": {"kvcache.start_after_update", "kvcache.bytes_keys_only", "cross.mask_inverted"}},
    "finn": {"full": {"norms", "ffn", "rope"}, "zero": {"block", "lm", "kvcache", "sampling", "generate", "cross"}},
    "gus": {"zero": ATTENTION_BUILTINS, "full": {"norms", "ffn", "rope", "sampling"},
            "named": {"block.forbidden_builtin", "cross.forbidden_builtin"}},
    "hana": {"lost": {"block", "lm", "kvcache", "sampling", "generate"},
             "named": {"block.ignores_cfg_eps", "sampling.top_p_one_too_few", "generate.mode_not_restored"}},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading02")
    submissions = base / "class"
    for demo in (ROOT / "examples" / "02").iterdir():
        shutil.copytree(demo, submissions / demo.name)
    shutil.copytree(REFERENCE, submissions / "reference",
                    ignore=shutil.ignore_patterns("test_*", "__pycache__", "variants", "misconceptions.py"))
    shutil.copytree(ROOT / "assignments" / "02", submissions / "stubs",
                    ignore=shutil.ignore_patterns("test_*", "__pycache__", "*.md", "*.ipynb"))
    (submissions / "notebook").mkdir()
    (submissions / "notebook" / "work.ipynb").write_text(notebook_text(
        {m: (REFERENCE / f"{m}.py").read_text() for m in ASSIGNMENT.student_modules}))
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "02", str(submissions), "--out", str(base / "out"),
                          "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr[-3000:]
    with open(base / "out" / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return base / "out", rows


def named(out: Path, student: str) -> set[str]:
    tests = json.loads((out / student / "results.json").read_text())["tests"]
    return {tag.removeprefix("misconception:") for t in tests for tag in t["tags"] if tag.startswith("misconception:")}


def test_reference_scores_100_and_stubs_0_with_one_not_implemented_line_each(graded):
    out, rows = graded
    assert float(rows["reference"]["total"]) == 100
    assert float(rows["notebook"]["total"]) == 100
    assert float(rows["stubs"]["total"]) == 0
    assert (out / "stubs" / "feedback.md").read_text().count("Not implemented yet.") == len(EXERCISES)


@pytest.mark.parametrize("student", sorted(DEMO))
def test_demo_class_scores_and_named_mistakes(graded, student):
    out, rows = graded
    expected, row = DEMO[student], rows[student]
    points = {e: float(row[e]) for e in EXERCISES}
    if "total" in expected:
        assert float(row["total"]) == expected["total"], row
    for exercise in expected.get("zero", ()):
        assert points[exercise] == 0, exercise
    for exercise in expected.get("full", ()):
        assert points[exercise] == EXERCISES[exercise], exercise
    if "lost" in expected:
        assert {e for e in EXERCISES if points[e] < EXERCISES[e]} == expected["lost"], points
    assert named(out, student) == expected.get("named", set())
    feedback = (out / student / "feedback.md").read_text()
    for mistake in expected.get("named", ()):
        assert mistake in feedback, f"{student}'s feedback does not name {mistake}"
