"""The class as the instructor reads it, from results alone (no grading): the terminal summary at
any width, the class page (what to re-teach), grades.csv and the gradebook exports."""

import csv
import io
import re

from rich.console import Console

from grader import results
from grader.grading import batch
from grader.grading.feedback import with_diagnosis
from grader.grading.submissions import NO_MODULES, UNPACKED
from grader.reports import html as pages
from grader.reports import lms, spreadsheet, terminal
from grader.results import Note, StudentResult
from tests.test_pages import ASSIGNMENT, HOSTILE, check_page, outcome

LONG = "a-student-id-that-is-long-2024"


def klass() -> list[StudentResult]:
    scale = "Likely mistake (sdpa.missing_scale): your scores are not multiplied by 1/√d_k"
    wrong = with_diagnosis("[sdpa] property a\nweights: values differ at 3 of 4 positions", scale)
    def result(name, *outcomes, notes=()):
        return StudentResult(name, ASSIGNMENT, tuple(outcomes), 1.0, "process", notes=tuple(notes))
    tag = ["misconception:sdpa.missing_scale"]
    return [
        result("ada", outcome("sdpa", "a", results.PASSED), outcome("sdpa", "h", results.PASSED),
               outcome("masks", "b", results.PASSED), notes=[Note(UNPACKED, "ada.zip")]),
        result(LONG, outcome("sdpa", "a", results.FAILED, wrong, tag), outcome("sdpa", "h", results.PASSED),
               outcome("masks", "b", results.PASSED)),
        result("[bold]ben[/bold]", outcome("sdpa", "a", results.FAILED, wrong, tag),
               outcome("sdpa", "h", results.FAILED, "[sdpa] property h\nAssertionError: shapes differ"),
               outcome("masks", "b", results.NOT_IMPLEMENTED, "[masks] not implemented yet")),
        result(HOSTILE, outcome("sdpa", "a", results.FAILED, "[sdpa] none"), outcome("masks", "b", results.FAILED,
               "[masks] none"), notes=[Note(NO_MODULES, f"found {HOSTILE}.py")]),
    ]


def summary_text(console: Console, absent=None) -> str:
    terminal.print_summary(console, ASSIGNMENT, klass(), absent or {}, ("notes.txt (not a folder or a zip)",))
    return console.file.getvalue()


def student_column(text: str) -> str:
    """The student column of every table printed, cell text joined (a folded id joins up again)."""
    return "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))


def test_the_summary_keeps_every_id_whole_and_folds_columns_on_a_narrow_console():
    for width in (40, 60, 80):
        text = summary_text(Console(file=io.StringIO(), width=width))
        tables = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
        assert tables and all(len(line) <= width for line in tables), width
        assert "…" not in text
        for name in ("ada", LONG, "[bold]ben[/bold]"):
            assert name in student_column(text), (width, name)
            assert width < 40 + len(name) - 20 or any(f"│ {name} " in line for line in tables), (width, name)
        folds = len(re.findall(r"assignment 01: 4 students \(\d of (\d)\)", text))
        assert (folds > 1) == (width == 40), (width, folds)
        header = " ".join(line for line in text.splitlines() if line.startswith("┃"))
        assert "sdpa" in header and "masks" in header and "total" in header  # in one table or another
        assert "topk" not in header  # nobody was graded on it


def test_a_console_that_is_not_a_terminal_and_a_very_long_id_lose_nothing():
    text = summary_text(Console(file=io.StringIO()))  # a log file or a pipe: 80 columns
    assert "…" not in text and all(f"│ {n} " in text for n in ("ada", LONG))
    longer = Console(file=io.StringIO(), width=40)
    result = StudentResult("x" * 30 + "-" + "y" * 30, ASSIGNMENT, (outcome("sdpa", "a", results.PASSED),), 1.0, "p")
    terminal.print_summary(longer, ASSIGNMENT, [result], {})
    assert "…" not in longer.file.getvalue() and "x" * 30 + "-" + "y" * 30 in student_column(longer.file.getvalue())


def test_the_summary_names_each_oddity_once_per_kind_problems_first():
    lines = summary_text(Console(file=io.StringIO(), width=100), absent={"ada": "subs"}).splitlines()
    notes = [line for line in lines if line[:1] not in "┏┃┡│└ "]
    assert notes == [
        f"1 submission contains no module of assignment 01: {HOSTILE} (found {HOSTILE}.py)",
        "1 student is not in SUBMISSIONS any more (kept in the class files; --prune drops it): ada (not in subs "
        "at the last run (graded before))",
        "1 submission was unpacked from a zip: ada (ada.zip)",
        "also in SUBMISSIONS, not graded: notes.txt (not a folder or a zip)",
    ]


