"""The instructor's batch on a class as it really arrives (masks only, so it stays cheap): zips,
a nested folder, __MACOSX, an empty folder, a notebook, a malicious zip, a UTF-16 module, OUT
inside SUBMISSIONS; then a regrade of one student, a student removed, --prune, `grader report`.
The class files always describe the whole class; every oddity is named; every bad path is one
line. The full-scale run of the same class is tests/test_batch_class.py (slow tier)."""

import csv
import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from grader.frontends.cli import app
from grader.grading.batch import run_batch
from grader.grading.context import GradeRequest
from grader.grading.store import Store
from tests.test_notebook import ASSIGNMENT, PUBLISHED, REFERENCE, notebook_text, reference_modules

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ["ada", "ben", "cleo", "dev", "eve", "fay", "gus", "hana", "mallory"]


def write_modules(folder: Path, modules: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in modules.items():
        (folder / f"{name}.py").write_text(text)


def make_class(subs: Path) -> None:
    """The class of the issue: every way a submission arrives, and a few ways it goes wrong."""
    modules = reference_modules()
    write_modules(subs / "ada", modules)
    with zipfile.ZipFile(subs / "ben.zip", "w") as archive:  # a Mac user's zip
        for name, text in modules.items():
            archive.writestr(f"ben-a01/{name}.py", text)
        archive.writestr("__MACOSX/ben-a01/._attention.py", "apple")
        archive.writestr("ben-a01/.DS_Store", "apple")
    write_modules(subs / "cleo" / "a01-main", modules)  # a downloaded repository
    (subs / "cleo" / "README.md").write_text("# a01\n")
    (subs / "dev").mkdir()  # nothing handed in
    (subs / "eve").mkdir()
    (subs / "eve" / "work.ipynb").write_text(notebook_text(modules))
    (subs / "fay").mkdir()  # an LMS download: the student's zip in their folder
    with zipfile.ZipFile(subs / "fay" / "submission.zip", "w") as archive:
        for name, text in modules.items():
            archive.writestr(f"{name}.py", text)
    (subs / "gus").mkdir()
    (subs / "gus" / "main.py").write_text("print('hello')\n")
    (subs / "gus" / "notes.txt").write_text("my notes\n")
    with zipfile.ZipFile(subs / "mallory.zip", "w") as archive:
        archive.writestr("attention.py", modules["attention"])
        archive.writestr("../../../../tmp/planted.py", "X = 1\n")
    write_modules(subs / "hana", modules)
    (subs / "hana" / "attention.py").write_bytes(modules["attention"].encode("utf-16"))
    (subs / "notes.txt").write_text("class notes\n")


def grade(subs: Path, out: Path, **options) -> str:
    """run_batch on masks; returns what it printed (a console 100 columns wide, not a terminal)."""
    printed = io.StringIO()
    request = GradeRequest(reference=REFERENCE, published=PUBLISHED, submissions=subs, out=out,
                           exercises=("masks",), **options)
    assert run_batch(request, Console(file=printed, width=100)) == 0
    return printed.getvalue()


def rows(out: Path, name: str = "grades.csv") -> dict[str, dict]:
    with open(out / name, newline="") as handle:
        return {row[next(iter(row))]: row for row in csv.DictReader(handle)}


def snapshot(out: Path) -> dict:
    return {"grades": rows(out), "canvas": rows(out, "canvas.csv"), "moodle": rows(out, "moodle.csv"),
            "index": (out / "index.html").read_text()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    subs, found = base / "subs", {}
    make_class(subs)
    out = subs / "results"  # OUT inside SUBMISSIONS: never graded as a student
    found["first"] = (grade(subs, out), snapshot(out))
    found["again"] = (grade(subs, out), snapshot(out))  # graded by an earlier run: a second run grades nothing
    found["regrade"] = (grade(subs, out, students=("ada",), force=True), snapshot(out))
    shutil.move(subs / "cleo", base / "cleo")  # cleo leaves the course
    found["removed"] = (grade(subs, out), snapshot(out))
    for name in ("grades.csv", "canvas.csv", "moodle.csv", "index.html"):
        (out / name).unlink()
    report = CliRunner().invoke(app, ["report", str(out), "--root", str(ROOT)])
    found["report"] = (report.output, snapshot(out), report.exit_code)
    found["pruned"] = (grade(subs, out, prune=True), snapshot(out))
    return base, out, found


def test_every_student_is_graded_as_they_arrived_and_oddities_score_zero(runs):
    _, out, found = runs
    grades = found["first"][1]["grades"]
    assert list(grades) == STUDENTS
    masks = {name: grades[name]["masks"] for name in STUDENTS}
    assert masks == {"ada": "10", "ben": "10", "cleo": "10", "dev": "0", "eve": "10", "fay": "10",
                     "gus": "0", "hana": "0", "mallory": "0"}
    assert not Path("/tmp/planted.py").exists()


def test_a_zipped_submission_gets_what_the_same_files_unzipped_get(runs):
    _, out, _ = runs
    ada, ben = (json.loads((out / name / "results.json").read_text()) for name in ("ada", "ben"))
    assert ben["score"] == ada["score"] == 10
    assert [(t["name"], t["status"], t["score"]) for t in ben["tests"]] == \
           [(t["name"], t["status"], t["score"]) for t in ada["tests"]]


def test_the_summary_names_every_oddity_and_every_student(runs):
    printed = runs[2]["first"][0]
    assert "9 submissions, 9 to grade" in printed
    for line in ("2 submissions contain no module of assignment 01: dev (found nothing), gus (found main.py, "
                 "notes.txt)",
                 "1 submission could not be graded: mallory (mallory.zip: '../../../../tmp/planted.py' would be "
                 "written outside the submission's folder (zip-slip); nothing was unpacked)",
                 "1 submission has a module Python cannot decode: hana (attention.py is UTF-16 text; Python "
                 "reads source files as UTF-8: save it as UTF-8)",
                 "2 submissions were unpacked from a zip: ben (ben.zip), fay (submission.zip)",
                 "2 submissions were found in a folder below the student's: ben (ben-a01/), cleo (a01-main/)",
                 "1 submission was graded from a notebook: eve (work.ipynb)",
                 "1 submission held system files, ignored: ben (__MACOSX/, ben-a01/.DS_Store)",
                 "also in SUBMISSIONS, not graded: notes.txt (not a folder or a zip)"):
        assert f"\n{line}\n" in printed, line
    assert "\nalso in SUBMISSIONS, not graded: notes.txt (not a folder or a zip), results/ (the --out folder)\n" \
        in runs[2]["again"][0]  # OUT, made by the first run
    for student in STUDENTS:
        assert f"│ {student} " in printed


def test_feedback_says_what_was_found_instead_and_why_a_file_cannot_be_read(runs):
    out = runs[1]
    gus = (out / "gus" / "feedback.md").read_text()
    assert "## About your submission\n\n- No module of the assignment: found main.py, notes.txt." in gus
    assert "holds none of the assignment's modules (attention.py, positional.py" in gus
    hana = (out / "hana" / "feedback.md").read_text()
    assert "- attention.py is UTF-16 text; Python reads source files as UTF-8: save it as UTF-8." in hana
    assert "could not be imported: SyntaxError: source code string cannot contain null bytes\n" \
           "attention.py is UTF-16 text" in hana
    assert "zip-slip" in (out / "mallory" / "feedback.md").read_text()
    assert "Unpacked ben.zip." in (out / "ben" / "feedback.html").read_text()


def test_the_gradebook_exports_hold_the_whole_class(runs):
    snap = runs[2]["first"][1]
    items = [f"Assignment 01: {e.id}" for e in ASSIGNMENT.exercises] + ["Assignment 01"]
    assert list(next(iter(snap["canvas"].values()))) == ["Student", "ID", "SIS User ID", "SIS Login ID",
                                                         "Section", *items]
    assert list(next(iter(snap["moodle"].values()))) == ["Username", *items]
    assert list(snap["canvas"]) == list(snap["moodle"]) == STUDENTS
    assert snap["canvas"]["ben"]["SIS Login ID"] == "ben" and snap["canvas"]["ben"]["Assignment 01"] == "10"
    assert snap["moodle"]["gus"]["Assignment 01: masks"] == "0" and snap["moodle"]["gus"]["Assignment 01: sdpa"] == ""


def test_regrading_one_student_keeps_the_whole_class_in_the_class_files(runs):
    found = runs[2]
    assert "9 submissions, 0 to grade (9 unchanged)" in found["again"][0]
    printed, snap = found["regrade"]
    assert "1 submissions, 1 to grade (0 unchanged)" in printed
    assert snap == found["first"][1] == found["again"][1]
    assert "9 students</h1>" in snap["index"]


def test_a_student_gone_from_submissions_is_kept_and_marked_until_pruned(runs):
    base, out, found = runs
    printed, snap = found["removed"]
    assert list(snap["grades"]) == STUDENTS and snap["grades"]["cleo"]["masks"] == "10"
    assert snap["grades"]["cleo"]["note"] == (f"graded the folder a01-main/; not in {base / 'subs'} at the last "
                                              "run (graded before)")
    assert "\n1 student is not in SUBMISSIONS any more (kept in the class files; --prune drops it): cleo (not " \
           "in " in printed
    assert "not in SUBMISSIONS</a>" in snap["index"]
    printed, snap = found["pruned"]
    assert list(snap["grades"]) == [s for s in STUDENTS if s != "cleo"] and not (out / "cleo").exists()
    db = Store(out / "grades.sqlite")
    assert "cleo" not in db.students() and db.absent() == {}
    db.close()


def test_report_rebuilds_the_class_files_from_the_store_without_grading(runs):
    output, snap, code = runs[2]["report"]
    assert code == 0, output
    assert snap == runs[2]["removed"][1]
    assert "to grade" not in output and "cleo" in output


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    base = tmp_path_factory.mktemp("paths")
    write_modules(base / "subs" / "ada", reference_modules())
    (base / "empty").mkdir()
    (base / "file.txt").write_text("")
    (base / "subs.zip").write_bytes(b"PK")
    (base / "other").mkdir()
    Store(base / "other" / "grades.sqlite").set_assignment_id("02")
    (base / "broken").mkdir()
    (base / "broken" / "grades.sqlite").write_text("not a database " * 100)
    return base


@pytest.mark.parametrize("args, message", [
    (["subs/ada"], "looks like one student's submission (it holds attention.py, complexity.py"),
    (["empty"], "empty holds no submission: expected a folder or .zip per student; it is empty"),
    (["missing"], "missing does not exist"),
    (["subs.zip"], "subs.zip is a file, not a folder of submissions: unpack it first (unzip"),
    (["subs", "--out", "file.txt"], "--out {base}/file.txt is a file: give a folder for the grades"),
    (["subs", "--out", "subs"], "is SUBMISSIONS itself"),
    (["subs", "--out", "subs/ada/results"], "is inside the submission ada: give a folder outside it"),
    (["subs", "--out", "other"], "other holds the grades of assignment 02: give another --out for assignment 01"),
    (["subs", "--out", "broken"], "broken/grades.sqlite is not a grades store (file is not a database)"),
    (["subs", "--student", "zed"], "no submission in {base}/subs for --student zed"),
    (["subs", "--exercise", "nope"], "nope"),
])
def test_every_bad_path_is_one_line_and_a_nonzero_exit(paths, args, message):
    args = [str(paths / a) if i == 0 or args[i - 1] == "--out" else a for i, a in enumerate(args)]
    result = CliRunner().invoke(app, ["grade", "01", *args, "--root", str(ROOT)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert message.format(base=paths) in lines[0]
    assert not (paths / "empty" / "grades.sqlite").exists()


def test_report_of_a_folder_without_grades_is_one_line(paths):
    result = CliRunner().invoke(app, ["report", str(paths / "empty")])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"error: {paths / 'empty'} holds no grades.sqlite: grade into it first "
        f"(grader grade ID SUBMISSIONS --out {paths / 'empty'})"]
    db = Store(paths / "empty" / "grades.sqlite")
    db.close()
    result = CliRunner().invoke(app, ["report", str(paths / "empty")])
    assert result.exit_code == 2 and "does not record its assignment" in result.output
    (paths / "empty" / "grades.sqlite").unlink()


def test_the_store_keeps_its_old_rows_readable(tmp_path):
    """A store written before the assignment and absent students were recorded opens as it was."""
    connection = sqlite3.connect(tmp_path / "grades.sqlite")
    connection.execute("CREATE TABLE results (student TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
                       "suite_fingerprint TEXT NOT NULL, total REAL NOT NULL, payload TEXT NOT NULL, "
                       "graded_at REAL NOT NULL)")
    payload = {"outcomes": [], "execution_time": 1.0, "isolation": "process", "printed": "", "events": []}
    connection.execute("INSERT INTO results VALUES ('ada', 'h', 'f', 0, ?, 0)", (json.dumps(payload),))
    connection.commit()
    connection.close()
    db = Store(tmp_path / "grades.sqlite")
    assert db.assignment_id() is None and db.absent() == {}
    [result] = db.load_all(ASSIGNMENT)
    assert result.student == "ada" and result.notes == () and result.figures == ()
    db.close()
