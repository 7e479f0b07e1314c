"""The assignment as a Jupyter notebook, and a student's notebook read back into modules.

    build(assignment, published) -> the notebook's text       (``grader notebook 01``)
    read_modules(path)           -> {"example": "# module: example.py\\n...", ...}

The notebook holds the handout (``README.md`` of the published folder) as Markdown cells, one
per ``#`` / ``##`` section, one code cell per student module holding its stub, first line
``# module: example.py``, each of the stub's ``raise NotImplementedError(...)`` lines between
``### BEGIN SOLUTION`` / ``### END SOLUTION``, and last a check cell that runs the public tests on
the module cells as the kernel ran them (:mod:`grader.frontends.notebook_check`). A module's cell
follows the section of its last exercise (the first heading that names the exercise id in
backticks, e.g. ``## Exercise `scale```); a module whose exercises no heading names comes at the
end. Cells carry nbgrader's metadata (module cells are solution cells whose grade id is the
module, Markdown cells and the check cell are locked), so the notebook also serves as an nbgrader
source notebook: ``nbgrader generate_assignment`` replaces each marked ``raise`` line by its own
stub and keeps the rest (a solution cell without markers it would replace whole, signatures and
docstrings included).

The handout speaks to students who edit files; where the notebook needs other words, it says
them between markers on lines of their own (HTML comments, so that the README shows none of it)::

    <!-- files only -->
    You edit six files in `assignments/01/` ... run `pytest assignments/01`.
    <!-- end files only -->
    <!-- notebook only
    You fill in the code cells of this notebook ... run the check cell at the end.
    -->

Reading a student's notebook is data only: it is parsed as JSON, never executed. Each code cell
whose first non-blank line is ``# module: NAME.py`` becomes module NAME, its text kept whole (so
line numbers match the cell's); the last cell for a module wins; other cells are ignored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.assignment import Assignment, AssignmentError
from grader.authoring.generate import BEGIN, END, published_files

HANDOUT = "README.md"
MAX_NOTEBOOK_BYTES = 50_000_000
_MODULE_LINE = re.compile(r"#\s*module:\s*([A-Za-z_][A-Za-z0-9_]*)\.py\s*$")
_HEADING = re.compile(r"#{1,2} ")
_FENCE = "```"
_STUB_RAISE = re.compile(r'(\s*)raise NotImplementedError\(".+: not implemented yet"\)')  # see generate
FILES_ONLY, NOTEBOOK_ONLY = "<!-- files only -->", "<!-- notebook only"
_CLOSING = {FILES_ONLY: "<!-- end files only -->", NOTEBOOK_ONLY: "-->"}  # what ends each passage
_CHECK_CELL = """# Check your work: the public tests on the code of the `# module:` cells above, as this kernel
# last ran them (run those cells first), then the points estimate. check("{exercise}") checks one
# exercise; check(verbose=True) shows every failure in full.
from grader.frontends.notebook_check import check

check()"""


def check_cell(assignment: Assignment) -> str:
    """The source of the notebook's last cell, its example the assignment's first exercise."""
    return _CHECK_CELL.format(exercise=assignment.exercises[0].id)


class NotebookError(ValueError):
    """A student's notebook that cannot be turned into modules, with why (for the student)."""


def notebook_name(assignment: Assignment) -> str:
    """The notebook's file name, from the assignment's title: "LLM basics" -> llm_basics.ipynb."""
    return re.sub(r"\W+", "_", assignment.title.lower()).strip("_") + ".ipynb"


def module_header(module: str) -> str:
    return f"# module: {module}.py"


def build(assignment: Assignment, published: Path) -> str:
    """The notebook (nbformat 4.5 JSON, written as Jupyter writes it) for ``assignment``, from the
    handout in ``published`` and the stubs :func:`grader.generate.published_files` writes."""
    sections = split_sections(notebook_words((published / HANDOUT).read_text()))
    stubs = published_files(assignment)
    after = _placement(assignment, sections)
    cells = []
    for index, section in enumerate(sections):
        grade_id = f"handout-{index + 1:02d}"
        cells.append(_cell("markdown", grade_id, section, {
            "deletable": False, "editable": False,
            "nbgrader": _nbgrader(grade_id, solution=False, locked=True)}))
        for module in (m for m in assignment.student_modules if after[m] == index):
            cells.append(_cell("code", module, _solution_cell(module, stubs[f"{module}.py"]), {
                "nbgrader": _nbgrader(module, solution=True, locked=False)}))
    cells.append(_cell("code", "check", check_cell(assignment), {
        "deletable": False, "editable": False, "nbgrader": _nbgrader("check", solution=False, locked=True)}))
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}}
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _cell(kind: str, cell_id: str, source: str, metadata: dict) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": metadata,
            "source": source.splitlines(keepends=True)}
    return cell if kind == "markdown" else {**cell, "execution_count": None, "outputs": []}


