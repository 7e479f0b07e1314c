"""Student stubs from the reference: every solution region out, everything else kept.

A solution region is the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``. Inside a
function it becomes ``raise NotImplementedError("<exercise>: not implemented yet")`` at the
region's indentation; at module or class level (private helpers) it is dropped. The exercise is
the one the assignment lists for the enclosing top-level function or class.

Example::

    def scale(x, factor=2.0):                        def scale(x, factor=2.0):
        \"\"\"...\"\"\"                          ->          \"\"\"...\"\"\"
        ### BEGIN SOLUTION                               raise NotImplementedError(
        ...                                                  "scale: not implemented yet")
        ### END SOLUTION
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import CONFIG_NAME, Assignment

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


class RegionError(ValueError):
    """Unbalanced, nested or misplaced solution markers, with the file and line."""


@dataclass(frozen=True)
class Region:
    start: int  # 0-based index of the BEGIN line
    end: int  # 0-based index of the END line
    indent: str


def find_regions(lines: list[str], filename: str) -> list[Region]:
    """The solution regions of a file's lines, validated."""
    regions, start = [], None
    for index, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise RegionError(f"{filename}:{index + 1}: {BEGIN} inside another region")
            start = index
        elif marker == END:
            if start is None:
                raise RegionError(f"{filename}:{index + 1}: {END} without {BEGIN}")
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            regions.append(Region(start, index, indent))
            start = None
    if start is not None:
        raise RegionError(f"{filename}:{start + 1}: {BEGIN} never closed")
    return regions


def stub_source(source: str, module: str, assignment: Assignment) -> str:
    """The stub of one reference module's source."""
    lines = source.splitlines(keepends=True)
    regions = find_regions(lines, f"{module}.py")
    tree = ast.parse(source)
    owners = _top_level_owners(tree, len(lines))
    out, cursor = [], 0
    for region in regions:
        out.extend(lines[cursor:region.start])
        function = _enclosing_function(tree, region.start + 1)
        if function is not None:
            exercise = assignment.exercise_of(module, owners[region.start])
            out.append(f'{region.indent}raise NotImplementedError("{exercise.id}: not implemented yet")\n')
        cursor = region.end + 1
    out.extend(lines[cursor:])
    stub = "".join(out)
    try:
        ast.parse(stub)
    except SyntaxError as exc:
        raise RegionError(f"{module}.py: the stub does not parse ({exc}); check the regions' "
                          "placement") from None
    return stub


def _top_level_owners(tree: ast.Module, n_lines: int) -> list[str | None]:
    """For each 0-based line, the name of the top-level def / class it lies in (or None)."""
    owners: list[str | None] = [None] * n_lines
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for line in range(node.lineno - 1, node.end_lineno):
                owners[line] = node.name
    return owners


def _enclosing_function(tree: ast.Module, lineno: int) -> ast.AST | None:
    """The innermost function whose body holds line ``lineno`` (1-based), or None."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.lineno < lineno <= node.end_lineno:
                if found is None or node.lineno > found.lineno:
                    found = node
    return found


def published_files(assignment: Assignment) -> dict[str, str]:
    """Every generated file of the published folder: file name -> content (the stubs, the given
    files, the public catalogue of misconceptions and ``assignment.toml``)."""
    files = {}
    for module in assignment.student_modules:
        source = (assignment.folder / f"{module}.py").read_text()
        files[f"{module}.py"] = stub_source(source, module, assignment)
    public = (assignment.public_misconceptions,) if assignment.public_misconceptions else ()
    for name in (*assignment.given_files, *public, CONFIG_NAME):
        text = (assignment.folder / name).read_text()
        if find_regions(text.splitlines(), name):
            raise RegionError(f"{name} is a given file but holds solution regions")
        files[name] = text
    return files


def write(assignment: Assignment, target: Path) -> list[str]:
    """Write the generated files into ``target``; returns the names written."""
    target.mkdir(parents=True, exist_ok=True)
    files = published_files(assignment)
    for name, text in files.items():
        (target / name).write_text(text)
    return sorted(files)


def drift(assignment: Assignment, target: Path) -> list[str]:
    """Generated files whose committed copy in ``target`` differs or is missing."""
    return sorted(name for name, text in published_files(assignment).items()
                  if not (target / name).is_file() or (target / name).read_text() != text)

