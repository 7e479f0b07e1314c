"""The assignment as a notebook (in sync, nbgrader-valid, leak-free) and notebook submissions."""

import csv
import io
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from rich.console import Console
from typer.testing import CliRunner

from grader import assignment
from grader.authoring import generate, notebook
from grader.authoring.notebook import NotebookError, read_modules
from grader.frontends.cli import app
from grader.grading.batch import run_batch
from grader.grading.context import GradeRequest
from grader.grading.submissions import Intake
from tests.assignments import assignment_ids
from tests.test_generate import _split_lines

ROOT = Path(__file__).resolve().parent.parent
REFERENCE, PUBLISHED = ROOT / "reference" / "01", ROOT / "assignments" / "01"
ASSIGNMENT = assignment.load(REFERENCE)
COMMITTED = PUBLISHED / "llm_basics.ipynb"


def notebook_text(modules: dict[str, str], extra_cells: tuple[dict, ...] = ()) -> str:
    """A student's notebook: one ``# module: NAME.py`` code cell per module, after ``extra_cells``."""
    cells = [*extra_cells, *({"cell_type": "code", "execution_count": None, "metadata": {},
                              "outputs": [], "source": f"# module: {name}.py\n{text}"}
                             for name, text in modules.items())]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def reference_modules() -> dict[str, str]:
    return {m: (REFERENCE / f"{m}.py").read_text() for m in ASSIGNMENT.student_modules}


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_committed_notebook_is_exactly_what_the_command_writes(assignment_id):
    definition = assignment.load(ROOT / "reference" / assignment_id)
    assert notebook.drift(definition, ROOT / "assignments" / assignment_id) == [], \
        f"run `grader notebook {assignment_id}` and commit"