def _solution_cell(module: str, stub: str) -> str:
    """The module's header line, then its stub with every stub ``raise`` line marked as a solution."""
    lines = [module_header(module)]
    for line in stub.splitlines():
        match = _STUB_RAISE.fullmatch(line)
        lines += [f"{match.group(1)}{BEGIN}", line, f"{match.group(1)}{END}"] if match else [line]
    return "\n".join(lines)


def notebook_words(markdown: str) -> str:
    """The handout as the notebook says it: the files-only passages dropped, the notebook-only
    ones shown (see the module's docstring); raises AssignmentError on a marker left open."""
    out, inside = [], None
    for number, line in enumerate(markdown.splitlines(), 1):
        marker = line.strip()
        if inside is None and marker in (FILES_ONLY, NOTEBOOK_ONLY):
            inside = (marker, number)
        elif inside is not None and marker == _CLOSING[inside[0]]:
            inside = None
        elif inside is None or inside[0] == NOTEBOOK_ONLY:
            out.append(line)
    if inside is not None:
        raise AssignmentError(f"{HANDOUT}:{inside[1]}: {inside[0]} is never closed")
    return "\n".join(out)


def split_sections(markdown: str) -> list[str]:
    """``markdown`` cut before every ``#`` or ``##`` heading outside fenced code blocks."""
    sections, current, fenced = [], [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(_FENCE):
            fenced = not fenced
        if not fenced and _HEADING.match(line) and any(x.strip() for x in current):
            sections.append(current)
            current = []
        current.append(line)
    sections.append(current)
    return ["\n".join(lines).strip("\n") for lines in sections if any(x.strip() for x in lines)]


def _placement(assignment: Assignment, sections: list[str]) -> dict[str, int]:
    """For each student module, the index of the section its cell follows."""
    def section_of(exercise_id: str) -> int:
        for index, section in enumerate(sections):
            if f"`{exercise_id}`" in section.splitlines()[0]:
                return index
        return len(sections) - 1

    return {module: max((section_of(e.id) for e in assignment.exercises
                         if any(n.startswith(f"{module}.") for n in e.names)),
                        default=len(sections) - 1)
            for module in assignment.student_modules}


def _nbgrader(grade_id: str, *, solution: bool, locked: bool) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}


def drift(assignment: Assignment, published: Path) -> list[str]:
    """``[the notebook's name]`` if the committed copy in ``published`` differs from
    :func:`build` or is missing, else ``[]``."""
    path = published / notebook_name(assignment)
    return [] if path.is_file() and path.read_text() == build(assignment, published) else [path.name]


def write(assignment: Assignment, published: Path) -> list[str]:
    """Write the notebook into ``published``; returns ``[its name]``."""
    path = published / notebook_name(assignment)
    path.write_text(build(assignment, published))
    return [path.name]


def read_modules(path: Path) -> dict[str, str]:
    """Module name -> source of every ``# module: NAME.py`` cell of the notebook at ``path``."""
    label = f"your notebook {path.name}"
    if path.is_symlink() or not path.is_file():
        raise NotebookError(f"{label} is not a regular file")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{label} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB "
                            "(clear its outputs and submit it again)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotebookError(f"{label} could not be read: it is not a notebook's JSON ({exc})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{label} could not be read: it holds no list of cells "
                            "(not a Jupyter notebook in format 4)")
    modules = modules_of_cells(_source_text(cell.get("source", "")) for cell in cells
                               if isinstance(cell, dict) and cell.get("cell_type") == "code")
    if not modules:
        raise NotebookError(f"{label} has no code cell whose first line is `# module: NAME.py` "
                            "(keep the first line of each module's cell as it was handed out)")
    return modules


def modules_of_cells(sources) -> dict[str, str]:
    """Module name -> source of each code cell (its source text, in order) whose first non-blank
    line is ``# module: NAME.py``; the last cell for a module wins."""
    modules = {}
    for source in sources:
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")
        match = _MODULE_LINE.match(first)
        if match:
            modules[match.group(1)] = source if source.endswith("\n") else source + "\n"
    return modules


def _source_text(source) -> str:
    """A cell's source, which nbformat stores as a string or a list of lines."""
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else ""
