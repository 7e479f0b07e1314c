"""The issue's class at full scale, through the command line (every exercise, two jobs, output to
a pipe): a zip, a zip in a folder, a nested folder with __MACOSX, an empty folder, a notebook, a
folder without the modules, a malicious zip, a UTF-16 module; then one student regraded. Every
student's row is there, every oddity is named, and a correct submission gets full marks however
it arrived."""

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.test_batch import STUDENTS, make_class

pytestmark = pytest.mark.slow  # the slow tier: python -m pytest --slow

ROOT = Path(__file__).resolve().parent.parent


def grader(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe: rich's 80 columns
    run = subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=1800, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def read(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    subs, out = base / "subs", base / "out"
    make_class(subs)
    with zipfile.ZipFile(subs / "ben.zip") as archive:  # __MACOSX beside the nested folder, as a Mac zips
        assert any(n.startswith("__MACOSX/") for n in archive.namelist())
    first = grader("grade", "01", str(subs), "--out", str(out), "--jobs", "2")
    before = read(out / "grades.csv")
    again = grader("grade", "01", str(subs), "--out", str(out), "--student", "eve", "--force")
    return out, first.stderr, before, again.stderr, read(out / "grades.csv")


def test_every_student_has_a_row_and_correct_work_full_marks_however_it_arrived(graded):
    out, _, rows, _, _ = graded
    assert list(rows) == STUDENTS
    for student in ("ada", "ben", "cleo", "eve", "fay"):  # folder, zip, nested, notebook, zip in a folder
        assert float(rows[student]["total"]) == 100, (student, rows[student])
    for student in ("dev", "gus", "mallory"):
        assert float(rows[student]["total"]) == 0
    hana = rows["hana"]  # attention.py in UTF-16: its exercises lost, the other modules graded
    assert (hana["sdpa"], hana["masks"], hana["tokenizer"], hana["params"]) == ("0", "0", "20", "10")


def test_every_oddity_is_named_in_the_summary_of_a_piped_run(graded):
    printed = graded[1]
    for line in ("2 submissions contain no module of assignment 01: dev (found nothing), gus (found main.py, "
                 "notes.txt)",
                 "1 submission could not be graded: mallory (mallory.zip: '../../../../tmp/planted.py'",
                 "1 submission has a module Python cannot decode: hana (attention.py is UTF-16 text",
                 "2 submissions were unpacked from a zip: ben (ben.zip), fay (submission.zip)",
                 "2 submissions were found in a folder below the student's: ben (ben-a01/), cleo (a01-main/)",
                 "1 submission was graded from a notebook: eve (work.ipynb)",
                 "1 submission held system files, ignored: ben (__MACOSX/, ben-a01/.DS_Store)",
                 "also in SUBMISSIONS, not graded: notes.txt (not a folder or a zip)"):
        assert f"\n{line}" in printed, line
    assert "…" not in printed and all(f"│ {s} " in printed for s in STUDENTS)


def test_a_regrade_of_one_student_rewrites_the_class_files_for_the_whole_class(graded):
    out, _, before, printed, after = graded
    assert "1 submissions, 1 to grade (0 unchanged)" in printed
    assert after == before
    assert "9 students</h1>" in (out / "index.html").read_text()
    with open(out / "canvas.csv", newline="") as handle:
        assert [row["Student"] for row in csv.DictReader(handle)] == STUDENTS