def test_notebook_check_command_reports_sync_and_drift(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["notebook", "01", "--root", str(ROOT), "--check"]).exit_code == 0
    (tmp_path / "reference").symlink_to(ROOT / "reference")
    (tmp_path / "assignments" / "01").mkdir(parents=True)
    (tmp_path / "assignments" / "01" / "README.md").write_text("# Handout\n\nchanged\n")
    result = runner.invoke(app, ["notebook", "01", "--root", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "out of date" in result.output


def test_notebook_holds_the_handout_and_one_stub_cell_per_module():
    nb = nbformat.read(COMMITTED, as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)  # a valid nbgrader source notebook
    code = [c for c in nb.cells if c.cell_type == "code"]
    stubs = generate.published_files(ASSIGNMENT)
    assert [c.metadata.nbgrader.grade_id for c in code] == [*ASSIGNMENT.student_modules, "check"]
    check = code.pop()
    assert check.source == notebook.check_cell(ASSIGNMENT) and check.metadata.nbgrader.locked
    assert not check.metadata.nbgrader.solution and not check.metadata.editable
    for cell in code:
        module = cell.metadata.nbgrader.grade_id
        unmarked = [x for x in cell.source.splitlines() if x.strip() not in (generate.BEGIN, generate.END)]
        assert "\n".join(unmarked) == f"# module: {module}.py\n{stubs[f'{module}.py']}".rstrip("\n")
        assert cell.source.count(generate.BEGIN) == stubs[f"{module}.py"].count("not implemented yet")
        assert cell.metadata.nbgrader.solution and not cell.metadata.nbgrader.grade
        compile(cell.source, module, "exec")
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert all(c.metadata.nbgrader.locked and not c.metadata.editable for c in markdown)
    handout = notebook.notebook_words((PUBLISHED / "README.md").read_text())
    assert [line for c in markdown for line in c.source.splitlines() if line.strip()] == \
        [line for line in handout.splitlines() if line.strip()]
    order = [c.id for c in nb.cells]
    assert order.index("attention") > order.index("handout-17") > order.index("handout-14")


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_the_notebook_speaks_of_cells_and_its_check_cell_not_of_files_and_pytest(assignment_id):
    definition = assignment.load(ROOT / "reference" / assignment_id)
    published = ROOT / "assignments" / assignment_id
    cells = nbformat.read(published / notebook.notebook_name(definition), as_version=4).cells
    text = " ".join(" ".join(c.source.split()) for c in cells if c.cell_type == "markdown")
    for file_words in ("You edit", f"pytest assignments/{assignment_id}", "repository root", "pytest -v",
                       "--submission", "<!--", "-->"):
        assert file_words not in text, file_words
    for notebook_words in ("code cells of this notebook", "Your submission is this notebook", "check cell",
                           'check("', "check(verbose=True)", "named only in the feedback on your graded submission"):
        assert notebook_words in text, notebook_words
    readme = (published / "README.md").read_text()  # the handout still speaks of files
    assert "You edit" in readme and f"pytest assignments/{assignment_id} -k " in readme
    assert f'check("{definition.exercises[0].id}")' in cells[-1].source


def test_notebook_words_replace_the_files_only_passages():
    handout = ("# Title\n\n<!-- files only -->\nRun `pytest`.\n<!-- end files only -->\n"
               "<!-- notebook only\nRun the check cell.\n-->\nBoth.\n")
    assert notebook.notebook_words(handout) == "# Title\n\nRun the check cell.\nBoth."
    with pytest.raises(assignment.AssignmentError, match="README.md:2: <!-- notebook only is never closed"):
        notebook.notebook_words("text\n<!-- notebook only\nnever closed\n")


def test_no_solution_line_reaches_the_notebook():
    secret, public = set(), set()
    for name in (*(f"{m}.py" for m in ASSIGNMENT.student_modules), *ASSIGNMENT.given_files):
        inside, outside = _split_lines((REFERENCE / name).read_text())
        secret, public = secret | inside, public | outside
    secret -= public
    assert len(secret) > 50
    cells = nbformat.read(COMMITTED, as_version=4).cells
    lines = {line.strip() for cell in cells for line in cell.source.splitlines()}
    assert not secret & lines, sorted(secret & lines)[:3]


def test_module_cells_become_modules_the_last_one_winning(tmp_path):
    markdown = {"cell_type": "markdown", "metadata": {}, "source": "# module: attention.py\nnot code"}
    untagged = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3,
                "source": ["import torch\n", "print(1)\n"]}
    text = json.loads(notebook_text({"attention": "X = 1\n"}, (markdown, untagged)))
    text["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                          "source": ["\n", "#module: attention.py\n", "X = 2"]})
    path = tmp_path / "work.ipynb"
    path.write_text(json.dumps(text))
    assert read_modules(path) == {"attention": "\n#module: attention.py\nX = 2\n"}


@pytest.mark.parametrize("content, message", [
    ('{"cells": [', "not a notebook's JSON"),
    ("[1, 2]", "no list of cells"),
    (notebook_text({}), "no code cell whose first line is `# module: NAME.py`"),
    (b"\xff\xfe", "not a notebook's JSON"),
])
def test_an_unusable_notebook_says_why(tmp_path, content, message):
    path = tmp_path / "work.ipynb"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(NotebookError, match=message):
        read_modules(path)


def test_module_names_that_are_not_identifiers_are_not_modules(tmp_path):
    path = tmp_path / "work.ipynb"
    path.write_text(notebook_text({"../../escape": "X = 1\n", "ok": "Y = 1\n"}))
    assert set(read_modules(path)) == {"ok"}


def test_a_folder_is_a_notebook_submission_only_without_modules(tmp_path):
    intake = Intake(ASSIGNMENT.student_modules)
    try:
        (tmp_path / "both").mkdir()
        (tmp_path / "both" / "attention.py").write_text("X = 1\n")
        (tmp_path / "both" / "work.ipynb").write_text("{")
        assert intake.prepare(tmp_path / "both").folder == tmp_path / "both"
        (tmp_path / "two").mkdir()
        for name in ("a.ipynb", "b.ipynb"):
            (tmp_path / "two" / name).write_text(notebook_text({"attention": "X = 1\n"}))
        assert "2 notebooks" in intake.prepare(tmp_path / "two").problem
        (tmp_path / "one").mkdir()
        (tmp_path / "one" / "work.ipynb").write_text(notebook_text({"attention": "X = 1\n"}))
        written = intake.prepare(tmp_path / "one").folder
        assert written.parent == intake.root
        assert (written / "attention.py").read_text() == "# module: attention.py\nX = 1\n"
    finally:
        intake.close()
    assert not intake.root.exists()


def test_a_class_mixing_module_folders_and_notebooks_is_graded(tmp_path):
    """Each student is graded on what they wrote, however they handed it in; a broken notebook
    costs its owner only, with a message saying why."""
    submissions = tmp_path / "class"
    for name, text in reference_modules().items():
        (submissions / "modules").mkdir(parents=True, exist_ok=True)
        (submissions / "modules" / f"{name}.py").write_text(text)
    for student, content in {"notebook": notebook_text(reference_modules()),
                             "unfinished": COMMITTED.read_text(), "broken": '{"cells": ['}.items():
        (submissions / student).mkdir()
        (submissions / student / "work.ipynb").write_text(content)
    out = tmp_path / "out"
    request = GradeRequest(reference=REFERENCE, published=PUBLISHED, submissions=submissions,
                           out=out, exercises=("masks",))
    assert run_batch(request, Console(file=io.StringIO())) == 0
    with open(out / "grades.csv") as handle:
        masks = {row["student"]: row["masks"] for row in csv.DictReader(handle)}
    assert masks == {"modules": "10", "notebook": "10", "unfinished": "0", "broken": "0"}
    feedback = (out / "broken" / "feedback.md").read_text()
    assert "your notebook work.ipynb could not be read" in feedback
    assert "not implemented yet" in (out / "unfinished" / "feedback.md").read_text().lower()