def test_the_class_page_shows_what_to_reteach_linked_and_escaped(tmp_path):
    graded = klass()
    for result in graded:
        batch.write_student_outputs(tmp_path, result)
    (tmp_path / "index.html").write_text(pages.class_page(ASSIGNMENT, graded, {"ada": "subs"}))
    page = check_page(tmp_path / "index.html")  # every link (and anchor in a student's page) exists
    text = (tmp_path / "index.html").read_text()
    assert HOSTILE not in text and "&lt;script&gt;" in text and "[bold]ben[/bold]" in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "the page reaches the network"
    assert page.scripts == 0 and not page.images
    matrix = text[text.index('id="students"'):text.index('id="misconceptions"')]
    assert matrix.count("<tr>") == 1 + len(graded)
    assert matrix.count("&#8211;</td>") == len(graded) * (len(ASSIGNMENT.exercises) - 2)  # not graded
    assert f'<a href="{LONG}/feedback.html#sdpa">10</a>' in matrix  # a lost point leads to the feedback
    assert "background:#a6daa6\">10</td>" in matrix  # full marks in masks: green, nothing to follow
    assert ">no module found</a>" in matrix and ">not in SUBMISSIONS</a>" in matrix
    mistakes = text[text.index('id="misconceptions"'):text.index('id="tests"')]
    assert "<code>sdpa.missing_scale</code></td><td>your scores are not multiplied by 1/√d_k</td><td class=n>2" \
        in mistakes
    assert f'href="{LONG}/feedback.html#sdpa"' in mistakes and "%5Bbold%5Dben%5B%2Fbold%5D/feedback.html#sdpa" \
        in mistakes
    failing = text[text.index('id="tests"'):text.index('id="exercises"')]
    assert "Among the 3 submissions whose code ran" in failing  # not the one without modules
    assert failing.index("property a (public)") < failing.index("property h (hidden)")
    assert "<td class=n>2 of 3</td><td><code>sdpa.missing_scale</code> (2)</td>" in failing
    assert "<td class=n>1 of 3</td><td>&#8211;</td><td><code>AssertionError: shapes differ</code>" in failing
    assert "property b" not in failing  # passed, or not implemented yet
    assert page.charts == ["score histogram", "sdpa distribution", "masks distribution"]
    notes = text[text.index('id="notes"'):]
    assert "1 submission contains no module of assignment 01</strong>" in notes and "ada.zip" in notes


def test_grades_csv_and_the_gradebook_exports_read_back(tmp_path):
    graded = klass()
    spreadsheet.write_grades_csv(tmp_path / "grades.csv", ASSIGNMENT, graded, {"ada": "subs"})
    lms.write_canvas_csv(tmp_path / "canvas.csv", ASSIGNMENT, graded)
    lms.write_moodle_csv(tmp_path / "moodle.csv", ASSIGNMENT, graded)
    with open(tmp_path / "grades.csv", newline="") as handle:
        grades = {row["student"]: row for row in csv.DictReader(handle)}
    assert list(grades) == sorted(r.student for r in graded)
    assert grades["ada"]["note"] == "unpacked ada.zip; not in subs at the last run (graded before)"
    assert (grades["ada"]["sdpa"], grades["ada"]["masks"], grades["ada"]["topk"], grades["ada"]["total"]) == \
           ("20", "10", "", "30")
    with open(tmp_path / "canvas.csv", newline="") as handle:
        canvas = list(csv.reader(handle))
    assert canvas[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 01: sdpa"]
    assert canvas[0][-1] == "Assignment 01" and len(canvas) == 1 + len(graded)
    row = dict(zip(canvas[0], next(r for r in canvas if r[0] == LONG)))
    assert row["SIS Login ID"] == LONG and row["Assignment 01: sdpa"] == "10" and row["Assignment 01"] == "20"
    with open(tmp_path / "moodle.csv", newline="") as handle:
        moodle = list(csv.DictReader(handle))
    assert [r["Username"] for r in moodle] == sorted(r.student for r in graded)
    assert all(set(r) == {"Username", *lms.item_columns(ASSIGNMENT)} for r in moodle)
