"""`grader mutants`: mutants of the reference's solution regions, graded by the assignment's tests.

A small assignment made by `grader new` is given a function with a loop bound, a comparison and a
scale, and tests that check only some of it, so that the run shows every verdict: killed,
survived (a hole, printed as a diff) and equivalent (no test input tells it apart).
"""

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.assignment import load
from grader.authoring import mutants
from grader.frontends.cli import app

SOLUTION = '''
def clip_scale(x: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    """``x`` scaled by ``factor``, then negative values set to 0."""
    ### BEGIN SOLUTION
    y = x * factor
    return torch.where(y < 0, 0.0, y)
    ### END SOLUTION
'''

# Weak on purpose: positive inputs only, so a mutant that handles negatives wrongly gives the same
# answers (equivalent on the tests' inputs); and a tolerance of 10, so `x / factor` ([0.33, 0.67]
# for [3, 6]) answers differently and still passes (it survives: a hole).
TESTS = '''
import pytest
import torch

from grader.testing import Close


@pytest.mark.exercise("clip")
def test_clip_scales_positive_values(student):
    """clip_scale([1, 2], 3) is [3, 6]"""
    Close(atol=10)(student.example.clip_scale(torch.tensor([1.0, 2.0]), 3.0), torch.tensor([3.0, 6.0]))
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    assert CliRunner().invoke(app, ["new", "98", "--title", "Clip", "--root", str(root)]).exit_code == 0
    reference, published = root / "reference" / "98", root / "assignments" / "98"
    (reference / "example.py").write_text("import torch\n" + SOLUTION)
    toml = (reference / "assignment.toml").read_text()
    toml = toml.replace('id = "scale"', 'id = "clip"').replace('names = ["example.scale"]',
                                                                'names = ["example.clip_scale"]')
    (reference / "assignment.toml").write_text(toml)
    for stale in (*reference.glob("test_hidden_*.py"), *published.glob("test_*.py"), *reference.glob("variants/*")):
        stale.unlink()
    (published / "test_clip.py").write_text(textwrap.dedent(TESTS))
    (reference / "test_hidden_clip.py").write_text(textwrap.dedent(TESTS).replace(
        "test_clip_scales", "test_hidden_clip_scales"))
    assert CliRunner().invoke(app, ["generate", "98", "--root", str(root)]).exit_code == 0
    return root


def test_mutants_change_one_place_inside_the_solution_regions_only(project):
    assignment = load(project / "reference" / "98")
    found = mutants.generate(assignment)
    source = (assignment.folder / "example.py").read_text()
    operators = {m.operator for m in found}
    assert {"arithmetic: * -> /", "comparison: < -> <=", "operand: a * b -> a", "statement: -> pass",
            "arguments: where(.., a, b, ..) swapped"} <= operators
    assert len({m.source for m in found}) == len(found)  # no mutant twice
    for mutant in found:
        changed = [line for line in mutant.diff(source).splitlines() if line.startswith(("-", "+"))][2:]
        assert len(changed) == 2, mutant.diff(source)  # one line out, one line in
        assert mutant.exercise == "clip" and mutant.id.startswith("example.clip_scale#")
        assert source.index("### BEGIN") < source.index(changed[0][1:]) < source.index("### END")


def test_a_run_reports_killed_surviving_and_equivalent_mutants(project, tmp_path):
    out = tmp_path / "kills.json"
    run = CliRunner().invoke(app, ["mutants", "98", "--root", str(project), "--jobs", "2", "--out", str(out)])
    assert run.exit_code == 0, run.output
    data = json.loads(out.read_text())
    verdicts = {m["operator"]: m for m in data["mutants"]}
    assert verdicts["operand: a * b -> b"]["status"] == "killed"  # a float, not a tensor
    assert verdicts["operand: a * b -> b"]["killed_by"] == [
        "test_clip.py::test_clip_scales_positive_values",
        "test_hidden_clip.py::test_hidden_clip_scales_positive_values"]
    assert verdicts["comparison: < -> <="]["status"] == "equivalent"
    assert verdicts["constant: 0 -> 1"]["status"] == "equivalent"  # no test input is in [0, 1)
    survivor = verdicts["arithmetic: * -> /"]
    assert survivor["status"] == "survived" and survivor["killed_by"] == []
    assert f"survived: {survivor['id']}" in run.output and survivor["diff"].rstrip() in run.output
    killed, survived, equivalent = (sum(m["status"] == s for m in data["mutants"])
                                    for s in ("killed", "survived", "equivalent"))
    assert data["scores"]["clip"] == {"killed": killed, "survived": survived, "equivalent": equivalent}
    assert f"{killed / (killed + survived):.1%}" in run.output.splitlines()[-2]


def test_an_unknown_exercise_is_one_line(project):
    run = CliRunner().invoke(app, ["mutants", "98", "--root", str(project), "--exercise", "nope"])
    assert run.exit_code == 2 and "no exercise 'nope'" in run.output
