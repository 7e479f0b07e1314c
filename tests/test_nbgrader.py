"""An instructor's round trip through a real nbgrader course.

The course is made with nbgrader itself: ``generate_assignment`` on the committed notebook (so it
must be a valid nbgrader source notebook), three students' notebooks in ``submitted/`` as
``nbgrader collect`` leaves them (correct, buggy in masks and params, unfinished), then
``grader grade 01 --nbgrader``, the gradebook read back with nbgrader's API, and ``nbgrader
export``. Only the cheap exercises masks and params are graded, to keep it fast.
"""

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader
from typer.testing import CliRunner

from grader.authoring import variants
from grader.frontends.cli import app
from tests.test_notebook import ASSIGNMENT, COMMITTED, reference_modules

pytestmark = pytest.mark.slow  # the slow tier: python -m pytest --slow

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {v.name: v for v in variants.load_all(ASSIGNMENT)}
NAME, COURSE_ID = "a01", "llm101"
# The course's nbgrader_config.py, with the stub the README recommends for unfinished functions.
CONFIG = f"""c = get_config()
c.CourseDirectory.course_id = {COURSE_ID!r}
c.ClearSolutions.code_stub = {{"python": 'raise NotImplementedError("not implemented yet")'}}
"""


def buggy_modules() -> dict[str, str]:
    """The reference with a causal mask that looks ahead and linear layers counted without bias."""
    modules = reference_modules()
    modules["attention"] = variants.apply(VARIANTS["masks_causal_upper"], modules["attention"])
    modules["parameters"] = variants.apply(VARIANTS["params_linear_ignores_bias"], modules["parameters"])
    return modules


def submit(course: Path, student: str, released: Path, modules: dict[str, str]) -> None:
    """The released notebook with the student's work in its module cells, where collect puts it."""
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        module = cell.source.split("\n", 1)[0].removeprefix("# module: ").removesuffix(".py")
        if cell.cell_type == "code" and module in modules:
            cell.source = f"# module: {module}.py\n{modules[module]}"
    folder = course / "submitted" / student / NAME
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "llm_basics.ipynb")
    (folder / "timestamp.txt").write_text("2025-03-01 10:00:00.000000 UTC")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG)
    (course / "source" / NAME).mkdir(parents=True)
    (course / "source" / NAME / "llm_basics.ipynb").write_text(COMMITTED.read_text())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(course)), config=config)
    generated = api.generate_assignment(NAME)
    assert generated["success"], generated.get("error")
    released = course / "release" / NAME / "llm_basics.ipynb"
    submit(course, "correct", released, reference_modules())
    submit(course, "buggy", released, buggy_modules())
    submit(course, "unfinished", released, {})
    args = ["grade", "01", "--nbgrader", str(course), "--assignment", NAME, "--root", str(ROOT),
            "--out", str(course / "grader-results"), "--exercise", "masks", "--exercise", "params"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return course


def scores(course: Path) -> dict[str, dict[str, float | None]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as book:
        return {student: {e: book.find_grade(e, "llm_basics", NAME, student).auto_score
                          for e in ("masks", "params", "sdpa")}
                for student in ("correct", "buggy", "unfinished")}


def test_the_gradebook_holds_each_students_scores_per_exercise(course):
    got = scores(course)
    assert got["correct"] == {"masks": 10, "params": 10, "sdpa": None}  # sdpa: not graded here
    assert got["unfinished"] == {"masks": 0, "params": 0, "sdpa": None}
    assert 0 < got["buggy"]["masks"] < 10 and 0 < got["buggy"]["params"] < 10
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as book:
        assert book.find_assignment(NAME).max_score == 100
        assert str(book.find_submission(NAME, "correct").timestamp).startswith("2025-03-01 10:00")


def test_nbgrader_releases_the_stubs_keeping_signatures_and_docstrings(course):
    cells = nbformat.read(course / "release" / NAME / "llm_basics.ipynb", as_version=4).cells
    attention = next(c.source for c in cells if c.source.startswith("# module: attention.py"))
    assert "def scaled_dot_product_attention(query, key, value" in attention
    assert "### BEGIN SOLUTION" not in attention
    assert '    raise NotImplementedError("not implemented yet")' in attention
    assert cells[-1].source.endswith("check()")  # the check cell, released as it is


def test_an_unfinished_exercise_is_reported_as_such(course):
    feedback = (course / "grader-results" / "unfinished" / "feedback.md").read_text()
    assert "### masks (causal, sliding-window and padding masks)\n\nNot implemented yet." in feedback


def test_nbgrader_export_lists_the_scores(course):
    run = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "export.csv"],
                         cwd=course, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    with open(course / "export.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    buggy = scores(course)["buggy"]
    assert {s: float(r["score"]) for s, r in rows.items()} == {
        "correct": 20.0, "buggy": pytest.approx(buggy["masks"] + buggy["params"]), "unfinished": 0.0}
    assert {r["assignment"] for r in rows.values()} == {NAME}
    assert {float(r["max_score"]) for r in rows.values()} == {100.0}


def test_grading_again_updates_the_same_entries(course):
    args = ["grade", "01", "--nbgrader", str(course), "--assignment", NAME, "--root", str(ROOT),
            "--out", str(course / "grader-results"), "--exercise", "masks", "--exercise", "params"]
    before = scores(course)
    result = CliRunner().invoke(app, args)  # nothing changed: nothing regraded, same entries
    assert result.exit_code == 0, result.output
    assert scores(course) == before


def test_a_course_without_submissions_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["grade", "01", "--nbgrader", str(tmp_path), "--assignment",
                                      NAME, "--root", str(ROOT)])
    assert result.exit_code == 2 and "nbgrader collect" in result.output
    result = CliRunner().invoke(app, ["grade", "01", "--nbgrader", str(tmp_path), "--root", str(ROOT)])
    assert result.exit_code == 2 and "--assignment NAME" in result.output
