"""Four students of the demo class graded through the real isolated path, in the default tier:
``run_batch``, a grading process with its worker template, the reference's transcripts recorded
first, one forked and confined worker per student. The whole class (with a pool of grading
processes) and every variant go through the command line in the slow tier (test_grading.py)."""

import csv
import io
import json
import shutil

from rich.console import Console

from grader.grading.batch import run_batch
from grader.grading.context import GradeRequest, GradingContext
from tests.test_grading import EXAMPLES, REFERENCE, ROOT, assert_demo_scores

# full marks; a mistake costing three exercises, named twice; the from-scratch rule (0 in three);
# several mistakes, and a module with its own random initial weights that fails a test with them
STUDENTS = {"ada": set(), "cleo": {"sdpa.missing_scale", "tokenizer.tiebreak_largest"},
            "eve": {"sdpa.forbidden_builtin", "mha.forbidden_builtin"},
            "hana": {"masks.causal_excludes_diagonal", "params.swiglu_two_matrices", "sdpa.softmax_wrong_dim",
                     "tokenizer.pad_left"}}


def test_demo_students_are_graded_in_isolated_workers_as_without_transcripts(tmp_path):
    """The batch records the reference's transcripts first (more submissions than processes), so
    cleo's and hana's failing property tests report their first failing example from the replay.
    A grading process with no transcripts (hypothesis finds and reports each example itself) gives
    them the same outcomes, messages included; hana's MultiHeadAttention, with its own random
    initial weights, fails a test with the same numbers both ways, since every test starts from a
    reset of the worker's generators."""
    for student in STUDENTS:
        shutil.copytree(EXAMPLES / student, tmp_path / "class" / student)
    request = GradeRequest(reference=REFERENCE, published=ROOT / "assignments" / "01",
                           submissions=tmp_path / "class", out=tmp_path / "out", jobs=1)
    assert run_batch(request, Console(file=io.StringIO())) == 0
    assert len(list((tmp_path / "out" / ".cache").glob("transcripts-*.wire"))) == 1
    with open(tmp_path / "out" / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(STUDENTS)
    for student, misconceptions in STUDENTS.items():
        assert_demo_scores(student, rows[student])
        result = json.loads((tmp_path / "out" / student / "results.json").read_text())
        assert result["extra_data"]["isolation"].startswith("process+rlimits")
        tags = {t.split(":", 1)[1] for test in result["tests"] for t in test["tags"] if t.startswith("misconception:")}
        assert tags == misconceptions
    assert (tmp_path / "out" / "cleo" / "feedback.html").read_text().count('aria-label="heatmap') == 2
    context = GradingContext(request)
    try:
        for student in ("cleo", "hana"):
            batch = json.loads((tmp_path / "out" / student / "results.json").read_text())["tests"]
            alone = context.grade(student, tmp_path / "class" / student)
            assert [(t["extra_data"]["id"], t["extra_data"]["outcome"], t["output"]) for t in batch] == \
                   [(o.test.id, o.status, o.message) for o in alone.outcomes]
    finally:
        context.close()
