"""Stubs come from the reference by rule, stay in sync, and leak nothing of a solution."""

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader import assignment
from grader.authoring import generate
from grader.frontends.cli import app
from tests.assignments import assignment_ids

ROOT = Path(__file__).resolve().parent.parent
REFERENCE, PUBLISHED = ROOT / "reference" / "01", ROOT / "assignments" / "01"  # the examples below


@pytest.fixture(scope="module")
def assignment01():
    return assignment.load(REFERENCE)


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_committed_stubs_are_exactly_what_generate_writes(assignment_id):
    definition = assignment.load(ROOT / "reference" / assignment_id)
    assert generate.drift(definition, ROOT / "assignments" / assignment_id) == [], \
        f"run `grader generate {assignment_id}` and commit"


def test_check_command_reports_sync_and_drift(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["generate", "01", "--root", str(ROOT), "--check"]).exit_code == 0
    (tmp_path / "reference").symlink_to(ROOT / "reference")
    (tmp_path / "assignments" / "01").mkdir(parents=True)
    result = runner.invoke(app, ["generate", "01", "--root", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "out of date" in result.output


def _split_lines(source: str) -> tuple[set[str], set[str]]:
    """(significant lines inside solution regions, lines outside them)."""
    lines = source.splitlines()
    inside = set()
    regions = generate.find_regions(lines, "x.py")
    for region in regions:
        inside |= {line.strip() for line in lines[region.start + 1: region.end]
                   if len(line.strip()) >= 28 and not line.strip().startswith("#")}
    covered = {i for r in regions for i in range(r.start, r.end + 1)}
    outside = {line.strip() for i, line in enumerate(lines) if i not in covered}
    return inside, outside


def solution_lines(definition: assignment.Assignment) -> set[str]:
    """Significant lines of the reference's solution regions that its other code does not also hold."""
    secret, public = set(), set()
    for name in (*(f"{m}.py" for m in definition.student_modules), *definition.given_files):
        inside, outside = _split_lines((definition.folder / name).read_text())
        secret, public = secret | inside, public | outside
    return secret - public


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_no_solution_line_reaches_the_published_folder(assignment_id):
    """Lines of solution regions that given code does not also hold never appear in assignments/."""
    secret = solution_lines(assignment.load(ROOT / "reference" / assignment_id))
    assert len(secret) > 10
    for path in (ROOT / "assignments" / assignment_id).rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".ipynb"):
            leaked = secret & {line.strip() for line in path.read_text().splitlines()}
            assert not leaked, f"{path.relative_to(ROOT)} holds solution lines: {sorted(leaked)[:3]}"


def test_every_stub_keeps_signatures_and_raises_its_exercise(assignment01):
    for module in assignment01.student_modules:
        reference = ast.parse((REFERENCE / f"{module}.py").read_text())
        stub = ast.parse((PUBLISHED / f"{module}.py").read_text())
        assert _signatures(stub) == _signatures(reference), module
        assert ast.get_docstring(stub) == ast.get_docstring(reference)
    stub_text = (PUBLISHED / "attention.py").read_text()
    assert 'raise NotImplementedError("sdpa: not implemented yet")' in stub_text
    assert 'raise NotImplementedError("mha: not implemented yet")' in stub_text


def _signatures(tree):
    """Public top-level functions and classes with their public methods' argument lists."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            found[node.name] = ast.dump(node.args)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and (not item.name.startswith("_")
                                                          or item.name == "__init__"):
                    found[f"{node.name}.{item.name}"] = ast.dump(item.args)
    return found


SAMPLE = '''"""Module."""
import math

### BEGIN SOLUTION
def _helper(x):
    return x + 1
### END SOLUTION


def causal_mask(n):
    """Doc."""
    ### BEGIN SOLUTION
    return _helper(n)
    ### END SOLUTION


class MultiHeadAttention:
    ### BEGIN SOLUTION
    table = {1: 2}
    ### END SOLUTION

    def forward(self, x):
        """Doc."""
        if x:
            ### BEGIN SOLUTION
            return x
            ### END SOLUTION
        return None
'''


def test_regions_become_raises_in_functions_and_vanish_elsewhere(assignment01):
    stub = generate.stub_source(SAMPLE, "attention", assignment01)
    assert "_helper" not in stub and "table" not in stub
    assert '    raise NotImplementedError("masks: not implemented yet")\n' in stub
    assert '            raise NotImplementedError("mha: not implemented yet")\n' in stub
    compile(stub, "stub.py", "exec")


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("### END SOLUTION\n", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
])
def test_malformed_regions_are_reported_with_their_line(assignment01, source, message):
    with pytest.raises(generate.RegionError, match=message):
        generate.stub_source(source, "attention", assignment01)


def test_a_function_outside_every_exercise_is_named(assignment01):
    source = "def mystery():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    with pytest.raises(assignment.AssignmentError, match="attention.mystery"):
        generate.stub_source(source, "attention", assignment01)
